import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, chownSync } from 'node:fs';
import { localOutput, runLocal } from '../artifacts/exec-local.js';
import { processIsRunning, waitFor } from './docker-engine.js';
import { APT_PROXY_PORT, labPaths } from './state.js';

const BACKENDS_FILE = '/etc/apt-cacher-ng/backends_debian';
const ACNG = '/usr/sbin/apt-cacher-ng';
const ACNG_RUN_DIR = '/run/apt-cacher-ng';
const ACNG_PID_FILE = `${ACNG_RUN_DIR}/bootstrap-lab.pid`;

/** The Debian archive the host's own apt uses (deb822 debian.sources first, then sources.list), ending in `/`. */
export function hostDebianMirror(): string {
  const deb822 = '/etc/apt/sources.list.d/debian.sources';
  if (existsSync(deb822)) {
    for (const stanza of readFileSync(deb822, 'utf8').split(/\n\s*\n/)) {
      const field = (name: string) => stanza.match(new RegExp(`^${name}:\\s*(.+)$`, 'mi'))?.[1]?.trim().split(/\s+/) ?? [];
      const uri = field('URIs').find((u) => /^https?:\/\//.test(u));
      if (uri && field('Types').includes('deb') && field('Suites').some((s) => !s.includes('-'))) return withSlash(uri);
    }
  }
  const list = '/etc/apt/sources.list';
  if (existsSync(list)) {
    for (const line of readFileSync(list, 'utf8').split('\n')) {
      const words = line.replace(/#.*/, '').replace(/\[[^\]]*\]/, '').trim().split(/\s+/);
      if (words[0] === 'deb' && /^https?:\/\//.test(words[1] ?? '') && words[2] && !words[2].includes('-')) return withSlash(words[1]!);
    }
  }
  throw new Error(`no http(s) Debian mirror for the base suite found in ${deb822} or ${list}; the lab needs one for debootstrap and apt-cacher-ng`);
}

function withSlash(uri: string): string {
  return uri.endsWith('/') ? uri : `${uri}/`;
}

/** True if apt-cacher-ng answers its report page on address:port. */
async function proxyAnswers(address: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${address}:${APT_PROXY_PORT}/acng-report.html`, { signal: AbortSignal.timeout(2000) });
    return (await response.text()).includes('Apt-Cacher NG');
  } catch {
    return false;
  }
}

function ourProxyPid(): number | undefined {
  const pidFile = labPaths.pidFile('apt-cacher-ng');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && processIsRunning(pid, 'apt-cacher-ng') ? pid : undefined;
}

/**
 * apt-cacher-ng on the host, listening on `listenAddress` (the lab bridge gateway) and loopback,
 * forwarding Debian requests to the host's own mirror. Idempotent: an instance that already
 * answers on both addresses is kept (unless the lab's own one must pick up a new mirror).
 */
export async function ensureAptProxy(listenAddress: string): Promise<{ url: string }> {
  const url = `http://${listenAddress}:${APT_PROXY_PORT}`;
  if (!existsSync(ACNG)) throw new Error('the lab needs apt-cacher-ng on the host (apt-get install apt-cacher-ng)');
  const backends = `${hostDebianMirror()}\n`;
  const backendsChanged = !existsSync(BACKENDS_FILE) || readFileSync(BACKENDS_FILE, 'utf8') !== backends;
  if (backendsChanged) writeFileSync(BACKENDS_FILE, backends);

  const ours = ourProxyPid();
  if (!(backendsChanged && ours) && (await proxyAnswers(listenAddress)) && (await proxyAnswers('127.0.0.1'))) return { url };
  if (ours) await stopAptProxy();

  const bind = [listenAddress];
  if (!(await proxyAnswers('127.0.0.1'))) bind.push('127.0.0.1');
  mkdirSync(ACNG_RUN_DIR, { recursive: true });
  const uid = Number(await localOutput(['id', '-u', 'apt-cacher-ng']));
  const gid = Number(await localOutput(['id', '-g', 'apt-cacher-ng']));
  chownSync(ACNG_RUN_DIR, uid, gid);
  await runLocal([
    'start-stop-daemon', '--start', '--chuid', 'apt-cacher-ng:apt-cacher-ng', '--pidfile', ACNG_PID_FILE, '--exec', ACNG, '--',
    '-c', '/etc/apt-cacher-ng', `pidfile=${ACNG_PID_FILE}`, `SocketPath=${ACNG_RUN_DIR}/bootstrap-lab.socket`,
    'foreground=0', `Port=${APT_PROXY_PORT}`, `BindAddress=${bind.join(' ')}`,
  ]);
  const up = await waitFor(async () => existsSync(ACNG_PID_FILE) && (await proxyAnswers(listenAddress)), 15_000);
  if (!up) throw new Error(`apt-cacher-ng was started but does not answer on ${url} after 15s; see /var/log/apt-cacher-ng/apt-cacher.err`);
  writeFileSync(labPaths.pidFile('apt-cacher-ng'), readFileSync(ACNG_PID_FILE, 'utf8'));
  return { url };
}

/** Stops the apt-cacher-ng the lab started (never one started by someone else). The cache stays. */
export async function stopAptProxy(): Promise<void> {
  const pid = ourProxyPid();
  rmSync(labPaths.pidFile('apt-cacher-ng'), { force: true });
  if (pid === undefined) return;
  process.kill(pid, 'SIGTERM');
  await waitFor(async () => !processIsRunning(pid, 'apt-cacher-ng'), 15_000);
  rmSync(ACNG_PID_FILE, { force: true });
}
