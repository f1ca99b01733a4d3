import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { exitCodeFact, pathExistsFact } from '../facts/guard-facts.js';
import { fileFact, type FileState } from '../facts/file.js';
import type { Fact } from '../facts/types.js';
import { checkLocalFile, localPath } from './local-file.js';
import { absolutePathParam } from './params.js';
import type { Module, ModuleContext } from './types.js';

export type UnarchiveParams = { src: string; dest: string; remote_src?: boolean; creates?: string };

/** One entry of an archive: what it must be under dest. */
export interface ArchiveEntry {
  path: string;
  type: 'file' | 'directory' | 'link';
  sha256?: string;
  linkTarget?: string;
}

/** tar's option for a compressed archive read from stdin (tar detects it only in a file). */
export function compressionFlag(name: string): string[] {
  if (/\.(tgz|tar\.gz|gz)$/.test(name)) return ['-z'];
  if (/\.(tbz2?|tar\.bz2|bz2)$/.test(name)) return ['-j'];
  if (/\.(txz|tar\.xz|xz)$/.test(name)) return ['-J'];
  return [];
}

const entriesCache = new Map<string, ArchiveEntry[]>();

/** The entries of a local tar archive (any compression tar reads), unpacked once per file version into a temp dir and hashed. */
export function archiveEntries(file: string): ArchiveEntry[] {
  const { mtimeMs, size } = statSync(file);
  const key = `${file}:${mtimeMs}:${size}`;
  const cached = entriesCache.get(key);
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'bootstrap-unarchive-'));
  try {
    execFileSync('tar', ['-xf', file, '-C', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
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
        } else entries.push({ path, type: 'file', sha256: createHash('sha256').update(readFileSync(full)).digest('hex') });
      }
    };
    walk('');
    entriesCache.set(key, entries);
    return entries;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function matches(entry: ArchiveEntry, state: FileState): boolean {
  if (entry.type === 'directory') return state.type === 'directory';
  if (entry.type === 'link') return state.type === 'link' && state.linkTarget === entry.linkTarget;
  return state.type === 'file' && state.sha256 === entry.sha256;
}

const entriesOf = (p: UnarchiveParams, ctx: Pick<ModuleContext, 'localDir'>) => archiveEntries(localPath(p.src, ctx.localDir));
const compareFact = (p: UnarchiveParams) => exitCodeFact(['tar', '--compare', '-f', p.src, '-C', p.dest]);

/**
 * As Ansible's unarchive, for tar archives: unpacks `src` (a laptop file, sent on stdin; with
 * remote_src a file on the host) into the existing directory `dest` when any entry of the archive
 * differs from what dest holds: planned from each entry's sha256 against dest's files, or with
 * remote_src from `tar --compare` on the host. `creates` skips it when that path exists.
 */
export const unarchiveModule: Module<UnarchiveParams> = {
  name: 'unarchive',
  params: {
    src: { type: 'string', required: true, description: 'a tar archive (.tar, .tar.gz/.tgz, .tar.bz2, .tar.xz) on the laptop, or on the host with remote_src' },
    dest: absolutePathParam('an existing directory to unpack into'),
    remote_src: { type: 'boolean', default: false, description: 'src is a file on the host' },
    creates: { type: 'string', description: 'skip when this path exists on the host' },
  },
  validate: (p, ctx) => (p.remote_src ? [] : checkLocalFile('src', p.src, ctx.localDir, ctx.pending)),
  facts(p, ctx) {
    const facts: Fact<unknown>[] = [fileFact(p.dest), ...(p.creates !== undefined ? [pathExistsFact(p.creates)] : [])];
    if (p.remote_src) return [...facts, compareFact(p)];
    return [...facts, ...entriesOf(p, ctx).map((e) => fileFact(posix.join(p.dest, e.path)))];
  },
  plan(p, read, ctx) {
    // as Ansible's unarchive reports it: skipped, not ok
    if (p.creates !== undefined && read(pathExistsFact(p.creates))) return { changes: [], skipped: true, reason: `skipped, since ${p.creates} exists` };
    if (read(fileFact(p.dest)).type !== 'directory') throw new Error(`Destination ${p.dest} is not a directory`);
    if (p.remote_src) {
      if (read(compareFact(p)) === 0) return { changes: [], reason: `${p.dest} matches ${p.src} (tar --compare)` };
      return { changes: [{ title: `unpack ${p.src} into ${p.dest} (tar --compare found differences)`, commands: [{ argv: ['tar', '-xf', p.src, '-C', p.dest] }] }] };
    }
    const entries = entriesOf(p, ctx);
    const differing = entries.filter((e) => !matches(e, read(fileFact(posix.join(p.dest, e.path)))));
    if (differing.length === 0) return { changes: [], reason: `${p.dest} matches ${p.src} (${entries.length} entries)` };
    const data = readFileSync(localPath(p.src, ctx.localDir));
    const title = `unpack ${p.src} into ${p.dest} (${differing.length} of ${entries.length} entries differ: ${differing.slice(0, 3).map((e) => e.path).join(', ')}${differing.length > 3 ? ', ...' : ''})`;
    return { changes: [{ title, commands: [{ argv: ['tar', '-x', ...compressionFlag(p.src), '-f', '-', '-C', p.dest], stdin: data }] }] };
  },
};
