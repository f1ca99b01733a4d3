import { DIGESTS, fileDigestFact, type DigestAlgorithm } from '../facts/checksum.js';
import { fileFact, type FileState } from '../facts/file.js';
import { fileFlagsFact, type FileFlags } from '../facts/file-flags.js';
import { fileMimeFact, type FileMime } from '../facts/file-mime.js';
import { absolutePathParam } from './params.js';
import type { Module } from './types.js';

export type StatParams = { path: string; follow?: boolean; get_checksum?: boolean; checksum_algorithm?: DigestAlgorithm; get_mime?: boolean; get_attributes?: boolean };

/** What stat reports besides the file fact: each only when asked for. */
export interface StatExtras {
  checksum?: string;
  mime?: FileMime;
  flags?: FileFlags;
}

/** The permission booleans Ansible names after the mode bits (its rusr...xoth, and isuid/isgid for the setuid/setgid bits). */
const MODE_BITS: ReadonlyArray<[string, number]> = [
  ['wusr', 0o200], ['rusr', 0o400], ['xusr', 0o100], ['wgrp', 0o020], ['rgrp', 0o040], ['xgrp', 0o010],
  ['woth', 0o002], ['roth', 0o004], ['xoth', 0o001], ['isuid', 0o4000], ['isgid', 0o2000],
];

/** What Ansible's stat reports of every existing path, in its order; mode, uid, gid and size from the facts. */
function statCore(f: FileState): Record<string, unknown> {
  const d = f.details;
  if (!d) throw new Error(`stat: no stat(2) details gathered for ${f.path}`);
  const bits = parseInt(f.mode ?? '0', 8);
  return {
    isdir: f.type === 'directory',
    ischr: d.special === 'char',
    isblk: d.special === 'block',
    isreg: f.type === 'file',
    isfifo: d.special === 'fifo',
    islnk: f.type === 'link',
    issock: d.special === 'socket',
    uid: f.uid,
    gid: f.gid,
    size: f.size,
    inode: d.inode,
    dev: d.dev,
    nlink: d.nlink,
    atime: d.atime,
    mtime: d.mtime,
    ctime: d.ctime,
    ...Object.fromEntries(MODE_BITS.map(([key, bit]) => [key, (bits & bit) !== 0])),
    blocks: d.blocks,
    block_size: d.blockSize,
    device_type: d.rdev,
    readable: d.readable,
    writeable: d.writeable,
    executable: d.executable,
  };
}

/**
 * Ansible's `stat` result keys for what the facts know: the path itself (`follow: false`: a link's
 * `lnk_source` and `lnk_target`) or what a link points to (`follow: true`); `checksum` of a
 * regular file, `mimetype`/`charset` and `version`/`attributes`/`attr_flags` when given.
 */
export function statResult(path: string, f: FileState, extras: StatExtras = {}): Record<string, unknown> {
  if (f.type === 'absent') return { exists: false };
  return {
    exists: true,
    path,
    mode: f.mode,
    ...statCore(f),
    ...(f.type === 'link' ? { ...(f.linkSource !== undefined ? { lnk_source: f.linkSource } : {}), lnk_target: f.linkTarget } : {}),
    pw_name: f.owner,
    gr_name: f.group,
    ...(f.type === 'file' && extras.checksum ? { checksum: extras.checksum } : {}),
    ...(extras.mime ? { mimetype: extras.mime.mimetype, charset: extras.mime.charset } : {}),
    ...(extras.flags ? { version: extras.flags.version, attributes: extras.flags.attributes, attr_flags: extras.flags.attr_flags } : {}),
  };
}

const algorithmOf = (p: StatParams): DigestAlgorithm => p.checksum_algorithm ?? 'sha1';
const stateFact = (p: StatParams) => fileFact(p.path, { follow: p.follow === true, linkSource: true });
/**
 * sha256 of the path itself comes with the file fact; another algorithm, or a followed link's
 * target, is one more fact, read only when a checksum is asked for.
 */
const digestFact = (p: StatParams) => (p.get_checksum !== false && (algorithmOf(p) !== 'sha256' || p.follow) ? fileDigestFact(p.path, algorithmOf(p)) : undefined);
const mimeFact = (p: StatParams) => (p.get_mime !== false ? fileMimeFact(p.path) : undefined);
const flagsFact = (p: StatParams) => (p.get_attributes !== false ? fileFlagsFact(p.path) : undefined);

/** As Ansible's stat: reads a path's state for `register` (`out.stat.exists`, `.isdir`, `.mode`, `.checksum`, `.mimetype`...); changes nothing. */
export const statModule: Module<StatParams> = {
  name: 'stat',
  params: {
    path: { ...absolutePathParam('the path to look at'), aliases: ['dest', 'name'] },
    follow: { type: 'boolean', default: false, description: 'report what a symlink points to instead of the link itself' },
    get_checksum: { type: 'boolean', default: true, description: 'a regular file\'s checksum in `checksum`' },
    checksum_algorithm: { type: 'string', enum: Object.keys(DIGESTS), default: 'sha1', aliases: ['checksum', 'checksum_algo'], description: 'the checksum\'s algorithm (Ansible\'s default, sha1)' },
    get_mime: { type: 'boolean', default: true, aliases: ['mime', 'mime_type', 'mime-type'], description: '`mimetype` and `charset` as `file --mime-type --mime-encoding` reads them (`unknown` without `file`)' },
    get_attributes: { type: 'boolean', default: true, aliases: ['attr', 'attributes'], description: '`attributes` (names), `attr_flags` and `version` as `lsattr -vd` reads them' },
  },
  facts: (p) => [stateFact(p), digestFact(p), mimeFact(p), flagsFact(p)].filter((f) => f !== undefined),
  plan(p, read) {
    const state = read(stateFact(p));
    const digest = digestFact(p);
    const mime = mimeFact(p);
    const flags = flagsFact(p);
    const extras: StatExtras = {
      checksum: p.get_checksum === false ? undefined : digest ? (read(digest) ?? undefined) : state.sha256,
      mime: mime && read(mime),
      flags: flags && read(flags),
    };
    return { changes: [], reason: `${p.path} ${state.type === 'absent' ? 'absent' : `is a ${state.type}`}`, result: { stat: statResult(p.path, state, extras) } };
  },
};
