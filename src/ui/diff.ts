import { createRequire } from 'node:module';
import type { FileDiff } from '../modules/types.js';

/** A unified diff of one file change, or a one-line note when its content must not be shown. */
export function renderDiff(diff: FileDiff): string {
  if (diff.hidden === 'secret') return `--- ${diff.path}\n(sensitive content changed)\n`;
  if (diff.hidden) return `--- ${diff.path}\n(content not shown: ${diff.hidden})\n`;
  const before = diff.before === null ? '/dev/null' : diff.path;
  const after = diff.after === null ? '/dev/null' : diff.path;
  const { createTwoFilesPatch } = createRequire(import.meta.url)('diff') as typeof import('diff'); // loaded on the first diff shown
  return createTwoFilesPatch(before, after, diff.before ?? '', diff.after ?? '', 'before', 'after').replace(/^=+\n/m, '');
}
