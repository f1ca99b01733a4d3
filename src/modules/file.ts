import type { FileState } from '../facts/file.js';
import { fileFact } from '../facts/file.js';
import { attributeChanges } from './file-attributes.js';
import { absolutePathParam, groupParam, modeParam, ownerParam } from './params.js';
import type { Change, Module, Plan } from './types.js';
import { fileDiff } from './write-file.js';

export type FileParams = {
  path: string;
  state?: 'directory' | 'absent' | 'link' | 'file' | 'touch';
  mode?: string;
  owner?: string;
  group?: string;
  src?: string;
};

function describe(state: FileState): string {
  return state.type === 'link' ? `symlink to ${state.linkTarget}` : state.type;
}

function planDirectory(p: FileParams, current: FileState): Plan {
  const attrs = { mode: p.mode, owner: p.owner, group: p.group };
  if (current.type === 'directory') {
    const changes = attributeChanges(current, attrs);
    return changes.length ? { changes } : { changes, reason: `directory ${p.path} exists` };
  }
  if (current.type !== 'absent') throw new Error(`${p.path} exists and is a ${describe(current)}, not a directory`);
  const created: FileState = { path: p.path, type: 'directory' };
  const fixups = attributeChanges(created, attrs).flatMap((c) => c.commands);
  return { changes: [{ title: `create directory ${p.path} (absent)`, commands: [{ argv: ['mkdir', '-p', p.path] }, ...fixups] }] };
}

function planAbsent(p: FileParams, current: FileState): Plan {
  if (current.type === 'absent') return { changes: [], reason: `${p.path} absent` };
  const change: Change = { title: `remove ${p.path} (${describe(current)} exists)`, commands: [{ argv: ['rm', '-rf', '--', p.path] }] };
  if (current.type === 'file') change.diff = fileDiff(current, null);
  return { changes: [change] };
}

function planLink(p: FileParams, current: FileState): Plan {
  const target = p.src!;
  const attrs = { owner: p.owner, group: p.group };
  if (current.type === 'link' && current.linkTarget === target) {
    const changes = attributeChanges(current, attrs);
    return changes.length ? { changes } : { changes, reason: `${p.path} -> ${target}` };
  }
  if (current.type === 'directory') throw new Error(`${p.path} is a directory; refusing to replace it with a symlink`);
  const why = current.type === 'absent' ? 'absent' : current.type === 'link' ? `points to ${current.linkTarget}` : `is a ${current.type}`;
  const fixups = attributeChanges({ path: p.path, type: 'link' }, attrs).flatMap((c) => c.commands);
  return { changes: [{ title: `link ${p.path} -> ${target} (${why})`, commands: [{ argv: ['ln', '-sfn', target, p.path] }, ...fixups] }] };
}

function planTouchOrFile(p: FileParams, current: FileState, state: 'touch' | 'file'): Plan {
  const attrs = { mode: p.mode, owner: p.owner, group: p.group };
  if (current.type === 'absent') {
    if (state === 'file') throw new Error(`${p.path} does not exist (state=file only sets attributes; use copy or state=touch)`);
    const fixups = attributeChanges({ path: p.path, type: 'file' }, attrs).flatMap((c) => c.commands);
    return { changes: [{ title: `create empty ${p.path} (absent)`, commands: [{ argv: ['touch', p.path] }, ...fixups] }] };
  }
  const changes = attributeChanges(current, attrs);
  return changes.length ? { changes } : { changes, reason: `${p.path} exists with the wanted attributes` };
}

export const fileModule: Module<FileParams> = {
  name: 'file',
  params: {
    path: { ...absolutePathParam('the path to manage'), aliases: ['dest', 'name'] },
    state: { type: 'string', enum: ['directory', 'absent', 'link', 'file', 'touch'], default: 'file' },
    mode: modeParam,
    owner: ownerParam,
    group: groupParam,
    src: { type: 'string', description: 'link target (state=link)' },
  },
  validate(p) {
    const problems: Array<[string, string]> = [];
    if ((p.state ?? 'file') === 'link' && !p.src) problems.push(['src', 'state=link needs src (the link target)']);
    if (p.src !== undefined && p.state !== 'link') problems.push(['src', 'src is only used with state=link']);
    return problems;
  },
  facts: (p) => [fileFact(p.path)],
  plan(p, read) {
    const current = read(fileFact(p.path));
    switch (p.state ?? 'file') {
      case 'directory': return planDirectory(p, current);
      case 'absent': return planAbsent(p, current);
      case 'link':
        if (!p.src) throw new Error('state=link needs src');
        return planLink(p, current);
      case 'touch': return planTouchOrFile(p, current, 'touch');
      case 'file': return planTouchOrFile(p, current, 'file');
    }
  },
};
