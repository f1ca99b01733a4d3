import { basename, posix } from 'node:path';
import { fileFact } from '../facts/file.js';
import { leftoversFact, tempPathFor } from '../facts/leftovers.js';
import { attributeChanges } from './file-attributes.js';
import { absolutePathParam, groupParam, modeParam, ownerParam } from './params.js';
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
};

const CHECKSUM = /^sha256:([0-9a-fA-F]{64})$/;

/**
 * curl into a temp file beside the destination (removed whatever happens), the checksum checked
 * there, then mode and owner set and the file renamed into place: dest is either as it was or the
 * whole verified download.
 */
const DOWNLOAD = [
  'tmp=$1; url=$2; dest=$3; sum=$4; mode=$5; owner=$6; timeout=$7; insecure=$8',
  'trap \'rm -f "$tmp"\' EXIT',
  'curl -fsSL $insecure --connect-timeout "$timeout" --retry 3 -o "$tmp" "$url" || exit',
  'if [ -n "$sum" ]; then got=$(sha256sum < "$tmp") || exit; got=${got%% *}',
  '  if [ "$got" != "$sum" ]; then echo "The checksum for $dest did not match $sum; it was $got." >&2; exit 1; fi; fi',
  'chmod "$mode" "$tmp" && { [ -z "$owner" ] || chown "$owner" "$tmp"; } && mv -f "$tmp" "$dest"',
].join('\n');

/** Where the file goes: `dest`, or the URL's file name inside it when dest ends with a slash. */
export function getUrlDest(p: GetUrlParams): string {
  return p.dest.endsWith('/') ? posix.join(p.dest, basename(new URL(p.url).pathname) || 'index.html') : p.dest;
}

/**
 * As Ansible's get_url: downloads on the host when the file is absent, when its sha256 differs
 * from `checksum`, or always with `force`; an existing file without a checksum is left as it is.
 */
export const getUrlModule: Module<GetUrlParams> = {
  name: 'get_url',
  params: {
    url: { type: 'string', required: true, pattern: /^(https?|ftp):\/\/\S+$/, patternHint: 'an http(s) or ftp URL' },
    dest: absolutePathParam('the file to write (or a directory, ending with /, to put the URL\'s file name in)'),
    checksum: { type: 'string', pattern: CHECKSUM, patternHint: '"sha256:" and 64 hex digits' },
    force: { type: 'boolean', default: false, description: 'download even when the file exists (without checksum)' },
    mode: modeParam,
    owner: ownerParam,
    group: groupParam,
    timeout: { type: 'integer', min: 1, default: 10, description: 'seconds to connect' },
    validate_certs: { type: 'boolean', default: true },
  },
  facts: (p, ctx) => [fileFact(getUrlDest(p)), leftoversFact(getUrlDest(p), ctx)],
  plan(p, read, ctx) {
    const dest = getUrlDest(p);
    return withLeftoverRemoval(planDownload(p, dest, read, ctx), dest, read(leftoversFact(dest, ctx)));
  },
};

/** The download, or ok, from dest's state. */
function planDownload(p: GetUrlParams, dest: string, read: FactReader, ctx: ModuleContext): Plan {
  const current = read(fileFact(dest));
  if (current.type === 'directory') throw new Error(`${dest} is a directory (end dest with / to download into it)`);
  const sum = CHECKSUM.exec(p.checksum ?? '')?.[1]?.toLowerCase();
  const wanted = { mode: p.mode, owner: p.owner, group: p.group };
  const isFile = current.type === 'file';
  if (isFile && !p.force && (sum === undefined || current.sha256 === sum)) {
    const changes = attributeChanges(current, wanted);
    return changes.length ? { changes } : { changes, reason: `${dest} ${sum ? 'matches the checksum' : 'exists'}` };
  }
  const why = !isFile ? 'absent' : p.force ? 'force' : `sha256 ${current.sha256?.slice(0, 12)} is not the checksum's`;
  const mode = p.mode ?? (isFile ? current.mode! : '0644');
  const owner = p.owner !== undefined || p.group !== undefined ? `${p.owner ?? ''}${p.group !== undefined ? `:${p.group}` : ''}` : '';
  const argv = ['sh', '-c', DOWNLOAD, 'get_url', tempPathFor(dest, ctx.runId), p.url, dest, sum ?? '', mode, owner, String(p.timeout ?? 10), p.validate_certs === false ? '-k' : ''];
  return { changes: [{ title: `download ${p.url} to ${dest} (${why})`, commands: [{ argv }] }] };
}
