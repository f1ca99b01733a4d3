import type { SourcePos } from '../errors.js';
import { ancestors } from './path.js';

export interface NodePos {
  /** where the key of a map entry is (absent for list items and the root) */
  key?: SourcePos;
  /** where the value starts */
  value: SourcePos;
}

export type PositionIndex = Map<string, NodePos>;

/** Positions of every loaded YAML file, so errors found after loading (rendering, planning) can still point into the file. */
const loaded = new Map<string, PositionIndex>();

export function rememberPositions(file: string, index: PositionIndex): void {
  loaded.set(file, index);
}

export function positionsOf(file: string): PositionIndex | undefined {
  return loaded.get(file);
}

/** `path` is found where `writtenPath` was written (a parameter written under an alias, renamed on loading). */
export function rememberWrittenAt(file: string, path: string, writtenPath: string): void {
  const index = loaded.get(file);
  const found = index?.get(writtenPath);
  if (index && found && !index.has(path)) index.set(path, found);
}

/**
 * Position of `path` in an index, or of its closest ancestor that has one.
 * `part` "key" points at the key of a map entry (for unknown keys), "value" at the value.
 */
export function lookup(index: PositionIndex | undefined, path: string, part: 'key' | 'value' = 'value'): SourcePos | undefined {
  if (!index) return undefined;
  for (const p of ancestors(path)) {
    const found = index.get(p);
    if (found) return (part === 'key' && found.key) || found.value;
  }
  return undefined;
}

/** Position of a key path in a loaded file, falling back to `fallback` (or the file itself). */
export function positionIn(file: string, path: string, part: 'key' | 'value' = 'value', fallback?: SourcePos): SourcePos {
  return lookup(loaded.get(file), path, part) ?? fallback ?? { file };
}
