import { posix } from 'node:path';
import { fileDigestFact, type DigestAlgorithm } from '../facts/checksum.js';
import { HTTP_FETCH, urlTextFact } from '../facts/http-fetch.js';
import { fileFact } from '../facts/file.js';
import type { Fact } from '../facts/types.js';
import { cleanDigest, digestProblem, parseChecksum, parseDigestLines, urlFilename, type ChecksumParam } from './checksum.js';
import { leftoversFact, tempPathFor } from '../facts/leftovers.js';
import { attributeChanges } from './file-attributes.js';
import { absolutePathParam, groupParam, hostPathProblem, modeParam, ownerParam } from './params.js';
import type { FactReader } from '../facts/types.js';
import { httpRequest, type HttpOptions } from './http-request.js';
import type { Module, ModuleContext, Plan } from './types.js';
import { withLeftoverRemoval } from './write-file.js';

export type GetUrlParams = HttpOptions & {
  url: string;
  dest: string;
  checksum?: string;
  force?: boolean;
  mode?: string;
  owner?: string;
  group?: string;
  backup?: boolean;
  decompress?: boolean;
  tmp_dest?: string;
  use_gssapi?: boolean;
};

/**
 * curl into a staging file (beside dest, or in tmp_dest; removed whatever happens), the checksum
 * checked there, then the file moved beside dest when staged elsewhere, mode and owner set, and
 * renamed into place: dest is either as it was or the whole verified download. The tagged curl
 * config (headers, credentials) comes on stdin, never on the command line.
 */
const DOWNLOAD = [
  'stage=$1; tmp=$2; url=$3; dest=$4; sum=$5; mode=$6; owner=$7; algorithm=$8; backup=$9; hascfg=${10}; shift 10',
  'trap \'rm -f "$stage" "$tmp"\' EXIT',
  'cfg=; [ -z "$hascfg" ] || cfg=$(cat)',
  HTTP_FETCH,
  'fetch "$stage" "$url" "$@" || exit',
  'if [ -n "$sum" ]; then got=$("${algorithm}sum" < "$stage") || exit; got=${got%% *}',
  '  if [ "$got" != "$sum" ]; then echo "The checksum for $dest did not match $sum; it was $got." >&2; exit 1; fi; fi',
  'if [ -n "$backup" ] && [ -f "$dest" ]; then cp -p -- "$dest" "$dest.$$.$(date +%Y-%m-%d@%H:%M:%S)~" || exit; fi',
  '[ "$stage" = "$tmp" ] || mv -f -- "$stage" "$tmp" || exit',
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

/** The checksum file's fact, when `checksum` names one: fetched on the host with the task's request options, as the download is (and as Ansible fetches it). */
const checksumFileFact = (p: GetUrlParams, url: string) => urlTextFact(url, httpRequest(p));

/** Where the download is staged: beside dest (the final move is then a rename), or in tmp_dest. */
const stagingPath = (p: GetUrlParams, dest: string, runId: string) => tempPathFor(p.tmp_dest === undefined ? dest : posix.join(p.tmp_dest, posix.basename(dest)), runId);

/** tmp_dest must be an existing directory, as Ansible's url_get requires (a link is taken as one). */
function tmpDestProblem(p: GetUrlParams, read: FactReader): string | undefined {
  if (p.tmp_dest === undefined) return undefined;
  const state = read(fileFact(p.tmp_dest));
  if (state.type === 'directory' || state.type === 'link') return undefined;
  return state.type === 'absent' ? `${p.tmp_dest} directory does not exist.` : `${p.tmp_dest} is a file but should be a directory.`;
}

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
    tmp_dest: { type: 'string', check: hostPathProblem, description: 'an existing directory on the host to download into before the file is moved to dest (default: beside dest, so the move is a rename)' },
    ciphers: { type: 'list', items: { type: 'string', pattern: /^[A-Za-z0-9_+!@=.:-]+$/, patternHint: 'an OpenSSL cipher list entry, e.g. ECDHE-RSA-AES256-GCM-SHA384' }, description: 'the TLS ciphers to offer, joined with ":" (curl --ciphers; TLS 1.2 and older)' },
    unredirected_headers: { type: 'list', items: { type: 'string', pattern: /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, patternHint: 'a header name' }, description: 'names of headers (any case) sent with the first request only, not after a redirect; Authorization here keeps forced basic auth off redirected requests' },
    use_gssapi: {
      type: 'boolean', default: false,
      check: (v: boolean) => (v ? 'not supported: bootstrap downloads with curl on the host and does not drive its Negotiate (Kerberos) authentication; use_gssapi: false is accepted' : undefined),
      description: 'false only: see the message for true',
    },
  },
  validate: (p) => (p.headers && Object.keys(p.headers).some((k) => !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) ? [['headers', 'expected header names of letters, digits and !#$%&\'*+.^_`|~-']] : []),
  facts(p, ctx) {
    const dest = getUrlDest(p);
    const checksum = checksumOf(p);
    const facts: Fact<unknown>[] = [fileFact(dest), leftoversFact(dest, ctx)];
    if (p.tmp_dest !== undefined) facts.push(fileFact(p.tmp_dest), leftoversFact(posix.join(p.tmp_dest, posix.basename(dest)), ctx));
    if (checksum && checksum.algorithm !== 'sha256') facts.push(fileDigestFact(dest, checksum.algorithm));
    if (checksum && 'url' in checksum) facts.push(checksumFileFact(p, checksum.url));
    return facts;
  },
  plan(p, read, ctx) {
    const dest = getUrlDest(p);
    const plan = withLeftoverRemoval(planDownload(p, dest, read, ctx), dest, read(leftoversFact(dest, ctx)));
    if (p.tmp_dest === undefined) return plan;
    const staged = posix.join(p.tmp_dest, posix.basename(dest));
    return withLeftoverRemoval(plan, staged, read(leftoversFact(staged, ctx)));
  },
};

/** The download, or ok, from dest's state. */
function planDownload(p: GetUrlParams, dest: string, read: FactReader, ctx: ModuleContext): Plan {
  const current = read(fileFact(dest));
  if (current.type === 'directory') throw new Error(`${dest} is a directory (end dest with / to download into it)`);
  const checksum = checksumOf(p);
  // Ansible stages the checksum file in tmp_dest too, so a bad tmp_dest fails then, and before any download
  const tmpProblem = tmpDestProblem(p, read);
  if (tmpProblem && checksum && 'url' in checksum) throw new Error(tmpProblem);
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
  if (tmpProblem) throw new Error(tmpProblem);
  const request = httpRequest(p);
  const config = request.config || undefined;
  const argv = ['sh', '-c', DOWNLOAD, 'get_url', stagingPath(p, dest, ctx.runId), tempPathFor(dest, ctx.runId), p.url, dest, sum ?? '', mode, owner, algorithm, p.backup ? '1' : '', config ? '1' : '', ...request.args];
  const title = `download ${p.url} to ${dest} (${why})${p.backup && isFile ? ', backed up' : ''}`;
  return { changes: [{ title, commands: [config === undefined ? { argv } : { argv, stdin: config, sensitive: true }] }] };
}
