import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { quote, type ArgvCommand } from '../argv.js';
import { HTTP_FETCH } from '../facts/http-fetch.js';
import { commandExistsFact, pathExistsFact } from '../facts/guard-facts.js';
import { fileFact, normalizeMode, type FileState } from '../facts/file.js';
import { hostArchiveFact, memberPath, type HostArchive } from '../facts/host-archive.js';
import { mtimesFact } from '../facts/mtimes.js';
import { leftoversFact, tempPathFor } from '../facts/leftovers.js';
import type { Fact, FactReader } from '../facts/types.js';
import { archiveEntries, archiveKind, compressionFlag, type ArchiveEntry } from './archive-entries.js';
import { attributeDifferences, type WantedAttributes } from './file-attributes.js';
import { urlFilename } from './checksum.js';
import { httpRequest } from './http-request.js';
import { checkLocalFile, localPath } from './local-file.js';
import { memberSelected, type MemberSelection } from './member-patterns.js';
import { absolutePathParam, groupParam, modeParam, ownerParam } from './params.js';
import type { Change, Module, ModuleContext, Plan } from './types.js';
import { uploadCommands, withLeftoverRemoval } from './write-file.js';

export type UnarchiveParams = {
  src: string; dest: string; remote_src?: boolean; creates?: string; owner?: string; group?: string; mode?: string;
  list_files?: boolean; include?: string[]; exclude?: string[]; keep_newer?: boolean; extra_opts?: string[];
  validate_certs?: boolean; io_buffer_size?: number; decrypt?: boolean;
};

/** As Ansible decides it: with remote_src, a src holding `://` is a URL the host downloads first. */
const isUrl = (p: UnarchiveParams) => p.remote_src === true && p.src.includes('://');
/** The request Ansible's fetch_file makes for it: its defaults (10 s, ansible-httpget, proxies and ~/.netrc), certificates as validate_certs says. */
const urlRequest = (p: UnarchiveParams) => httpRequest({ validate_certs: p.validate_certs });
/** Where the downloaded archive waits while it is unpacked: beside dest's members, under a temp name of this run (leftovers of a killed run are removed). */
const downloadTarget = (p: UnarchiveParams) => posix.join(p.dest, urlFilename(p.src));

function matches(entry: ArchiveEntry, state: FileState): boolean {
  if (entry.type === 'directory') return state.type === 'directory';
  if (entry.type === 'link') return state.type === 'link' && state.linkTarget === entry.linkTarget;
  return state.type === 'file' && state.sha256 === entry.sha256;
}

const wantedOf = (p: UnarchiveParams): WantedAttributes => ({ owner: p.owner, group: p.group, mode: p.mode });
const hasAttributes = (p: UnarchiveParams) => p.owner !== undefined || p.group !== undefined || p.mode !== undefined;
const localFile = (p: UnarchiveParams, ctx: Pick<ModuleContext, 'localDir'>) => localPath(p.src, ctx.localDir);
const selection = (p: UnarchiveParams): MemberSelection => ({ include: p.include, exclude: p.exclude });
const extraOpts = (p: UnarchiveParams) => p.extra_opts ?? [];
/** The laptop archive's entries that are unpacked (include/exclude), named as extra_opts make them. */
const entriesOf = (p: UnarchiveParams, ctx: Pick<ModuleContext, 'localDir'>) => {
  const file = localFile(p, ctx);
  const kind = archiveKind(file);
  return archiveEntries(file, extraOpts(p)).filter((e) => memberSelected(e.path, selection(p), kind));
};
const isLocalZip = (p: UnarchiveParams, ctx: Pick<ModuleContext, 'localDir'>) => !p.remote_src && archiveKind(localFile(p, ctx)) === 'zip';
/** A laptop zip is uploaded beside where it unpacks, under a temp name of this run. */
const uploadTarget = (p: UnarchiveParams) => posix.join(p.dest, posix.basename(p.src));
const remoteFact = (p: UnarchiveParams) =>
  hostArchiveFact(p.src, p.dest, hasAttributes(p), {
    extraOpts: extraOpts(p), keepNewer: p.keep_newer ?? false, include: p.include ?? [], exclude: p.exclude ?? [], ...(isUrl(p) ? { download: urlRequest(p) } : {}),
  });

/**
 * With a URL src: the archive downloaded to `file` first, then the extraction (which reads
 * `file`), then `file` removed whatever happened.
 */
function downloadFirst(p: UnarchiveParams, file: string, extract: string[]): ArgvCommand {
  const script = ['f=$1; url=$2; shift 2', 'trap \'rm -f "$f"\' EXIT', 'cfg=', HTTP_FETCH, `fetch "$f" "$url" ${urlRequest(p).args.map(quote).join(' ')} || exit`, '"$@"'].join('\n');
  return { argv: ['sh', '-c', script, 'unarchive', file, p.src, ...extract] };
}
/** keep_newer on a laptop archive: the mtimes of dest's files the archive holds. */
const mtimes = (p: UnarchiveParams, ctx: Pick<ModuleContext, 'localDir'>) => mtimesFact(entriesOf(p, ctx).filter((e) => e.type === 'file').map((e) => posix.join(p.dest, e.path)));

/** The extraction command's options besides the archive: extra_opts, keep_newer, and which members. */
function tarSelection(p: UnarchiveParams): { before: string[]; after: string[] } {
  return {
    before: [...extraOpts(p), ...(p.keep_newer ? ['--keep-newer-files'] : []), ...(p.exclude ?? []).map((e) => `--exclude=${e.replace(/\/+$/, '')}`), ...(p.include?.length ? ['--wildcards'] : [])],
    after: p.include ?? [],
  };
}
function unzipArgv(p: UnarchiveParams, file: string, skip: string[]): string[] {
  const excluded = [...(p.exclude ?? []), ...skip];
  return ['unzip', '-o', '-qq', ...extraOpts(p), file, ...(p.include ?? []), ...(excluded.length ? ['-x', ...excluded] : []), '-d', p.dest];
}
const withFiles = (plan: Plan, p: UnarchiveParams, files: string[]): Plan => (p.list_files ? { ...plan, result: { ...plan.result, files } } : plan);

/** `tar --compare` lines that mean dest differs, as Ansible's unarchive reads them (owner, group and mode differences only when not set by the task; owners only as root). */
const TAR_DIFFERS = [/: Mod time differs$/, /: Warning: Cannot stat: No such file or directory$/, /: Invalid owner/, /: Invalid group/, /: Symlink differs$/, /: Contents differ$/, /: Size differs$/];
function tarDifferences(p: UnarchiveParams, archive: HostArchive): string[] {
  return archive.compare.filter((line) => {
    if (/: : Warning: Cannot stat: No such file or directory$/.test(line)) return false;
    if (archive.uid === 0 && p.owner === undefined && /: Uid differs$/.test(line)) return true;
    if (archive.uid === 0 && p.group === undefined && /: Gid differs$/.test(line)) return true;
    if (p.mode === undefined && /: Mode differs$/.test(line)) return true;
    return TAR_DIFFERS.some((re) => re.test(line));
  });
}

const ownerSpec = (p: UnarchiveParams) => `${p.owner ?? ''}${p.group !== undefined ? `:${p.group}` : ''}`;
const chownCommand = (p: UnarchiveParams, paths: string[]): ArgvCommand => ({ argv: ['chown', '-h', ownerSpec(p), '--', ...paths] });
const chmodCommand = (p: UnarchiveParams, paths: string[]): ArgvCommand => ({
  argv: ['sh', '-c', 'mode=$1; shift; for p; do [ -L "$p" ] || chmod "$mode" -- "$p" || exit; done', 'chmod', normalizeMode(p.mode!), ...paths],
});

/**
 * owner/group/mode on every member once unpacked, as Ansible sets them on each file of the
 * archive and each top folder: chown -h (a link itself), chmod on all but links.
 */
function attributeCommands(p: UnarchiveParams, paths: string[]): ArgvCommand[] {
  return [...(ownerSpec(p) ? [chownCommand(p, paths)] : []), ...(p.mode !== undefined ? [chmodCommand(p, paths)] : [])];
}

/** When nothing is unpacked: the members whose owner, group or mode differ, brought to what was asked, one command for each kind. */
function attributeFixes(p: UnarchiveParams, states: FileState[]): Change[] {
  const present = states.filter((s) => s.type !== 'absent');
  const differences = present.map((s) => attributeDifferences(s, wantedOf(p)));
  const chown = present.filter((_, i) => differences[i]!.owner || differences[i]!.group).map((s) => s.path);
  const chmod = present.filter((_, i) => differences[i]!.mode).map((s) => s.path);
  const list = (paths: string[]) => `${paths.length} unpacked ${paths.length === 1 ? 'entry' : 'entries'} (${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ', ...' : ''})`;
  const changes: Change[] = [];
  if (chown.length) changes.push({ title: `set owner ${ownerSpec(p)} on ${list(chown)}`, commands: [chownCommand(p, chown)] });
  if (chmod.length) changes.push({ title: `set mode ${normalizeMode(p.mode!)} on ${list(chmod)}`, commands: [chmodCommand(p, chmod)] });
  return changes;
}

/** Members and their top folders, as paths under dest, each once. */
function memberPaths(dest: string, names: string[]): string[] {
  const rel = names.map(memberPath);
  const all = [...rel, ...rel.filter((r) => r.includes('/')).map((r) => r.split('/')[0]!)];
  return [...new Set(all)].map((r) => posix.join(dest, r));
}

function planRemote(p: UnarchiveParams, read: FactReader, ctx: ModuleContext): Plan {
  const fact = read(remoteFact(p));
  if (fact.error) throw new Error(fact.error);
  // tar selects members itself; a zip's are selected here
  const chosen = (names: string[]) => (fact.kind === 'zip' ? names.filter((n) => memberSelected(memberPath(n), selection(p), 'zip')) : names);
  const archive: HostArchive = { ...fact, entries: chosen(fact.entries), differs: chosen(fact.differs) };
  return withFiles(planRemoteArchive(p, archive, ctx), p, archive.entries);
}

function planRemoteArchive(p: UnarchiveParams, archive: HostArchive, ctx: ModuleContext): Plan {
  const differing = archive.kind === 'zip' ? archive.differs : tarDifferences(p, archive);
  const paths = memberPaths(p.dest, archive.entries);
  if (differing.length === 0) {
    const states = paths.map((path): FileState => {
      const state = archive.states.get(posix.relative(p.dest, path) || '.');
      return state ? { ...state, path } : { path, type: 'absent' };
    });
    const fixes = hasAttributes(p) ? attributeFixes(p, states) : [];
    return fixes.length ? { changes: fixes } : { changes: [], reason: `${p.dest} matches ${p.src} (${archive.kind === 'zip' ? 'each member compared' : 'tar --compare'})` };
  }
  const tar = tarSelection(p);
  const file = isUrl(p) ? tempPathFor(downloadTarget(p), ctx.runId) : p.src;
  const extract = archive.kind === 'zip' ? unzipArgv(p, file, archive.kept) : ['tar', '-x', ...tar.before, '-f', file, '-C', p.dest, ...tar.after];
  const title = `${isUrl(p) ? 'download and ' : ''}unpack ${p.src} into ${p.dest} (${archive.kind === 'zip' ? `${differing.length} members differ: ${differing.slice(0, 3).join(', ')}${differing.length > 3 ? ', ...' : ''}` : 'tar --compare found differences'})`;
  const command = isUrl(p) ? downloadFirst(p, file, extract) : { argv: extract };
  return { changes: [{ title, commands: [command, ...(hasAttributes(p) ? attributeCommands(p, paths) : [])] }] };
}

function planLocal(p: UnarchiveParams, read: FactReader, ctx: ModuleContext): Plan {
  return withFiles(planLocalArchive(p, read, ctx), p, entriesOf(p, ctx).map((e) => e.path));
}

function planLocalArchive(p: UnarchiveParams, read: FactReader, ctx: ModuleContext): Plan {
  const entries = entriesOf(p, ctx);
  const states = entries.map((e) => read(fileFact(posix.join(p.dest, e.path))));
  // keep_newer: a file dest holds newer than the archive's is left as it is, as tar --keep-newer-files does
  const hostMtimes = p.keep_newer ? read(mtimes(p, ctx)) : new Map<string, number>();
  const isNewer = (e: ArchiveEntry) => e.type === 'file' && (hostMtimes.get(posix.join(p.dest, e.path)) ?? -Infinity) > (e.mtime ?? Infinity);
  const kept = entries.filter(isNewer);
  const differing = entries.filter((e, i) => !matches(e, states[i]!) && !isNewer(e));
  if (differing.length === 0) {
    const fixes = hasAttributes(p) ? attributeFixes(p, states) : [];
    return fixes.length ? { changes: fixes } : { changes: [], reason: `${p.dest} matches ${p.src} (${entries.length} entries)` };
  }
  const file = localFile(p, ctx);
  const data = readFileSync(file);
  const zip = archiveKind(file) === 'zip';
  let commands: ArgvCommand[];
  if (zip) {
    if (!read(commandExistsFact('unzip'))) throw new Error(`unzip is not installed on ${ctx.host}: unpacking the zip archive ${p.src} needs it (the Debian package unzip; install it with a package task first)`);
    // unzip needs a file it can seek in, not a pipe
    const tmp = tempPathFor(uploadTarget(p), ctx.runId);
    commands = [...uploadCommands(tmp, data, '0600'), { argv: unzipArgv(p, tmp, kept.map((e) => e.path)) }, { argv: ['rm', '-f', '--', tmp] }];
  } else {
    const tar = tarSelection(p);
    commands = [{ argv: ['tar', '-x', ...compressionFlag(p.src), ...tar.before, '-f', '-', '-C', p.dest, ...tar.after], stdin: data }];
  }
  if (hasAttributes(p)) commands.push(...attributeCommands(p, entries.map((e) => posix.join(p.dest, e.path))));
  const title = `unpack ${p.src} into ${p.dest} (${differing.length} of ${entries.length} entries differ: ${differing.slice(0, 3).map((e) => e.path).join(', ')}${differing.length > 3 ? ', ...' : ''})`;
  return { changes: [{ title, commands }] };
}

/**
 * As Ansible's unarchive, for tar and zip archives: unpacks `src` (a laptop file, a tar sent on
 * stdin, a zip uploaded for unzip; with remote_src a file on the host) into the existing
 * directory `dest` when any member of the archive differs from what dest holds: planned from
 * each member's sha256 against dest's files, or with remote_src on the host (tar --compare, or
 * each zip member compared). owner, group and mode are then set on every member, or, when
 * nothing was unpacked, on those that differ. `creates` skips it when that path exists.
 */
export const unarchiveModule: Module<UnarchiveParams> = {
  name: 'unarchive',
  params: {
    src: { type: 'string', required: true, description: 'a tar (.tar, .tar.gz/.tgz, .tar.bz2, .tar.xz) or zip archive on the laptop, or on the host with remote_src; with remote_src a URL (holding ://) the host downloads first' },
    dest: absolutePathParam('an existing directory to unpack into'),
    remote_src: { type: 'boolean', default: false, description: 'src is a file on the host' },
    creates: { type: 'string', description: 'skip when this path exists on the host' },
    owner: ownerParam,
    group: groupParam,
    mode: modeParam,
    list_files: { type: 'boolean', default: false, description: "register the archive's members (those unpacked) as `files`" },
    include: { type: 'list', items: { type: 'string', pattern: /./, patternHint: 'a member name or shell pattern' }, description: 'unpack only the members these names or shell patterns match (a tar folder brings what it holds)' },
    exclude: { type: 'list', items: { type: 'string', pattern: /./, patternHint: 'a member name or shell pattern' }, description: 'leave out the members these names or shell patterns match (a tar folder with what it holds)' },
    keep_newer: { type: 'boolean', default: false, description: "leave dest's files that are newer than the archive's as they are" },
    extra_opts: { type: 'list', items: { type: 'string' }, description: 'more options for tar or unzip, one a list item, e.g. ["--strip-components=1"]; used when reading the archive too' },
    validate_certs: { type: 'boolean', default: true, description: 'with an https URL as src: false accepts any certificate (curl -k)' },
    decrypt: { type: 'boolean', default: true, description: 'accepted for Ansible, where a laptop src encrypted with Ansible Vault is decrypted first; bootstrap has no vault (secrets come from secret()), so src is unpacked as it is either way' },
    io_buffer_size: { type: 'integer', default: 65536, description: "accepted for Ansible, where it sizes the buffer its own CRC check of zip members reads with; bootstrap compares members with cmp and tar, so it changes nothing in the outcome" },
  },
  validate: (p, ctx) => [
    ...(p.include?.length && p.exclude?.length ? [['include', 'include and exclude cannot both be given (as in Ansible)'] as [string, string]] : []),
    ...(p.remote_src ? [] : checkLocalFile('src', p.src, ctx.localDir, ctx.pending)),
    ...(isUrl(p) && !(/^(https?|ftp|file):\/\/\S+$/.test(p.src) && URL.canParse(p.src)) ? [['src', `expected an http(s), ftp or file URL such as https://example.com/app.tar.gz (src holds "://" and remote_src is true), got ${JSON.stringify(p.src)}`] as [string, string]] : []),
  ],
  facts(p, ctx) {
    const facts: Fact<unknown>[] = [fileFact(p.dest), ...(p.creates !== undefined ? [pathExistsFact(p.creates)] : [])];
    if (p.remote_src) return [...facts, remoteFact(p), ...(isUrl(p) ? [leftoversFact(downloadTarget(p), ctx)] : [])];
    const zip = isLocalZip(p, ctx) ? [commandExistsFact('unzip'), leftoversFact(uploadTarget(p), ctx)] : [];
    return [...facts, ...zip, ...(p.keep_newer ? [mtimes(p, ctx)] : []), ...entriesOf(p, ctx).map((e) => fileFact(posix.join(p.dest, e.path)))];
  },
  plan(p, read, ctx) {
    // as Ansible's unarchive reports it: skipped, not ok
    if (p.creates !== undefined && read(pathExistsFact(p.creates))) return { changes: [], skipped: true, reason: `skipped, since ${p.creates} exists` };
    if (read(fileFact(p.dest)).type !== 'directory') throw new Error(`Destination ${p.dest} is not a directory`);
    if (isUrl(p)) return withLeftoverRemoval(planRemote(p, read, ctx), downloadTarget(p), read(leftoversFact(downloadTarget(p), ctx)));
    if (p.remote_src) return planRemote(p, read, ctx);
    const plan = planLocal(p, read, ctx);
    return isLocalZip(p, ctx) ? withLeftoverRemoval(plan, uploadTarget(p), read(leftoversFact(uploadTarget(p), ctx))) : plan;
  },
};
