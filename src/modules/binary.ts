import { basename } from 'node:path';
import type { ArgvCommand } from '../argv.js';
import type { FileState } from '../facts/file.js';
import { fileFact, textFileFact } from '../facts/file.js';
import { attributeChanges } from './file-attributes.js';
import { checkLocalFile, readLocalFile } from './local-file.js';
import { absolutePathParam, modeParam } from './params.js';
import type { Module, ModuleContext, Plan } from './types.js';
import { sha256, withLeftoverRemoval, writeFileCommands } from './write-file.js';
import { leftoversFact, tempPathFor } from '../facts/leftovers.js';

export type BinaryParams = {
  dest: string;
  url?: string;
  sha256?: string;
  checksums_url?: string;
  member?: string;
  src?: string;
  mode?: string;
  connect_timeout?: number;
  max_time?: number;
};

/** curl's limits for one download, unless the task sets them: a stalled mirror fails the task instead of hanging it. */
export const DOWNLOAD_CONNECT_TIMEOUT = 10;
export const DOWNLOAD_MAX_TIME = 600;

function curl(p: BinaryParams, out: string, url: string): ArgvCommand {
  const limits = ['--connect-timeout', String(p.connect_timeout ?? DOWNLOAD_CONNECT_TIMEOUT), '--max-time', String(p.max_time ?? DOWNLOAD_MAX_TIME)];
  return { argv: ['curl', '-fsSL', '--retry', '3', ...limits, '-o', out, url] };
}

export const BINARY_STATE_DIR = '/var/lib/bootstrap/binaries';
const WORK_DIR = '/var/lib/bootstrap/tmp';

/** One file name per dest: /usr/local/bin/consul -> usr-local-bin-consul ('-' and other odd bytes %-escaped). */
export function escapePath(path: string): string {
  return path.replace(/^\/+/, '').replace(/[^A-Za-z0-9._/]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).replaceAll('/', '-');
}

export function recordPath(dest: string, stateDir = BINARY_STATE_DIR): string {
  return `${stateDir}/${escapePath(dest)}.source`;
}

export function parseRecord(text: string | null): { url?: string; sha256?: string } {
  text ??= '';
  return { url: /^url=(.*)$/m.exec(text)?.[1], sha256: /^sha256=(.*)$/m.exec(text)?.[1] };
}

function archiveKind(url: string): 'zip' | 'tar.gz' | 'raw' {
  const name = basename(new URL(url).pathname);
  if (name.endsWith('.zip')) return 'zip';
  if (name.endsWith('.tar.gz') || name.endsWith('.tgz')) return 'tar.gz';
  return 'raw';
}

/**
 * Download, verify, extract, install atomically, record the source. `dirs` moves the work and
 * record directories (the lab runs the same commands on the laptop, in its cache).
 */
export function downloadCommands(p: BinaryParams & { url: string }, runId: string, dirs: { work: string; state: string } = { work: WORK_DIR, state: BINARY_STATE_DIR }): ArgvCommand[] {
  const work = `${dirs.work}/${escapePath(p.dest)}-${runId}`;
  const download = `${work}/${basename(new URL(p.url).pathname) || 'download'}`;
  const extracted = `${work}/x`;
  const member = p.member ?? basename(p.dest);
  const mode = p.mode ?? '0755';
  const commands: ArgvCommand[] = [
    { argv: ['rm', '-rf', work] },
    { argv: ['mkdir', '-p', extracted, dirs.state] },
    curl(p, download, p.url),
  ];
  if (p.sha256) {
    commands.push({ argv: ['sha256sum', '-c', '-'], stdin: `${p.sha256}  ${download}\n` });
  } else {
    const sums = `${work}.SHA256SUMS`;
    commands.push(
      curl(p, sums, p.checksums_url!),
      {
        // the SUMS file lists every platform's archive: check only the line of ours
        argv: ['sh', '-c', 'cd "$1" && awk -v f="$2" \'$2 == f || $2 == "*" f { print; found = 1 } END { exit !found }\' "$3" > ../SUMS.check.$$ '
          + '|| { echo "$2 is not listed in $4" >&2; exit 1; }; sha256sum -c ../SUMS.check.$$; rc=$?; rm -f ../SUMS.check.$$; exit $rc',
          'sh', work, basename(download), sums, p.checksums_url!],
      },
    );
  }
  const kind = archiveKind(p.url);
  let source = download;
  if (kind === 'zip') commands.push({ argv: ['unzip', '-o', '-q', download, member, '-d', extracted] });
  if (kind === 'tar.gz') commands.push({ argv: ['tar', '-xzf', download, '-C', extracted, member] });
  if (kind !== 'raw') source = `${extracted}/${member}`;
  const tmp = tempPathFor(p.dest, runId);
  const record = recordPath(p.dest, dirs.state);
  commands.push(
    { argv: ['install', '-m', mode, source, tmp] },
    { argv: ['mv', '-f', tmp, p.dest] },
    {
      argv: ['sh', '-c', 's=$(sha256sum < "$2") && st=$(stat -c %s:%Y:%i -- "$2") || exit 1; '
        + 'printf \'url=%s\\nsha256=%s\\nstat=%s\\n\' "$1" "${s%% *}" "$st" > "$3.tmp-$4" && mv -f "$3.tmp-$4" "$3"',
        'sh', p.url, p.dest, record, runId],
    },
    { argv: ['rm', '-rf', work, `${work}.SHA256SUMS`] },
    { argv: ['rm', '-rf', '--', work, `${work}.SHA256SUMS`, tmp], onFailure: true },
  );
  return commands;
}

function planFromUrl(p: BinaryParams & { url: string }, installed: FileState, record: string | null, runId: string): Plan {
  const recorded = parseRecord(record);
  const upToDate = installed.type === 'file' && recorded.url === p.url && recorded.sha256 === installed.sha256;
  if (upToDate) {
    const changes = attributeChanges(installed, { mode: p.mode ?? '0755' });
    return changes.length ? { changes } : { changes, reason: `${p.dest} installed from ${p.url}` };
  }
  const why = installed.type === 'absent' ? 'absent'
    : recorded.url === undefined ? 'no install record'
    : recorded.url !== p.url ? `installed from ${recorded.url}`
    : 'file changed since install';
  return { changes: [{ title: `install ${p.dest} from ${p.url} (${why})`, commands: downloadCommands(p, runId) }] };
}

function planFromSrc(p: BinaryParams & { src: string }, installed: FileState, ctx: ModuleContext): Plan {
  const content = readLocalFile(p.src, ctx.localDir);
  const mode = p.mode ?? '0755';
  if (installed.type === 'file' && installed.sha256 === sha256(content)) {
    const changes = attributeChanges(installed, { mode });
    return changes.length ? { changes } : { changes, reason: `${p.dest} matches ${p.src} (sha256 ${installed.sha256.slice(0, 12)})` };
  }
  if (installed.type === 'directory') throw new Error(`${p.dest} is a directory`);
  const why = installed.type === 'absent' ? 'absent' : 'sha256 differs';
  return { changes: [{ title: `install ${p.dest} from ${p.src} (${why})`, commands: writeFileCommands({ path: p.dest, content, mode, runId: ctx.runId }) }] };
}

/** The installed file; for url installs its sha256 comes from the install record while its stat is unchanged. */
const installedFact = (p: BinaryParams) => fileFact(p.dest, { stampFile: p.url !== undefined ? recordPath(p.dest) : undefined });

export const binaryModule: Module<BinaryParams> = {
  name: 'binary',
  params: {
    dest: absolutePathParam('where the program goes, e.g. /usr/local/bin/consul'),
    url: { type: 'string', pattern: /^https?:\/\/\S+$/, patternHint: 'an http(s) URL' },
    sha256: { type: 'string', pattern: /^[0-9a-f]{64}$/, patternHint: '64 lowercase hex digits' },
    checksums_url: { type: 'string', pattern: /^https?:\/\/\S+$/, patternHint: 'an http(s) URL' },
    member: { type: 'string', description: 'file inside the archive (default: basename of dest)' },
    src: { type: 'string', description: 'local file on the laptop instead of url' },
    mode: modeParam,
    connect_timeout: { type: 'integer', min: 1, default: DOWNLOAD_CONNECT_TIMEOUT, description: `seconds curl may take to connect (default ${DOWNLOAD_CONNECT_TIMEOUT})` },
    max_time: { type: 'integer', min: 1, default: DOWNLOAD_MAX_TIME, description: `seconds one download may take in all (default ${DOWNLOAD_MAX_TIME})` },
  },
  validate(p, ctx) {
    if ((p.url === undefined) === (p.src === undefined)) return [['url', 'give exactly one of url or src']];
    if (p.url !== undefined && (p.sha256 === undefined) === (p.checksums_url === undefined)) {
      return [['sha256', 'a url needs exactly one of sha256 or checksums_url']];
    }
    return checkLocalFile('src', p.src, ctx.localDir);
  },
  facts: (p, ctx) => [installedFact(p), leftoversFact(p.dest, ctx), ...(p.url !== undefined ? [textFileFact(recordPath(p.dest))] : [])],
  plan(p, read, ctx) {
    const installed = read(installedFact(p));
    if (p.url === undefined && p.src === undefined) throw new Error('binary needs url or src');
    const plan = p.src !== undefined
      ? planFromSrc({ ...p, src: p.src }, installed, ctx)
      : planFromUrl({ ...p, url: p.url! }, installed, read(textFileFact(recordPath(p.dest))), ctx.runId);
    return withLeftoverRemoval(plan, p.dest, read(leftoversFact(p.dest, ctx)));
  },
};
