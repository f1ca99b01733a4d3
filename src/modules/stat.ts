import { fileFact, type FileState } from '../facts/file.js';
import { absolutePathParam } from './params.js';
import type { Module } from './types.js';

export type StatParams = { path: string; get_checksum?: boolean; checksum_algorithm?: 'sha256' };

/** Ansible's `stat` result keys for what the file fact knows (links are not followed, as follow: false). */
export function statResult(path: string, f: FileState, checksum: boolean): Record<string, unknown> {
  if (f.type === 'absent') return { exists: false };
  return {
    exists: true,
    path,
    isdir: f.type === 'directory',
    isreg: f.type === 'file',
    islnk: f.type === 'link',
    mode: f.mode,
    uid: f.uid,
    gid: f.gid,
    pw_name: f.owner,
    gr_name: f.group,
    size: f.size,
    ...(f.type === 'link' ? { lnk_target: f.linkTarget } : {}),
    ...(checksum && f.type === 'file' && f.sha256 ? { checksum: f.sha256 } : {}),
  };
}

/** As Ansible's stat: reads a path's state for `register` (`out.stat.exists`, `.isdir`, `.mode`, `.checksum`...); changes nothing. */
export const statModule: Module<StatParams> = {
  name: 'stat',
  params: {
    path: absolutePathParam('the path to look at'),
    get_checksum: { type: 'boolean', default: true, description: 'a regular file\'s checksum in `checksum`' },
    checksum_algorithm: { type: 'string', enum: ['sha256'], default: 'sha256', description: 'sha256 only (Ansible\'s default is sha1)' },
  },
  facts: (p) => [fileFact(p.path)],
  plan(p, read) {
    const state = read(fileFact(p.path));
    return { changes: [], reason: `${p.path} ${state.type === 'absent' ? 'absent' : `is a ${state.type}`}`, result: { stat: statResult(p.path, state, p.get_checksum ?? true) } };
  },
};
