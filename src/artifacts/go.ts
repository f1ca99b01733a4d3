import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLocal } from './exec-local.js';
import { withProgress } from './progress.js';

/** Flags for static linux/amd64 binaries that run on any node, whatever its libc. */
export const LDFLAGS = '-s -w';
export const BUILD_TIMEOUT_MS = 60 * 60_000;

/** `go` on PATH, else the tarball install's /usr/local/go/bin/go; undefined when neither exists. */
export function findGo(): string | undefined {
  const onPath = (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, 'go')));
  if (onPath) return 'go';
  return existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined;
}

export function goProgram(): string {
  const go = findGo();
  if (!go) throw new Error('building needs the Go toolchain: `go` is not on PATH and /usr/local/go/bin/go does not exist');
  return go;
}

export function goEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CGO_ENABLED: '0',
    GOOS: 'linux',
    GOARCH: 'amd64',
    GOFLAGS: '-mod=mod',
    // Never download another toolchain: a module needing a newer Go should fail loudly.
    GOTOOLCHAIN: 'local',
    ...extra,
  };
}

/** Runs `go ARGS` in `cwd` with a progress line; a failure names what was built, where and with which settings. */
export async function runGo(what: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  const shownEnv = ['CGO_ENABLED', 'GOOS', 'GOARCH', 'GOFLAGS', 'GOTOOLCHAIN', 'GOBIN', 'GONOSUMDB']
    .filter((name) => env[name] !== undefined)
    .map((name) => `${name}=${env[name]}`)
    .join(' ');
  try {
    await withProgress(`building ${what} (go ${args[0]})`, () => runLocal([goProgram(), ...args], { cwd, env, timeoutMs: BUILD_TIMEOUT_MS }));
  } catch (error) {
    throw new Error(`building ${what} failed (in ${cwd}, with ${shownEnv}): ${(error as Error).message}`);
  }
}

/** Runs the fresh binary, checks its version output names the pin, then moves it into place; `source` says where it came from. */
export async function acceptBinary(built: string, finalPath: string, versionArgs: readonly string[], expected: string, startedAt: number, source = 'built from the Go module proxy'): Promise<void> {
  const { stdout, stderr } = await runLocal([built, ...versionArgs], { check: false, timeoutMs: 30_000 });
  const output = `${stdout}${stderr}`;
  if (!output.includes(expected)) {
    throw new Error(`${built} ${versionArgs.join(' ')} printed ${JSON.stringify(output.trim())}, expected it to contain ${JSON.stringify(expected)}`);
  }
  writeFileSync(`${finalPath}.build.json`, `${JSON.stringify({ seconds: Math.round((Date.now() - startedAt) / 1000), builtAt: new Date().toISOString(), source })}\n`);
  renameSync(built, finalPath);
}

/** Where a cached binary came from, as acceptBinary recorded it (older cache entries say nothing: built). */
export function binarySource(finalPath: string): string {
  try {
    return (JSON.parse(readFileSync(`${finalPath}.build.json`, 'utf8')) as { source?: string }).source ?? 'built from the Go module proxy';
  } catch {
    return 'built from the Go module proxy';
  }
}
