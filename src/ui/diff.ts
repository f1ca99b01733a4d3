import { createTwoFilesPatch } from 'diff';
import type { FileDiff } from '../modules/types.js';

/** A unified diff of one file change, or a one-line note when its content must not be shown. */
export function renderDiff(diff: FileDiff): string {
  if (diff.hidden) return `--- ${diff.path}\n(content not shown: ${diff.hidden})\n`;
  const before = diff.before === null ? '/dev/null' : diff.path;
  const after = diff.after === null ? '/dev/null' : diff.path;
  return createTwoFilesPatch(before, after, diff.before ?? '', diff.after ?? '', 'before', 'after').replace(/^=+\n/m, '');
}
