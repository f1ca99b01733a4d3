import { DIGESTS, fileDigestFact, type DigestAlgorithm } from '../facts/checksum.js';
import { fileFact, type FileState } from '../facts/file.js';
import { absolutePathParam } from './params.js';
import type { Module } from './types.js';

export type StatParams = { path: string; get_checksum?: boolean; checksum_algorithm?: DigestAlgorithm };

/** Ansible's `stat` result keys for what the file fact knows (links are not followed, as follow: false); `checksum` of a regular file when given. */
export function statResult(path: string, f: FileState, checksum: string | undefined): Record<string, unknown> {
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
    ...(f.type === 'file' && checksum ? { checksum } : {}),
  };
}

const algorithmOf = (p: StatParams): DigestAlgorithm => p.checksum_algorithm ?? 'sha1';
/** sha256 comes with the file fact; another algorithm is one more fact, read only when a checksum is asked for. */
const digestFact = (p: StatParams) => (p.get_checksum !== false && algorithmOf(p) !== 'sha256' ? fileDigestFact(p.path, algorithmOf(p)) : undefined);

/** As Ansible's stat: reads a path's state for `register` (`out.stat.exists`, `.isdir`, `.mode`, `.checksum`...); changes nothing. */
export const statModule: Module<StatParams> = {
  name: 'stat',
  params: {
    path: { ...absolutePathParam('the path to look at'), aliases: ['dest', 'name'] },
    get_checksum: { type: 'boolean', default: true, description: 'a regular file\'s checksum in `checksum`' },
    checksum_algorithm: { type: 'string', enum: Object.keys(DIGESTS), default: 'sha1', description: 'the checksum\'s algorithm (Ansible\'s default, sha1)' },
  },
  facts: (p) => [fileFact(p.path), ...(digestFact(p) ? [digestFact(p)!] : [])],
  plan(p, read) {
    const state = read(fileFact(p.path));
    const other = digestFact(p);
    const checksum = p.get_checksum === false ? undefined : other ? (read(other) ?? undefined) : state.sha256;
    return { changes: [], reason: `${p.path} ${state.type === 'absent' ? 'absent' : `is a ${state.type}`}`, result: { stat: statResult(p.path, state, checksum) } };
  },
};
