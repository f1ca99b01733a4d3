import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localSucceeds, runLocal, type LocalRunOptions } from '../artifacts/exec-local.js';
import { labPaths } from './state.js';
import type { ExecResult } from '../transport/types.js';

/** `docker ARGS...` on the host; throws CommandError on a non-zero exit unless told otherwise. */
export function docker(args: readonly string[], options: LocalRunOptions = {}): Promise<ExecResult> {
  return runLocal(['docker', ...args], options);
}

function onPath(program: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')
    .split(':')
    .some((dir) => dir && existsSync(join(dir, program)));
}

async function waitFor(probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((done) => setTimeout(done, intervalMs));
  }
}

export const engineAnswers = () => localSucceeds(['docker', 'info', '--format', '{{.ServerVersion}}'], { timeoutMs: 10_000 });

/**
 * A Docker engine the lab can use. Uses a running one; otherwise, as root on Debian with
 * docker.io installed, starts `dockerd --iptables=false --storage-driver=vfs` (the settings
 * that work inside this kind of sandbox) detached, logging to the lab state dir.
 */
export async function ensureDockerEngine(): Promise<void> {
  if (await engineAnswers()) return;
  const missing: string[] = [];
  if (!onPath('docker') || !onPath('dockerd')) missing.push('the Docker engine and client (apt-get install docker.io)');
  if (process.getuid?.() !== 0) missing.push('root privileges to start dockerd');
  if (!existsSync('/etc/debian_version')) missing.push('a Debian host (or start a Docker engine yourself)');
  if (missing.length > 0) {
    throw new Error(`the lab needs a running Docker engine; none answers \`docker info\` and one cannot be started here: missing ${missing.join(', ')}`);
  }
  const logFile = join(labPaths.logsDir(), 'dockerd.log');
  const log = openSync(logFile, 'a');
  const daemon = spawn('dockerd', ['--iptables=false', '--storage-driver=vfs'], { detached: true, stdio: ['ignore', log, log] });
  daemon.unref();
  if (daemon.pid !== undefined) writeFileSync(labPaths.pidFile('dockerd'), `${daemon.pid}\n`);
  if (!(await waitFor(engineAnswers, 60_000, 500))) {
    throw new Error(`dockerd was started (pid ${daemon.pid}) but \`docker info\` still fails after 60s; see ${logFile}`);
  }
}

/** Stops dockerd only if the lab started it (its pid file is in the state dir). Images stay on disk. */
export async function stopDockerEngineIfOurs(): Promise<void> {
  const pidFile = labPaths.pidFile('dockerd');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 1 || !processIsRunning(pid, 'dockerd')) return;
  process.kill(pid, 'SIGTERM');
  await waitFor(async () => !processIsRunning(pid, 'dockerd'), 30_000, 250);
}

/** True if `pid` is alive and its executable is `program` (guards against a recycled pid). */
export function processIsRunning(pid: number, program: string): boolean {
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    return comm === program.slice(0, 15);
  } catch {
    return false;
  }
}

export { waitFor };
