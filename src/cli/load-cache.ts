/**
 * The loaded and validated run (load-run.ts), kept between runs: an unchanged inventory and
 * unchanged playbooks are not parsed, merged and validated again. On 100 hosts that is most of
 * the CLI's own time in a no-op re-run.
 *
 * An entry is used only when
 *   - it was made by this very CLI code (the version and every file of the running code: size and
 *     mtime), for the same inventory and playbook paths, the same --limit, --tags, --skip-tags,
 *     --start-at-task and -e, the same working directory, user and BOOTSTRAP_* / PATH / HOME /
 *     XDG_CACHE_HOME environment (its key), and
 *   - every file system answer the load got is still the same (input-record.ts): the sha256 of
 *     every file it read (inventory, group_vars/, host_vars/, playbooks, task files, roles, vars
 *     files, templates, -e @files), what it found absent or present, the listings it read.
 * Validation's task expansions are kept with it (playbook/expansions.ts), in the same structured
 * clone as the inventory and plays, so the run reuses those whose reads still hold, as it reuses
 * them within one process. Only loads that passed validation are kept. An entry that cannot be read, is cut short, fails
 * its checksum or no longer matches is loaded afresh and rewritten, so a stale or damaged cache can
 * cost time but never change what a run does. BOOTSTRAP_LOAD_CACHE=off turns it off.
 *
 * Entries live in <inventory dir>/.bootstrap/cache/ (beside the secrets), one per key, 0600.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import type { Inventory } from '../inventory/types.js';
import { keepNewest } from '../keep-newest.js';
import { packageVersion } from '../paths.js';
import type { Play } from '../playbook/types.js';
import type { Expansions, KeptExpansion } from '../playbook/expansions.js';
import type { HostFacts } from '../facts/types.js';
import { adoptPlaceholderFacts, placeholderFactsHandedOut } from '../playbook/placeholder-facts.js';
import { positionsOf, rememberPositions, type PositionIndex } from '../yaml/positions.js';
import { firstChange, recordInputs, type Observation } from './input-record.js';
import type { Loaded, RunSelection } from './load-run.js';

/** Bumped whenever what an entry holds changes shape. */
const FORMAT = 2;
const MAGIC = Buffer.from(`bootstrap-load-cache ${FORMAT}\n`);
export const LOAD_CACHE_ENV = 'BOOTSTRAP_LOAD_CACHE';

/** What a load with the cache did, for -v: reused, loaded (and why), and whether it was kept. */
export interface CacheNote {
  reused: boolean;
  note: string;
}

interface Entry {
  key: string;
  observations: Observation[];
  inventory: Omit<Inventory, 'locate' | 'locateGroup'>;
  plays: Play[];
  hosts: string[];
  artifactNotes: string[];
  positions: Array<[string, PositionIndex]>;
  /** validation's task expansions the run can reuse, and the placeholder facts they were made with */
  expansions: KeptExpansion[];
  placeholderFacts: Array<[string, HostFacts]>;
}

/** The code this CLI runs: its version and every .js file of it (the bundle, or dist/src), by size and mtime. */
let identity: string | undefined;
export function codeIdentity(): string {
  if (identity !== undefined) return identity;
  const here = fileURLToPath(new URL('.', import.meta.url));
  const root = here.includes('/dist/bundle/') || !here.endsWith('/cli/') ? here : fileURLToPath(new URL('..', import.meta.url));
  const hash = createHash('sha256').update(`${packageVersion()}\0${process.version}\0`);
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.js')) {
        const s = statSync(path);
        hash.update(`${path}\0${s.size}\0${s.mtimeMs}\0`);
      }
    }
  };
  walk(root);
  return (identity = hash.digest('hex'));
}

const ENV_NAMES = ['PATH', 'HOME', 'XDG_CACHE_HOME'];

function keyOf(inventoryFile: string, playbooks: string[], selection: RunSelection): string {
  const env = Object.entries(process.env)
    .filter(([name]) => name.startsWith('BOOTSTRAP_') || ENV_NAMES.includes(name))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  const { limit, tags, skipTags, startAtTask, extraVars } = selection;
  const parts = { format: FORMAT, code: codeIdentity(), inventory: resolve(inventoryFile), playbooks: playbooks.map((p) => resolve(p)), selection: { limit, tags, skipTags, startAtTask, extraVars }, cwd: process.cwd(), uid: process.getuid?.(), env };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** Where the entry for `key` lives. */
export function cacheFileOf(inventoryFile: string, key: string): string {
  return join(dirname(resolve(inventoryFile)), '.bootstrap', 'cache', `load-${key.slice(0, 32)}`);
}

/** The entry in `file`, if it is whole (magic, checksum) and made for `key`; otherwise why not. */
function readEntry(file: string, key: string): Entry | string {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no cached load yet' : `cache unreadable (${(error as Error).message})`;
  }
  const body = data.subarray(MAGIC.length + 32);
  if (!data.subarray(0, MAGIC.length).equals(MAGIC) || !createHash('sha256').update(body).digest().equals(data.subarray(MAGIC.length, MAGIC.length + 32))) return 'cache damaged';
  try {
    const entry = deserialize(body) as Entry;
    return entry.key === key ? entry : 'cache made for other inputs';
  } catch {
    return 'cache damaged';
  }
}

function writeEntry(file: string, entry: Entry): void {
  const body = serialize(entry);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, Buffer.concat([MAGIC, createHash('sha256').update(body).digest(), body]));
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  keepNewest(dirname(file), KEPT_LOADS, (name) => name.startsWith('load-') && !name.endsWith('.tmp'));
}

function touch(file: string): void {
  const now = new Date();
  try {
    utimesSync(file, now, now);
  } catch {
    // pruned by another run meanwhile: it was read already
  }
}

/** How many loads stay kept (the ones used last: a reused one is touched): every change of the CLI or of the run's options makes another. */
const KEPT_LOADS = 8;

/**
 * `load` (loadRun for these arguments), or its result as an earlier run left it when nothing it
 * depends on changed. A reused inventory finds its source positions (for error messages) by
 * loading the inventory again, the first time one is asked for.
 */
export function cachedLoad(
  inventoryFile: string,
  playbooks: string[],
  selection: RunSelection,
  load: () => Loaded,
  reloadInventory: () => Inventory,
  expansions?: Expansions,
): { loaded: Loaded; cache: CacheNote } {
  if (process.env[LOAD_CACHE_ENV] === 'off') return { loaded: load(), cache: { reused: false, note: `load cache off (${LOAD_CACHE_ENV}=off)` } };
  const key = keyOf(inventoryFile, playbooks, selection);
  const file = cacheFileOf(inventoryFile, key);
  const found = readEntry(file, key);
  const changed = typeof found === 'string' ? found : firstChange(found.observations);
  if (typeof found !== 'string' && changed === undefined) {
    for (const [path, index] of found.positions) if (!positionsOf(path)) rememberPositions(path, index);
    let full: Inventory | undefined;
    const source = () => (full ??= reloadInventory());
    const inventory: Inventory = { ...found.inventory, locate: (host, path) => source().locate(host, path), locateGroup: (group) => source().locateGroup?.(group) };
    adoptPlaceholderFacts(inventory, found.placeholderFacts);
    expansions?.adopt(found.expansions);
    touch(file);
    return { loaded: { inventory, plays: found.plays, hosts: found.hosts, artifactNotes: found.artifactNotes }, cache: { reused: true, note: `inputs unchanged: reused the validated load in ${file}` } };
  }
  const recorded = recordInputs(load);
  const { locate: _locate, locateGroup: _group, ...inventory } = recorded.result.inventory;
  if (recorded.unreusable) return { loaded: recorded.result, cache: { reused: false, note: `${changed}; not cached: the load called ${recorded.unreusable}` } };
  const read = new Set(recorded.observations.filter((o) => o.kind === 'read').map((o) => o.path));
  const positions = [...read].flatMap((path): Array<[string, PositionIndex]> => {
    const index = positionsOf(path);
    return index ? [[path, index]] : [];
  });
  try {
    const placeholderFacts = placeholderFactsHandedOut(recorded.result.inventory);
    writeEntry(file, { key, observations: recorded.observations, inventory, plays: recorded.result.plays, hosts: recorded.result.hosts, artifactNotes: recorded.result.artifactNotes, positions, expansions: expansions?.kept() ?? [], placeholderFacts });
    return { loaded: recorded.result, cache: { reused: false, note: `${changed}: loaded and validated, kept in ${file}` } };
  } catch (error) {
    return { loaded: recorded.result, cache: { reused: false, note: `${changed}: loaded and validated; not kept (${(error as Error).message})` } };
  }
}
