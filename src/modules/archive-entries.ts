import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One entry of an archive: what it must be under dest. */
export interface ArchiveEntry {
  path: string;
  type: 'file' | 'directory' | 'link';
  sha256?: string;
  linkTarget?: string;
  /** regular files: modification time in whole seconds (for keep_newer) */
  mtime?: number;
}

export type ArchiveKind = 'zip' | 'tar';

/** A zip archive starts with a local file header (PK\3\4) or, empty, with its end record (PK\5\6); anything else is left to tar, as Ansible tries unzip first. */
export function archiveKind(file: string): ArchiveKind {
  const head = Buffer.alloc(4);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  return head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) ? 'zip' : 'tar';
}

/** tar's option for a compressed archive read from stdin (tar detects it only in a file). */
export function compressionFlag(name: string): string[] {
  if (/\.(tgz|tar\.gz|gz)$/.test(name)) return ['-z'];
  if (/\.(tbz2?|tar\.bz2|bz2)$/.test(name)) return ['-j'];
  if (/\.(txz|tar\.xz|xz)$/.test(name)) return ['-J'];
  return [];
}

/** Unpacks on this machine with tar, or unzip for a zip (saying so when it is missing), with the task's extra_opts as the host will get them. */
function unpack(file: string, kind: ArchiveKind, dir: string, extraOpts: readonly string[]): void {
  try {
    if (kind === 'zip') execFileSync('unzip', ['-qq', ...extraOpts, file, '-d', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    else execFileSync('tar', ['-x', ...extraOpts, '-f', file, '-C', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') throw new Error(`reading ${file} needs ${kind === 'zip' ? 'unzip' : 'tar'} on this machine (the Debian package ${kind === 'zip' ? 'unzip' : 'tar'})`);
    throw new Error(`could not read ${file} as a ${kind} archive: ${err.stderr?.toString().trim().split('\n').at(-1) ?? err.message}`);
  }
}

const entriesCache = new Map<string, ArchiveEntry[]>();

/**
 * The entries of a local archive (tar in any compression tar reads, or zip), unpacked once per
 * file version and extra_opts into a temp dir and hashed: extra_opts that rename members
 * (--strip-components, unzip's -j) give the names the host will get.
 */
export function archiveEntries(file: string, extraOpts: readonly string[] = []): ArchiveEntry[] {
  const { mtimeMs, size } = statSync(file);
  const key = `${file}:${mtimeMs}:${size}:${JSON.stringify(extraOpts)}`;
  const cached = entriesCache.get(key);
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'bootstrap-unarchive-'));
  try {
    unpack(file, archiveKind(file), dir, extraOpts);
    const entries: ArchiveEntry[] = [];
    const walk = (rel: string) => {
      for (const name of readdirSync(join(dir, rel)).sort()) {
        const path = rel ? `${rel}/${name}` : name;
        const full = join(dir, path);
        const st = lstatSync(full);
        if (st.isSymbolicLink()) entries.push({ path, type: 'link', linkTarget: readlinkSync(full) });
        else if (st.isDirectory()) {
          entries.push({ path, type: 'directory' });
          walk(path);
        } else entries.push({ path, type: 'file', sha256: createHash('sha256').update(readFileSync(full)).digest('hex'), mtime: Math.floor(st.mtimeMs / 1000) });
      }
    };
    walk('');
    entriesCache.set(key, entries);
    return entries;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
