import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { homedir } from 'node:os';

/**
 * Builds, downloads and image tarballs that survive `lab down` and fresh clones: $BOOTSTRAP_CACHE,
 * else /var/cache/bootstrap for root, else $XDG_CACHE_HOME/bootstrap (~/.cache/bootstrap).
 */
export function cacheDir(): string {
  const userCache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'bootstrap');
  const dir = resolve(process.env.BOOTSTRAP_CACHE ?? (process.getuid?.() === 0 ? '/var/cache/bootstrap' : userCache));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * `<cache>/<kind>/<component>/<version>`, created on first use. The cache (cacheDir()) lives
 * outside the repository so fresh clones on the same machine reuse it; a version bump is a new
 * directory, hence a rebuild.
 */
export function cacheEntryDir(kind: 'bin' | 'build' | 'images', component: string, version: string): string {
  const dir = join(cacheDir(), kind, component, version);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock file, or returns false while a live process holds it. Clears locks of dead holders. */
function tryLock(lockFile: string): boolean {
  try {
    writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  let holder = Number.NaN;
  try {
    holder = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
  } catch {
    return false; // released between our two looks; try again on the next poll
  }
  // A lock file still being written has no pid yet; only a pid that no longer runs is stale.
  if (Number.isInteger(holder) && holder > 0 && !pidAlive(holder)) rmSync(lockFile, { force: true });
  return false;
}

/**
 * Runs `work` while holding `<root>/locks/<name>.lock`, so two processes (two test files, or a
 * test and `lab up`) never build the same thing at once. The second one waits, then usually
 * finds the result already cached.
 */
export async function withCacheLock<T>(name: string, work: () => Promise<T>, timeoutMs = 90 * 60_000): Promise<T> {
  const locksDir = join(cacheDir(), 'locks');
  mkdirSync(locksDir, { recursive: true });
  const lockFile = join(locksDir, `${name}.lock`);
  const deadline = Date.now() + timeoutMs;
  while (!tryLock(lockFile)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for the cache lock ${lockFile}`);
    await new Promise((done) => setTimeout(done, 500));
  }
  try {
    return await work();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

/**
 * The cached file at `path`, produced by `build` the first time. `build` must write the file
 * atomically (temp file + rename), so a file that exists is complete.
 */
export async function cachedFile(lockName: string, path: string, build: () => Promise<void>): Promise<string> {
  if (existsSync(path)) return path;
  return withCacheLock(lockName, async () => {
    if (!existsSync(path)) await build();
    if (!existsSync(path)) throw new Error(`building ${lockName} finished without producing ${path}`);
    return path;
  });
}
