import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { bundledPlaybooks, packageRoot } from '../paths.js';
import type { PositionIndex } from './positions.js';

/**
 * The bundled playbooks, parsed at build time (`npm run build` writes dist/bundled-yaml.json):
 * parsing their 40 KB of YAML with positions took about 100 ms of every run. An entry is used
 * only for the exact text it was made from (sha256), so an edited playbook is parsed as usual.
 */
const TABLE = `${packageRoot}dist/bundled-yaml.json`;

type Pos = [line: number, col: number] | null;
interface Entry {
  sha256: string;
  root: string;
  value: unknown;
  positions: Array<[path: string, key: Pos, value: Pos]>;
}

let table: Record<string, Entry> | undefined;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The build-time parse of a bundled playbook with this exact text, if there is one. */
export function precompiled(file: string, text: string, root: string): { value: unknown; positions: PositionIndex } | undefined {
  if (!file.startsWith(bundledPlaybooks)) return undefined;
  if (table === undefined) {
    try {
      table = JSON.parse(readFileSync(TABLE, 'utf8')) as Record<string, Entry>;
    } catch {
      table = {};
    }
  }
  const entry = table[relative(packageRoot, file)];
  if (!entry || entry.root !== root || entry.sha256 !== sha256(text)) return undefined;
  const at = (p: Pos) => (p ? { file, line: p[0], col: p[1] } : undefined);
  const positions: PositionIndex = new Map(entry.positions.map(([path, key, value]) => [path, { key: at(key), value: at(value)! }]));
  return { value: structuredClone(entry.value), positions };
}

/** JSON keeps these values as they are (no NaN, Infinity or -0, which YAML can write). */
function jsonSafe(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every(jsonSafe);
  if (value && typeof value === 'object') return Object.values(value).every(jsonSafe);
  return value === null || typeof value === 'string' || typeof value === 'boolean';
}

/** Writes the table for every bundled playbook, parsed by `parse` (the loader's own parser). */
export function writePrecompiled(parse: (text: string, file: string, root: string) => { value: unknown; positions: PositionIndex }): number {
  const out: Record<string, Entry> = {};
  for (const name of readdirSync(bundledPlaybooks).filter((n) => n.endsWith('.yml')).sort()) {
    const file = `${bundledPlaybooks}${name}`;
    const text = readFileSync(file, 'utf8');
    const root = 'plays';
    const { value, positions } = parse(text, file, root);
    if (!jsonSafe(value)) continue;
    const pos = (p?: { line?: number; col?: number }): Pos => (p ? [p.line ?? 1, p.col ?? 1] : null);
    out[relative(packageRoot, file)] = { sha256: sha256(text), root, value, positions: [...positions].map(([path, p]) => [path, pos(p.key), pos(p.value)]) };
  }
  writeFileSync(TABLE, `${JSON.stringify(out)}\n`);
  return Object.keys(out).length;
}
