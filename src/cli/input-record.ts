/**
 * What a synchronous computation read from the file system, so that its result can be reused
 * while every answer it got would still be the same (load-cache.ts).
 *
 * While `recordInputs(fn)` runs fn, node:fs's synchronous functions are wrapped (and ESM named
 * imports re-bound with syncBuiltinESMExports), so every read is seen wherever it happens: the
 * inventory and its group_vars/ and host_vars/, playbooks, task files, roles, vars files,
 * templates (EJS includes too), local files modules check, the laptop's artifact cache. fn is
 * synchronous, so nothing else runs meanwhile. What was read is kept as its sha256; what was only
 * stat'ed, opened or listed as its metadata or listing; existence as a boolean. A call that writes,
 * or that is not one of these, makes the result not reusable (`unreusable` says which).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

export type Observation =
  | { kind: 'read'; path: string; sha256: string }
  | { kind: 'exists'; path: string; value: boolean }
  | { kind: 'stat'; path: string; follow: boolean; value: string }
  | { kind: 'dir'; path: string; value: string }
  | { kind: 'realpath'; path: string; value: string }
  | { kind: 'access'; path: string; mode: number; value: boolean };

export interface Recorded<T> {
  result: T;
  observations: Observation[];
  /** why the result may not be reused (a write, or an fs call of a kind not recorded) */
  unreusable?: string;
}

/** fs functions as they were before any wrapping: what replay() asks. */
const real = {
  readFileSync: fs.readFileSync,
  existsSync: fs.existsSync,
  statSync: fs.statSync,
  lstatSync: fs.lstatSync,
  readdirSync: fs.readdirSync,
  realpathSync: fs.realpathSync,
  accessSync: fs.accessSync,
};

/** Only what these do with a path or fd is followed; readSync/fstatSync/closeSync read what openSync opened. */
const PASS_THROUGH = new Set(['readSync', 'fstatSync', 'closeSync', 'readvSync']);

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function errorCode(error: unknown): string {
  return `error:${(error as NodeJS.ErrnoException).code ?? 'unknown'}`;
}

/** Type, size, times, inode and mode: a change of content or kind changes it (false changes only cost a reload). */
function statSignature(path: string, follow: boolean): string {
  try {
    const s = (follow ? real.statSync : real.lstatSync)(path, { bigint: true });
    return `${s.mode}:${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino}:${s.dev}`;
  } catch (error) {
    return errorCode(error);
  }
}

function listing(path: string): string {
  try {
    return real.readdirSync(path, { withFileTypes: true }).map((d) => `${d.name}\0${d.isDirectory() ? 'd' : d.isFile() ? 'f' : d.isSymbolicLink() ? 'l' : 'o'}`).sort().join('\0\0');
  } catch (error) {
    return errorCode(error);
  }
}

function contentHash(path: string): string {
  try {
    return sha256(real.readFileSync(path));
  } catch (error) {
    return errorCode(error);
  }
}

function realPath(path: string): string {
  try {
    return real.realpathSync(path);
  } catch (error) {
    return errorCode(error);
  }
}

function accessible(path: string, mode: number): boolean {
  try {
    real.accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** A path argument as a string; undefined for a file descriptor. */
function pathOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg instanceof URL) return arg.pathname;
  if (Buffer.isBuffer(arg)) return arg.toString();
  return undefined;
}

type AnyFn = (...args: unknown[]) => unknown;

/** Runs fn (synchronous) with node:fs observed, and returns its result with what it read. */
export function recordInputs<T>(fn: () => T): Recorded<T> {
  const observations: Observation[] = [];
  let unreusable: string | undefined;
  const target = fs as unknown as Record<string, AnyFn>;
  const saved = new Map<string, AnyFn>();
  // fs's own functions call each other (readFileSync opens through openSync): only the outermost call is the load's
  let depth = 0;
  const wrap = (name: string, replacement: AnyFn) => {
    const own = target[name]!;
    saved.set(name, own);
    target[name] = (...args: unknown[]) => {
      if (depth > 0) return own(...args);
      depth++;
      try {
        return replacement(...args);
      } finally {
        depth--;
      }
    };
  };
  const original = (name: string) => saved.get(name)!;

  wrap('readFileSync', (file, options) => {
    const path = pathOf(file);
    const flag = typeof options === 'object' && options !== null ? (options as { flag?: string }).flag : undefined;
    if (path === undefined || (flag !== undefined && flag !== 'r')) return original('readFileSync')(file, options);
    const encoding = typeof options === 'string' ? (options as BufferEncoding) : typeof options === 'object' && options !== null ? (options as { encoding?: BufferEncoding | null }).encoding : undefined;
    let data: Buffer;
    try {
      data = original('readFileSync')(file) as Buffer;
    } catch (error) {
      observations.push({ kind: 'read', path, sha256: errorCode(error) });
      throw error;
    }
    observations.push({ kind: 'read', path, sha256: sha256(data) });
    return encoding ? data.toString(encoding) : data;
  });
  wrap('existsSync', (file) => {
    const value = original('existsSync')(file) as boolean;
    const path = pathOf(file);
    if (path !== undefined) observations.push({ kind: 'exists', path, value });
    return value;
  });
  for (const [name, follow] of [['statSync', true], ['lstatSync', false]] as const) {
    wrap(name, (file, ...rest) => {
      const path = pathOf(file);
      if (path !== undefined) observations.push({ kind: 'stat', path, follow, value: statSignature(path, follow) });
      return original(name)(file, ...rest);
    });
  }
  wrap('readdirSync', (file, ...rest) => {
    const path = pathOf(file);
    if (path !== undefined) observations.push({ kind: 'dir', path, value: listing(path) });
    return original('readdirSync')(file, ...rest);
  });
  wrap('realpathSync', (file, ...rest) => {
    const path = pathOf(file);
    if (path !== undefined) observations.push({ kind: 'realpath', path, value: realPath(path) });
    return original('realpathSync')(file, ...rest);
  });
  wrap('accessSync', (file, mode, ...rest) => {
    const path = pathOf(file);
    if (path !== undefined) observations.push({ kind: 'access', path, mode: Number(mode ?? fs.constants.F_OK), value: accessible(path, Number(mode ?? fs.constants.F_OK)) });
    return original('accessSync')(file, mode, ...rest);
  });
  wrap('openSync', (file, flags, ...rest) => {
    const path = pathOf(file);
    const readOnly = flags === undefined || flags === 'r' || flags === fs.constants.O_RDONLY;
    if (path === undefined || !readOnly) unreusable ??= `fs.openSync(${String(file)}, ${String(flags)})`;
    else observations.push({ kind: 'stat', path, follow: true, value: statSignature(path, true) });
    return original('openSync')(file, flags, ...rest);
  });
  // a recursive mkdir of a directory that exists changes nothing (the artifact cache's paths do so)
  wrap('mkdirSync', (file, options) => {
    const path = pathOf(file);
    const recursive = typeof options === 'object' && options !== null && (options as { recursive?: boolean }).recursive === true;
    if (path !== undefined && recursive && real.statSync(path, { throwIfNoEntry: false })?.isDirectory()) observations.push({ kind: 'stat', path, follow: true, value: statSignature(path, true) });
    else unreusable ??= 'fs.mkdirSync';
    return original('mkdirSync')(file, options);
  });
  for (const name of Object.keys(target)) {
    if (!name.endsWith('Sync') || saved.has(name) || PASS_THROUGH.has(name) || typeof target[name] !== 'function') continue;
    wrap(name, (...args) => {
      unreusable ??= `fs.${name}`;
      return original(name)(...args);
    });
  }
  syncBuiltinESMExports();
  try {
    const result = fn();
    return { result, observations: distinct(observations), ...(unreusable ? { unreusable } : {}) };
  } finally {
    for (const [name, fn] of saved) target[name] = fn;
    syncBuiltinESMExports();
  }
}

/** Each question once, with its first answer (a file read twice is checked once). */
function distinct(observations: Observation[]): Observation[] {
  const seen = new Set<string>();
  return observations.filter((o) => {
    const key = `${o.kind}\0${o.path}\0${o.kind === 'stat' ? o.follow : o.kind === 'access' ? o.mode : ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The first observation whose answer is not the same any more, described; undefined when all still hold. */
export function firstChange(observations: readonly Observation[]): string | undefined {
  for (const o of observations) {
    switch (o.kind) {
      case 'read':
        if (contentHash(o.path) !== o.sha256) return `${o.path} changed`;
        break;
      case 'exists':
        if (real.existsSync(o.path) !== o.value) return `${o.path} ${o.value ? 'is gone' : 'appeared'}`;
        break;
      case 'stat':
        if (statSignature(o.path, o.follow) !== o.value) return `${o.path} changed`;
        break;
      case 'dir':
        if (listing(o.path) !== o.value) return `the files in ${o.path} changed`;
        break;
      case 'realpath':
        if (realPath(o.path) !== o.value) return `${o.path} now resolves elsewhere`;
        break;
      case 'access':
        if (accessible(o.path, o.mode) !== o.value) return `access to ${o.path} changed`;
        break;
    }
  }
  return undefined;
}
