import { createHash } from 'node:crypto';
import { basename, dirname, posix } from 'node:path';
import type { Command } from '../command.js';
import type { FileState } from '../facts/file.js';
import { MAX_CONTENT_BYTES, normalizeMode } from '../facts/file.js';
import { attributeChanges } from './file-attributes.js';
import type { Change, FileDiff } from './types.js';

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

/** Temp path in the same directory, so the final mv is an atomic rename; unique per run. */
export function tempPathFor(path: string, runId: string): string {
  return posix.join(dirname(path), `.${basename(path)}.bootstrap-tmp-${runId}`);
}

/**
 * The content goes on stdin into a temp file created under umask 077 (a secret is never
 * readable by others), which then gets its mode and owner; the validation runs on the temp
 * file (removed when it fails), then mv -f renames it into place. cat reads fd 0 itself:
 * `install /dev/stdin` cannot open a socket stdin (ENXIO), which local child processes get.
 */
export function writeFileCommands(write: FileWrite): Command[] {
  const tmp = tempPathFor(write.path, write.runId);
  const install: Command = {
    argv: ['sh', '-c', 'umask 077 && cat > "$1" && chmod "$2" "$1"', 'sh', tmp, normalizeMode(write.mode ?? '0644')],
    stdin: write.content,
    ...(write.sensitive ? { sensitive: true } : {}),
  };
  const owner = `${write.owner ?? ''}${write.group !== undefined ? `:${write.group}` : ''}`;
  const commands = [install];
  if (owner) commands.push({ argv: ['chown', owner, tmp] });
  if (write.validate) {
    const check = write.validate.replaceAll('%s', '"$1"');
    commands.push({ argv: ['sh', '-c', `${check} || { rc=$?; rm -f -- "$1"; exit $rc; }`, 'sh', tmp] });
  }
  commands.push({ argv: ['mv', '-f', tmp, write.path] });
  return commands;
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
