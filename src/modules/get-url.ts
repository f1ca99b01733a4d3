import { posix } from 'node:path';
import { fileDigestFact, urlTextFact, type DigestAlgorithm } from '../facts/checksum.js';
import { fileFact } from '../facts/file.js';
import type { Fact } from '../facts/types.js';
import { cleanDigest, digestProblem, parseChecksum, parseDigestLines, urlFilename, type ChecksumParam } from './checksum.js';
import { leftoversFact, tempPathFor } from '../facts/leftovers.js';
import { attributeChanges } from './file-attributes.js';
import { absolutePathParam, groupParam, hostPathProblem, modeParam, ownerParam } from './params.js';
import type { FactReader } from '../facts/types.js';
import type { Module, ModuleContext, Plan } from './types.js';
import { withLeftoverRemoval } from './write-file.js';

export type GetUrlParams = {
  url: string;
  dest: string;
  checksum?: string;
  force?: boolean;
  mode?: string;
  owner?: string;
  group?: string;
  timeout?: number;
  validate_certs?: boolean;
  headers?: Record<string, string>;
  url_username?: string;
  url_password?: string;
  force_basic_auth?: boolean;
  http_agent?: string;
  use_proxy?: boolean;
  use_netrc?: boolean;
  client_cert?: string;
  client_key?: string;
  backup?: boolean;
  decompress?: boolean;
};

/** A string in curl's config syntax: double quotes, with backslash and quote escaped (line breaks are refused offline). */
const curlString = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * What may hold a secret (headers, the user and password) goes to curl as a config on stdin
 * (-K -), never on its command line; undefined when there is none.
 */
function curlConfig(p: GetUrlParams): string | undefined {
  const lines = Object.entries(p.headers ?? {}).map(([k, v]) => `header = ${curlString(`${k}: ${v}`)}`);
  if (p.url_username !== undefined || p.url_password !== undefined) lines.push(`user = ${curlString(`${p.url_username ?? ''}:${p.url_password ?? ''}`)}`);
  return lines.length ? `${lines.join('\n')}\n` : undefined;
}

/** curl's options for the rest, as Ansible's fetch_url takes them: its User-Agent, proxies, ~/.netrc, a client certificate, and basic auth only when challenged unless forced. */
function curlOptions(p: GetUrlParams): string[] {
  return [
    '-A', p.http_agent ?? 'ansible-httpget',
    ...(p.use_proxy === false ? ['--noproxy', '*'] : []),
    ...(p.use_netrc === false ? [] : ['--netrc-optional']),
    ...(p.client_cert !== undefined ? ['--cert', p.client_cert] : []),
    ...(p.client_key !== undefined ? ['--key', p.client_key] : []),
    ...(p.url_username !== undefined || p.url_password !== undefined ? [p.force_basic_auth ? '--basic' : '--anyauth'] : []),
    ...(curlConfig(p) !== undefined ? ['-K', '-'] : []),
  ];
}


/**
 * curl into a temp file beside the destination (removed whatever happens), the checksum checked
 * there, then mode and owner set and the file renamed into place: dest is either as it was or the
 * whole verified download.
 */
const DOWNLOAD = [
  'tmp=$1; url=$2; dest=$3; sum=$4; mode=$5; owner=$6; timeout=$7; insecure=$8; algorithm=$9; backup=${10}; shift 10',
  'trap \'rm -f "$tmp"\' EXIT',
  'curl -fsSL $insecure --connect-timeout "$timeout" --retry 3 "$@" -o "$tmp" -- "$url" || exit',
  'if [ -n "$sum" ]; then got=$("${algorithm}sum" < "$tmp") || exit; got=${got%% *}',
  '  if [ "$got" != "$sum" ]; then echo "The checksum for $dest did not match $sum; it was $got." >&2; exit 1; fi; fi',
  'if [ -n "$backup" ] && [ -f "$dest" ]; then cp -p -- "$dest" "$dest.$$.$(date +%Y-%m-%d@%H:%M:%S)~" || exit; fi',
  'chmod "$mode" "$tmp" && { [ -z "$owner" ] || chown "$owner" "$tmp"; } && mv -f "$tmp" "$dest"',
].join('\n');

/** Where the file goes: `dest`, or the URL's file name inside it when dest ends with a slash. */
export function getUrlDest(p: GetUrlParams): string {
  return p.dest.endsWith('/') ? posix.join(p.dest, urlFilename(p.url)) : p.dest;
}

const checksumOf = (p: GetUrlParams): ChecksumParam | undefined => {
  const parsed = p.checksum === undefined ? undefined : parseChecksum(p.checksum);
  return typeof parsed === 'string' ? undefined : parsed;
};

/** The checksum file's fact, when `checksum` names one: fetched on the host, as the download is. */
const checksumFileFact = (p: GetUrlParams, url: string) => urlTextFact(url, p.timeout ?? 10, p.validate_certs !== false);

/** The digest the download must have: given, or the line of the checksum file for the URL's file name (as Ansible finds it). */
function wantedDigest(p: GetUrlParams, checksum: ChecksumParam, read: FactReader): string {
  if ('digest' in checksum) return checksum.digest;
  const fetched = read(checksumFileFact(p, checksum.url));
  if (fetched.exitCode !== 0) throw new Error(`could not download the checksum file ${checksum.url} (curl exit ${fetched.exitCode}): ${fetched.text.trim().split('\n').at(-1) ?? ''}`);
  const filename = urlFilename(p.url);
  const found = parseDigestLines(filename, fetched.text).find(([, path]) => path === filename);
  if (!found) throw new Error(`Unable to find a checksum for file '${filename}' in '${checksum.url}'`);
  const digest = cleanDigest(found[0]);
  const problem = digestProblem(checksum.algorithm, digest);
  if (problem) throw new Error(`${checksum.url}: ${problem}`);
  return digest;
}

/** What dest's digest is in the checksum's algorithm (sha256 comes with the file fact). */
const currentDigest = (dest: string, algorithm: DigestAlgorithm, read: FactReader, sha256: string | undefined) =>
  algorithm === 'sha256' ? sha256 : read(fileDigestFact(dest, algorithm)) ?? undefined;

/**
 * As Ansible's get_url: downloads on the host when the file is absent, when its digest differs
 * from `checksum` (given, or read from a checksum file the host fetches first), or always with
 * `force`; an existing file without a checksum is left as it is.
 */
export const getUrlModule: Module<GetUrlParams> = {
  name: 'get_url',
  params: {
    url: { type: 'string', required: true, pattern: /^(https?|ftp):\/\/\S+$/, patternHint: 'an http(s) or ftp URL' },
    dest: absolutePathParam('the file to write (or a directory, ending with /, to put the URL\'s file name in)'),
    checksum: {
      type: 'string',
      pattern: /^(md5|sha1|sha224|sha256|sha384|sha512):/,
      patternHint: '<algorithm>:<hex digest> or <algorithm>:<URL of a checksum file>, the algorithm one of md5, sha1, sha224, sha256, sha384, sha512',
      check: (v: string) => {
        const parsed = parseChecksum(v);
        return typeof parsed === 'string' ? parsed : undefined;
      },
      description: '<algorithm>:<hex digest> or <algorithm>:<URL of a checksum file>; md5, sha1, sha224, sha256, sha384 or sha512',
    },
    force: { type: 'boolean', default: false, description: 'download even when the file exists (without checksum)' },
    mode: modeParam,
    owner: ownerParam,
    group: groupParam,
    timeout: { type: 'integer', min: 1, default: 10, description: 'seconds to connect' },
    validate_certs: { type: 'boolean', default: true },
    headers: {
      type: 'map', fields: {},
      additional: { type: 'string', check: (v: string) => (/[\r\n]/.test(v) ? 'expected a header value without a line break (the value is not shown)' : undefined) },
      description: 'request headers, name: value (sent to curl on stdin, never on its command line)',
    },
    url_username: { type: 'string', aliases: ['username'], check: (v: string) => (/[\r\n:]/.test(v) ? 'expected a user name without ":" or a line break' : undefined), description: 'user for HTTP authentication' },
    url_password: { type: 'string', aliases: ['password'], check: (v: string) => (/[\r\n]/.test(v) ? 'expected a password without a line break (the value is not shown)' : undefined), description: 'password for HTTP authentication (sent to curl on stdin, never shown)' },
    force_basic_auth: { type: 'boolean', default: false, description: 'send basic authentication at once (curl --basic), not only when the server asks (--anyauth)' },
    http_agent: { type: 'string', default: 'ansible-httpget', description: 'the User-Agent header' },
    use_proxy: { type: 'boolean', default: true, description: 'false: ignore the proxy environment variables (curl --noproxy "*")' },
    use_netrc: { type: 'boolean', default: true, description: "credentials from the remote user's ~/.netrc when there is one (curl --netrc-optional)" },
    client_cert: { type: 'string', check: hostPathProblem, description: 'a PEM client certificate on the host (curl --cert)' },
    client_key: { type: 'string', check: hostPathProblem, description: 'its private key on the host (curl --key)' },
    backup: { type: 'boolean', default: false, description: 'copy a file that is replaced to <dest>.<pid>.<YYYY-MM-DD@HH:MM:SS>~ first, as Ansible names backups' },
    decompress: { type: 'boolean', default: true, description: 'accepted for Ansible: curl asks for no compressed transfer, so the file is the same bytes either way' },
  },
  validate: (p) => (p.headers && Object.keys(p.headers).some((k) => !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) ? [['headers', 'expected header names of letters, digits and !#$%&\'*+.^_`|~-']] : []),
  facts(p, ctx) {
    const dest = getUrlDest(p);
    const checksum = checksumOf(p);
    const facts: Fact<unknown>[] = [fileFact(dest), leftoversFact(dest, ctx)];
    if (checksum && checksum.algorithm !== 'sha256') facts.push(fileDigestFact(dest, checksum.algorithm));
    if (checksum && 'url' in checksum) facts.push(checksumFileFact(p, checksum.url));
    return facts;
  },
  plan(p, read, ctx) {
    const dest = getUrlDest(p);
    return withLeftoverRemoval(planDownload(p, dest, read, ctx), dest, read(leftoversFact(dest, ctx)));
  },
};

/** The download, or ok, from dest's state. */
function planDownload(p: GetUrlParams, dest: string, read: FactReader, ctx: ModuleContext): Plan {
  const current = read(fileFact(dest));
  if (current.type === 'directory') throw new Error(`${dest} is a directory (end dest with / to download into it)`);
  const checksum = checksumOf(p);
  const sum = checksum && wantedDigest(p, checksum, read);
  const algorithm = checksum?.algorithm ?? 'sha256';
  const wanted = { mode: p.mode, owner: p.owner, group: p.group };
  const isFile = current.type === 'file';
  const digest = isFile && sum !== undefined ? currentDigest(dest, algorithm, read, current.sha256) : undefined;
  if (isFile && !p.force && (sum === undefined || digest === sum)) {
    const changes = attributeChanges(current, wanted);
    return changes.length ? { changes } : { changes, reason: `${dest} ${sum ? `matches the ${algorithm} checksum` : 'exists'}` };
  }
  const why = !isFile ? 'absent' : p.force ? 'force' : `${algorithm} ${digest?.slice(0, 12)} is not the checksum's`;
  const mode = p.mode ?? (isFile ? current.mode! : '0644');
  const owner = p.owner !== undefined || p.group !== undefined ? `${p.owner ?? ''}${p.group !== undefined ? `:${p.group}` : ''}` : '';
  const argv = ['sh', '-c', DOWNLOAD, 'get_url', tempPathFor(dest, ctx.runId), p.url, dest, sum ?? '', mode, owner, String(p.timeout ?? 10), p.validate_certs === false ? '-k' : '', algorithm, p.backup ? '1' : '', ...curlOptions(p)];
  const config = curlConfig(p);
  const title = `download ${p.url} to ${dest} (${why})${p.backup && isFile ? ', backed up' : ''}`;
  return { changes: [{ title, commands: [config === undefined ? { argv } : { argv, stdin: config, sensitive: true }] }] };
}
