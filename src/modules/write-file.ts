import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import type { ArgvCommand } from '../argv.js';
import type { FileState } from '../facts/file.js';
import { MAX_CONTENT_BYTES, normalizeMode } from '../facts/file.js';
import { tempPathFor } from '../facts/leftovers.js';
import { attributeChanges } from './file-attributes.js';
import type { Change, FileDiff, Plan } from './types.js';

export interface FileWrite {
  path: string;
  content: string | Buffer;
  mode?: string;
  owner?: string;
  group?: string;
  /** shell command with %s for the temp file, run before the file is moved into place */
  validate?: string;
  /** content is a secret: only on stdin, never shown */
  sensitive?: boolean;
  /** the run's id (ModuleContext.runId), part of the temp file's name */
  runId: string;
}

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/**
 * The host side of an upload: the first line of stdin says how many bytes follow and their
 * sha256; cat writes the rest into the temp file "$1" (created under umask 077: a secret is never
 * readable by others), which is then checked against that line before it gets mode "$2". A cut
 * connection ends stdin early as if it were whole (cat sees EOF), so the check is what keeps a
 * short file from being renamed into place. cat reads fd 0 itself: `install /dev/stdin` cannot
 * open a socket stdin (ENXIO), which local child processes get. "$3", when set, is a directory
 * made first (0700). No `!`: see loginShellLine.
 */
export const RECEIVE_SCRIPT = [
  'umask 077 && { [ -z "$3" ] || mkdir -p -- "$3"; } && IFS=" " read -r size sum && cat > "$1" || exit 1',
  'n=$(stat -c %s -- "$1") || exit 1',
  '[ "$n" = "$size" ] || { echo "$1: $n of $size bytes arrived (the upload was cut short)" >&2; exit 1; }',
  's=$(sha256sum < "$1") || exit 1',
  '[ "${s%% *}" = "$sum" ] || { echo "$1: sha256 ${s%% *} differs from the $sum sent" >&2; exit 1; }',
  'chmod "$2" "$1"',
].join('\n');

/**
 * Uploads `content` into `tmp` with `mode`, verified by size and sha256 on the host (the header
 * line travels on stdin with the content, so a secret's hash is never on a command line), plus
 * the cleanup that removes `tmp` when the change fails or is stopped. `makeDir`: tmp's directory
 * is created first when missing.
 */
export function uploadCommands(tmp: string, content: string | Buffer, mode: string, opts: { sensitive?: boolean; makeDir?: boolean } = {}): ArgvCommand[] {
  const body = typeof content === 'string' ? Buffer.from(content) : content;
  const sensitive = opts.sensitive;
  return [
    {
      argv: ['sh', '-c', RECEIVE_SCRIPT, 'sh', tmp, normalizeMode(mode), ...(opts.makeDir ? [dirname(tmp)] : [])],
      stdin: Buffer.concat([Buffer.from(`${body.length} ${sha256(body)}\n`), body]),
      ...(sensitive ? { sensitive: true } : {}),
    },
    { argv: ['rm', '-f', '--', tmp], onFailure: true },
  ];
}

/**
 * The temp file is uploaded and verified (uploadCommands), then gets its owner; the validation
 * runs on it, then mv -f renames it into place. Whatever fails, the temp file is removed.
 */
export function writeFileCommands(write: FileWrite): ArgvCommand[] {
  const tmp = tempPathFor(write.path, write.runId);
  const commands = uploadCommands(tmp, write.content, write.mode ?? '0644', { sensitive: write.sensitive });
  const owner = `${write.owner ?? ''}${write.group !== undefined ? `:${write.group}` : ''}`;
  if (owner) commands.push({ argv: ['chown', owner, tmp] });
  if (write.validate) commands.push({ argv: ['sh', '-c', write.validate.replaceAll('%s', '"$1"'), 'sh', tmp] });
  commands.push({ argv: ['mv', '-f', tmp, write.path] });
  return commands;
}

/** `plan` with, first, the removal of the temp files that earlier runs left beside `target` (leftoversFact), when there are any. */
export function withLeftoverRemoval(plan: Plan, target: string, leftovers: readonly string[]): Plan {
  if (leftovers.length === 0) return plan;
  const removal: Change = { title: `remove ${leftovers.length} temp file(s) left beside ${target} by runs that ended`, commands: [{ argv: ['rm', '-f', '--', ...leftovers] }] };
  return { changes: [removal, ...plan.changes] };
}

function asText(content: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch {
    return null;
  }
}

/**
 * before/after of a file write. null means absent; when the content is hidden, a present
 * side is '' and `hidden` says why. The before text of an existing file is left unread
 * (`beforeUnread`) unless `current.content` was gathered; withBefore() fills it in.
 */
export function fileDiff(current: FileState, after: string | Buffer | null, sensitive = false): FileDiff {
  const path = current.path;
  const exists = current.type === 'file';
  if (sensitive) return { path, before: exists ? '' : null, after: after === null ? null : '', hidden: 'secret' };
  const afterText = after === null ? null : typeof after === 'string' ? after : asText(after);
  if (after !== null && afterText === null) return { path, before: exists ? '' : null, after: '', hidden: 'binary' };
  if (!exists) return { path, before: null, after: afterText };
  if ((current.size ?? 0) > MAX_CONTENT_BYTES) return { path, before: '', after: afterText, hidden: 'large' };
  if (current.content === undefined) return { path, before: '', after: afterText, beforeUnread: true };
  return withBefore({ path, before: '', after: afterText, beforeUnread: true }, current.content);
}

/** The diff with its before side read from `content` (null: the file could not be read). */
export function withBefore(diff: FileDiff, content: Buffer | null): FileDiff {
  const { beforeUnread: _, ...rest } = diff;
  const beforeText = content === null ? null : asText(content);
  if (beforeText === null) return { ...rest, before: '', hidden: 'binary' };
  return { ...rest, before: beforeText };
}

/** stat prints UNKNOWN for ids without a name; install -o/-g accept the number. */
function accountOf(name: string | undefined, id: number | undefined): string | undefined {
  return name === 'UNKNOWN' && id !== undefined ? String(id) : name;
}

/**
 * Plans writing `write.content` to `write.path`: one write change when the content differs
 * (mode/owner default to the existing file's, else 0644 and the connecting user), or the
 * chmod/chown changes when only attributes differ. An empty list means up to date.
 */
export function planFileWrite(write: FileWrite, current: FileState): Change[] {
  if (current.type === 'directory') throw new Error(`${write.path} is a directory, expected a file`);
  if (current.type === 'other') throw new Error(`${write.path} exists and is not a regular file`);
  const isFile = current.type === 'file';
  if (isFile && current.sha256 === sha256(write.content)) {
    return attributeChanges(current, { mode: write.mode, owner: write.owner, group: write.group });
  }
  const why = current.type === 'absent' ? 'absent' : current.type === 'link' ? 'is a symlink' : 'content differs';
  const resolved: FileWrite = {
    ...write,
    mode: write.mode ?? (isFile ? current.mode : undefined),
    owner: write.owner ?? (isFile ? accountOf(current.owner, current.uid) : undefined),
    group: write.group ?? (isFile ? accountOf(current.group, current.gid) : undefined),
  };
  return [{
    title: `${current.type === 'absent' ? 'create' : 'update'} ${write.path} (${why})`,
    commands: writeFileCommands(resolved),
    diff: fileDiff(current, write.content, write.sensitive),
  }];
}
