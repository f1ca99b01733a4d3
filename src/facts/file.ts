import { quote } from '../argv.js';
import type { FactFamily, FamilyFact, ScriptFact } from './types.js';

/** Content is fetched (base64) only up to this size, so diffs can show the before text. */
export const MAX_CONTENT_BYTES = 256 * 1024;

export type FileType = 'file' | 'directory' | 'link' | 'other' | 'absent';

export interface FileState {
  path: string;
  type: FileType;
  /** four octal digits, e.g. "0644" (of the link itself for links) */
  mode?: string;
  owner?: string;
  group?: string;
  uid?: number;
  gid?: number;
  size?: number;
  /** regular files the fact could read */
  sha256?: string;
  /** symlinks: where they point (readlink, not resolved) */
  linkTarget?: string;
  /** symlinks, when asked for: the path resolved as far as it exists (`realpath -m`, Ansible's lnk_source); absent for a link loop */
  linkSource?: string;
  /** the rest of what stat(2) says and what access(2) allows (Ansible's stat result); all but absent paths */
  details?: FileDetails;
  /** regular files up to MAX_CONTENT_BYTES, filled in only when a diff is shown (fileContentFact) */
  content?: Buffer;
}

/** A device, fifo or socket (FileType 'other'), as Ansible's ischr/isblk/isfifo/issock tell them apart. */
export type SpecialKind = 'char' | 'block' | 'fifo' | 'socket';

export interface FileDetails {
  inode: number;
  /** st_dev: the device the inode is on */
  dev: number;
  nlink: number;
  /** seconds since the epoch with the nanoseconds as a fraction, computed as Python's os.stat does (sec + nsec * 1e-9) */
  atime: number;
  mtime: number;
  ctime: number;
  /** 512-byte blocks allocated (st_blocks) */
  blocks: number;
  /** the preferred I/O size (st_blksize) */
  blockSize: number;
  /** st_rdev: the device a device file stands for (0 for others), glibc's makedev(major, minor) */
  rdev: number;
  special?: SpecialKind;
  /** `test -r/-w/-x` for the user the facts run as (links followed, as access(2)) */
  readable: boolean;
  writeable: boolean;
  executable: boolean;
}

export function normalizeMode(mode: string | number): string {
  const digits = String(mode).replace(/^0o/, '');
  if (!/^[0-7]{1,5}$/.test(digits)) throw new Error(`not an octal file mode: ${mode}`);
  return parseInt(digits, 8).toString(8).padStart(4, '0');
}

interface FileItem {
  path: string;
  /** stat the path a symlink points to (`stat -L`, Ansible's `follow: true`); a dangling link is then absent */
  follow?: boolean;
  /** a symlink's linkSource too: one `realpath` process per link, so only stat asks for it */
  linkSource?: boolean;
  /**
   * Holds `stat=<size>:<mtime>:<inode>` and `sha256=<hex>` lines written when the file was
   * installed; while the file's stat still matches, that sha256 is reported instead of hashing
   * the file again (large binaries make a no-op run slow otherwise).
   */
  stampFile?: string;
}

const readable = (v: string) => `[ ! -L ${v} ] && [ -f ${v} ] && [ -r ${v} ]`;

/** name, raw mode (hex), permissions (octal), uid, gid, owner, group, size, inode, dev, nlink, atime, mtime, ctime, blocks, blksize, rdev's major and minor (hex) */
const STAT_FIELDS = ['%n', '%f', '%a', '%u', '%g', '%U', '%G', '%s', '%i', '%d', '%h', '%.9X', '%.9Y', '%.9Z', '%b', '%o', '%t', '%T'];
const STAT_FORMAT = STAT_FIELDS.map((f) => `${f}\\0`).join('');

/**
 * For all paths of a batch: one `stat` (lstat: links are not followed; another `stat -L` for the
 * paths to follow), one `readlink` per symlink (and one `realpath` where linkSource is asked for),
 * the access the shell's `test` grants, and one `sha256sum` for every readable regular file whose
 * stamp does not vouch for it (a stamped file costs one more `stat`). The output is NUL-separated
 * tagged records, then sha256sum's own lines: any byte but NUL may appear in a path.
 */
function filesScript(items: readonly FileItem[]): string {
  const unique = (list: readonly FileItem[]) => [...new Set(list.map((i) => i.path))].map(quote).join(' ');
  const paths = unique(items.filter((i) => !i.follow));
  const followed = unique(items.filter((i) => i.follow));
  const plain = unique(items.filter((i) => !i.stampFile));
  const lines: string[] = [];
  if (paths) {
    lines.push(
      `stat --printf 's\\0${STAT_FORMAT}' -- ${paths} 2>/dev/null`,
      `for p in ${paths}; do if [ -L "$p" ]; then printf 'l\\0%s\\0%s\\0' "$p" "$(readlink -- "$p")"; fi; done`,
    );
  }
  const resolved = unique(items.filter((i) => i.linkSource && !i.follow));
  if (resolved) lines.push(`for p in ${resolved}; do if [ -L "$p" ]; then printf 'r\\0%s\\0%s\\0' "$p" "$(realpath -m -- "$p" 2>/dev/null)"; fi; done`);
  if (followed) lines.push(`stat -L --printf 'S\\0${STAT_FORMAT}' -- ${followed} 2>/dev/null`);
  // test is the shell's builtin: no process per path
  lines.push(`for p in ${unique(items)}; do a=; [ -r "$p" ] && a=r; [ -w "$p" ] && a=\${a}w; [ -x "$p" ] && a=\${a}x; printf 'a\\0%s\\0%s\\0' "$p" "$a"; done`);
  lines.push('set --');
  if (plain) lines.push(`for p in ${plain}; do if ${readable('"$p"')}; then set -- "$@" "$p"; fi; done`);
  items.forEach((item, index) => {
    if (!item.stampFile) return;
    lines.push(
      `p=${quote(item.path)}; r=${quote(item.stampFile)}`,
      `if ${readable('"$p"')}; then`,
      `  m=; h=`,
      `  if [ -r "$r" ]; then`,
      `    st=$(stat -c %s:%Y:%i -- "$p")`,
      `    while IFS= read -r l || [ -n "$l" ]; do case $l in "stat=$st") m=1 ;; sha256=*) h=\${l#sha256=} ;; esac; done < "$r"`,
      `  fi`,
      `  if [ -n "$m" ]; then printf 'h\\0%s\\0%s\\0' ${index} "$h"; else set -- "$@" "$p"; fi`,
      `fi`,
    );
  });
  lines.push(`printf 'm\\0'`, 'if [ $# -gt 0 ]; then sha256sum -- "$@" 2>/dev/null; fi', ':');
  return lines.join('\n');
}

const TYPE_BITS: Record<number, FileType> = { 0o120000: 'link', 0o040000: 'directory', 0o100000: 'file' };

/** sha256sum escapes a name holding a backslash or line break and marks the line with a leading backslash. */
function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\\?)([0-9a-f]{64}) [ *](.*)$/.exec(line);
    if (!m) continue;
    const name = m[1] ? m[3]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c)) : m[3]!;
    if (!sums.has(name)) sums.set(name, m[2]!);
  }
  return sums;
}

const SPECIAL_BITS: Record<number, SpecialKind> = { 0o020000: 'char', 0o060000: 'block', 0o010000: 'fifo', 0o140000: 'socket' };

/** `<seconds>.<nanoseconds>` as Python's os.stat makes its float of them, so both print the same number. */
export function statTime(text: string): number {
  const m = /^(-?)(\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (!m) throw new Error(`file facts: not a time: ${JSON.stringify(text)}`);
  const nsec = Number((m[3] ?? '').padEnd(9, '0'));
  // stat prints a time before the epoch as its true value (-1.25), Python adds the positive nanoseconds to the floored seconds
  return m[1] ? -Number(m[2]) - (nsec ? 1 : 0) + (nsec ? 1e9 - nsec : 0) * 1e-9 : Number(m[2]) + nsec * 1e-9;
}

/** glibc's makedev: st_rdev from the major and minor stat prints in hex. */
export function makedev(majorHex: string, minorHex: string): number {
  const major = BigInt(`0x${majorHex}`);
  const minor = BigInt(`0x${minorHex}`);
  return Number(((major & 0xfffn) << 8n) | ((major & ~0xfffn) << 32n) | (minor & 0xffn) | ((minor & ~0xffn) << 12n));
}

function parseDetails(fields: readonly string[], format: number, access: string): FileDetails {
  const [inode, dev, nlink, atime, mtime, ctime, blocks, blockSize, major, minor] = fields as [string, string, string, string, string, string, string, string, string, string];
  const special = SPECIAL_BITS[format];
  return {
    inode: Number(inode),
    dev: Number(dev),
    nlink: Number(nlink),
    atime: statTime(atime),
    mtime: statTime(mtime),
    ctime: statTime(ctime),
    blocks: Number(blocks),
    blockSize: Number(blockSize),
    rdev: makedev(major, minor),
    ...(special ? { special } : {}),
    readable: access.includes('r'),
    writeable: access.includes('w'),
    executable: access.includes('x'),
  };
}

export function parseFiles(stdout: string, items: readonly FileItem[]): FileState[] {
  const stats = new Map<string, string[]>();
  const followedStats = new Map<string, string[]>();
  const links = new Map<string, string>();
  const sources = new Map<string, string>();
  const access = new Map<string, string>();
  const stamped = new Map<number, string>();
  let at = 0;
  const next = (): string => {
    const end = stdout.indexOf('\0', at);
    if (end < 0) throw new Error('file facts: output cut short');
    const token = stdout.slice(at, end);
    at = end + 1;
    return token;
  };
  for (;;) {
    const tag = next();
    if (tag === 'm') break;
    if (tag === 's' || tag === 'S') {
      const [name, ...fields] = STAT_FIELDS.map(next);
      const into = tag === 's' ? stats : followedStats;
      if (!into.has(name!)) into.set(name!, fields);
    } else if (tag === 'l') {
      const name = next();
      links.set(name, next());
    } else if (tag === 'r') {
      const name = next();
      sources.set(name, next());
    } else if (tag === 'a') {
      const name = next();
      access.set(name, next());
    } else if (tag === 'h') {
      const index = Number(next());
      stamped.set(index, next());
    } else {
      throw new Error(`file facts: unexpected record ${JSON.stringify(tag.slice(0, 40))}`);
    }
  }
  const sums = parseSums(stdout.slice(at));
  return items.map((item, index) => {
    const fields = (item.follow ? followedStats : stats).get(item.path);
    if (!fields) return { path: item.path, type: 'absent' };
    const [rawMode, mode, uid, gid, owner, group, size, ...rest] = fields as [string, string, string, string, string, string, string, ...string[]];
    const format = parseInt(rawMode, 16) & 0o170000;
    const type = TYPE_BITS[format] ?? 'other';
    const state: FileState = {
      path: item.path,
      type,
      mode: normalizeMode(mode),
      uid: Number(uid),
      gid: Number(gid),
      owner,
      group,
      size: Number(size),
      details: parseDetails(rest, format, access.get(item.path) ?? ''),
    };
    if (type === 'link' && links.has(item.path)) state.linkTarget = links.get(item.path);
    if (type === 'link' && item.linkSource && sources.get(item.path)) state.linkSource = sources.get(item.path);
    const sha = stamped.has(index) ? stamped.get(index) : sums.get(item.path);
    if (type === 'file' && sha) state.sha256 = sha;
    return state;
  });
}

const files: FactFamily<FileItem, FileState> = {
  name: 'files',
  script: filesScript,
  parse: (stdout, _code, items) => parseFiles(stdout, items),
};

/**
 * Type, mode, owner, group, size, sha256 and stat(2)'s details of one path on the host (never its
 * content); with `follow`, of what a symlink points to (no sha256 then for a link: read it with
 * fileDigestFact); with `linkSource`, a symlink's resolved path too (not with `follow`).
 */
export function fileFact(path: string, options: { stampFile?: string; follow?: boolean; linkSource?: boolean } = {}): FamilyFact<FileState, FileItem> {
  const source = options.linkSource && !options.follow;
  return {
    key: `file${options.stampFile ? `+stamp:${options.stampFile}` : ''}${options.follow ? '+follow' : ''}${source ? '+source' : ''}:${path}`,
    family: files,
    item: { path, stampFile: options.stampFile, ...(options.follow ? { follow: true } : {}), ...(source ? { linkSource: true } : {}) },
  };
}

/**
 * The content of a regular file up to MAX_CONTENT_BYTES (null otherwise): only gathered to show
 * the before side of a diff, after the hashes said the file differs.
 */
export function fileContentFact(path: string): ScriptFact<Buffer | null> {
  const p = quote(path);
  return {
    key: `file-content:${path}`,
    inShell: true,
    script: `if ${readable(p)}; then echo content:; base64 < ${p}; fi`,
    parse: (stdout) => (stdout.startsWith('content:\n') ? Buffer.from(stdout.slice('content:\n'.length).replace(/\s+/g, ''), 'base64') : null),
  };
}

/**
 * A small text file (an install record) read by the shell itself, line by line; null when it is
 * absent or unreadable. Lines come back newline-terminated; NUL bytes do not survive.
 */
export function textFileFact(path: string): ScriptFact<string | null> {
  const p = quote(path);
  return {
    key: `text-file:${path}`,
    inShell: true,
    script: `if ${readable(p)}; then echo present; while IFS= read -r l || [ -n "$l" ]; do printf '%s\\n' "$l"; done < ${p}; else echo absent; fi`,
    parse: (stdout) => (stdout.startsWith('present\n') ? stdout.slice('present\n'.length) : null),
  };
}
