import { linesOf, placementProblems, planEdit, textEditFacts, textEditParams } from './text-edit.js';
import type { Module } from './types.js';

export type BlockinfileParams = {
  path: string;
  block?: string;
  marker?: string;
  marker_begin?: string;
  marker_end?: string;
  state?: 'present' | 'absent';
  insertafter?: string;
  insertbefore?: string;
  create?: boolean;
  append_newline?: boolean;
  prepend_newline?: boolean;
  mode?: string;
  owner?: string;
  group?: string;
  validate?: string;
};

const DEFAULT_MARKER = '# {mark} ANSIBLE MANAGED BLOCK';

/**
 * The file's lines with the block between its marker lines, as Ansible's blockinfile does: an
 * existing marked block is replaced where it is; a new one goes after the last line matching
 * `insertafter` (EOF by default) or before the last matching `insertbefore` (or BOF). An empty
 * block, or state absent, removes the marked block.
 */
export function blockinfileLines(lines: string[], p: BlockinfileParams): { lines: string[]; msg: string } {
  const marker = p.marker ?? DEFAULT_MARKER;
  const begin = `${marker.replace('{mark}', p.marker_begin ?? 'BEGIN')}\n`;
  const end = `${marker.replace('{mark}', p.marker_end ?? 'END')}\n`;
  const present = (p.state ?? 'present') === 'present';
  const block = p.block ?? '';
  const blockLines = present && block ? [begin, ...linesOf(block.endsWith('\n') ? block : `${block}\n`), end] : [];
  const out = [...lines];
  let n0 = -1;
  let n1 = -1;
  out.forEach((line, i) => {
    if (line === begin) n0 = i;
    if (line === end) n1 = i;
  });
  let at: number;
  if (n0 === -1 || n1 === -1) {
    const insertafter = p.insertafter ?? (p.insertbefore === undefined ? 'EOF' : undefined);
    const pattern = insertafter !== undefined && insertafter !== 'EOF' ? insertafter : p.insertbefore !== undefined && p.insertbefore !== 'BOF' ? p.insertbefore : undefined;
    if (pattern !== undefined) {
      const re = new RegExp(pattern);
      let last = -1;
      out.forEach((line, i) => {
        if (re.test(line.replace(/\n$/, ''))) last = i;
      });
      at = last === -1 ? out.length : insertafter !== undefined ? last + 1 : last;
    } else at = p.insertbefore !== undefined ? 0 : out.length;
  } else if (n0 < n1) {
    out.splice(n0, n1 - n0 + 1);
    at = n0;
  } else {
    out.splice(n1, n0 - n1 + 1);
    at = n1;
  }
  if (at > 0 && !out[at - 1]!.endsWith('\n')) out[at - 1] += '\n';
  if (p.prepend_newline && present && at !== 0 && out[at - 1] !== '\n') out.splice(at++, 0, '\n');
  out.splice(at, 0, ...blockLines);
  const after = at + blockLines.length;
  if (p.append_newline && present && after < out.length && out[after] !== '\n') out.splice(after, 0, '\n');
  return { lines: out, msg: blockLines.length ? 'Block inserted' : 'Block removed' };
}

export const blockinfileModule: Module<BlockinfileParams> = {
  name: 'blockinfile',
  params: {
    ...textEditParams,
    block: { type: 'string', aliases: ['content'], description: 'the text between the markers (empty: the block is removed)' },
    marker: { type: 'string', description: 'the marker line, {mark} standing for marker_begin/marker_end (default "# {mark} ANSIBLE MANAGED BLOCK")' },
    marker_begin: { type: 'string', default: 'BEGIN' },
    marker_end: { type: 'string', default: 'END' },
    append_newline: { type: 'boolean', default: false, description: 'a blank line after the block' },
    prepend_newline: { type: 'boolean', default: false, description: 'a blank line before the block' },
  },
  validate: (p) => placementProblems(p, ['insertafter', 'insertbefore']),
  facts: (p, ctx) => textEditFacts(p.path, ctx),
  plan: (p, read, ctx) => planEdit(p, read, ctx, (lines) => blockinfileLines(lines, p).lines, `block ${p.state === 'absent' ? 'absent' : 'up to date'}`),
};
