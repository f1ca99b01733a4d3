import { fileContentFact } from '../facts/file.js';
import type { FactReader, ScriptFact } from '../facts/types.js';
import type { Change } from './types.js';
import { withBefore } from './write-file.js';

/**
 * Planning compares hashes only; the before side of a diff is read from the host afterwards,
 * and only when the run shows diffs: these are the facts to gather for it (one round trip).
 */
export function unreadBeforeFacts(changes: readonly Change[]): ScriptFact<Buffer | null>[] {
  return changes.filter((c) => c.diff?.beforeUnread).map((c) => fileContentFact(c.diff!.path));
}

/** The changes with the before side of their diffs filled in from the gathered content facts. */
export function withBeforeRead(changes: readonly Change[], read: FactReader): Change[] {
  return changes.map((c) => (c.diff?.beforeUnread ? { ...c, diff: withBefore(c.diff, read(fileContentFact(c.diff.path))) } : c));
}
