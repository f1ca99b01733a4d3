/**
 * Real OpenSSH sshd instances on loopback for tests: each has its own temp dir, ed25519 host
 * key, client key, authorized_keys and known_hosts. Needs root (sshd is started as root).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SshdOptions {
  /** Reuse this host private key (copied in); default: a new ed25519 key. */
  hostKeyPath?: string;
  /** Listen on this port (e.g. to restart a server on the same address with another key). */
  port?: number;
  /** Extra sshd_config lines. */
  extraConfig?: string[];
  /** Authorize this existing client key (so several servers share one) instead of a new one. */
  clientKeyPath?: string;
  /**
   * Run sshd as the first process of its own PID namespace, so that `processesStarted()` can
   * count every process a client makes it start (benchmarks).
   */
  pidNamespace?: boolean;
}

export interface Sshd {
  port: number;
  host: '127.0.0.1';
  dir: string;
  hostKeyPath: string;
  /** "ssh-ed25519 AAAA..." (type and base64, no comment). */
  hostPublicKey: string;
  clientKeyPath: string;
  /** A known_hosts file that already trusts this server ([127.0.0.1]:port). */
  knownHostsFile: string;
  /** sshd's log (stderr) so far, for failure messages. */
  log(): string;
  /** With pidNamespace: PIDs allocated in sshd's namespace so far (processes and threads it started, plus one per call). */
  processesStarted?(): Promise<number>;
  /** With pidNamespace: CPU seconds (user + system) of sshd and of every process it started (live or reaped). */
  cpuSeconds?(): Promise<number>;
  /**
   * With pidNamespace: resolves once no connection is left (all its processes are reaped), or
   * with `kept`, once the open connections run nothing (only sshd's own processes are left); at most 10 s.
   */
  settled?(kept?: boolean): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A loopback port free now (bound, then released): nothing listens on it until someone does. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once the port answers with an SSH banner. */
async function waitForBanner(port: number, child: ChildProcess, log: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`sshd exited (${child.exitCode ?? child.signalCode}) before accepting connections:\n${log()}`);
    }
    const banner = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.setTimeout(1000);
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString('latin1').startsWith('SSH-2.0-'));
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (banner) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not accept connections on 127.0.0.1:${port} within ${timeoutMs} ms:\n${log()}`);
}

async function descendants(pid: number): Promise<number[]> {
  let stdout = '';
  try {
    ({ stdout } = await run('ps', ['-o', 'pid=', '--ppid', String(pid)]));
  } catch {
    return []; // ps exits 1 when there are none
  }
  const children = stdout.split(/\s+/).filter(Boolean).map(Number);
  const nested = await Promise.all(children.map(descendants));
  return [...children, ...nested.flat()];
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function publicKeyOf(privateKeyPath: string): Promise<string> {
  const { stdout } = await run('ssh-keygen', ['-y', '-f', privateKeyPath]);
  const [type, base64] = stdout.trim().split(/\s+/);
  return `${type} ${base64}`;
}

/**
 * CPU seconds (user + system) of a process and of the children it reaped; 0 once it is gone.
 * utime stime cutime cstime are fields 14-17 of /proc/PID/stat (11-14 after the command name),
 * in USER_HZ, which is 100 on Linux.
 */
export async function processCpuSeconds(pid: number | string): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!stat) return 0;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(11, 15).reduce((sum, f) => sum + Number(f), 0) / 100;
}

/** pid and its descendants, from /proc's children lists */
async function treeOf(pid: number): Promise<number[]> {
  const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')).trim().split(/\s+/).filter(Boolean).map(Number);
  return [pid, ...(await Promise.all(children.map(treeOf))).flat()];
}

/** sshd inside `unshare --pid --fork`: its listener is unshare's only child. */
function namespaceAccounting(unsharePid: number): Pick<Sshd, 'processesStarted' | 'cpuSeconds' | 'settled'> {
  const listener = async (): Promise<number> => {
    const children = (await readFile(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8')).trim().split(/\s+/);
    if (!children[0]) throw new Error('sshd is not running in its namespace');
    return Number(children[0]);
  };
  return {
    // /proc/loadavg's last field is the last PID of the reader's namespace: read it from a process in there
    async processesStarted() {
      const { stdout } = await run('nsenter', ['--target', String(await listener()), '--pid', '--', 'cat', '/proc/loadavg']);
      return Number(stdout.trim().split(/\s+/).at(-1));
    },
    async settled(kept = false) {
      const pid = await listener();
      const deadline = Date.now() + 10_000;
      const busy = async () => {
        const tree = await treeOf(pid);
        if (!kept) return tree.length > 1;
        // a kept connection stays: wait only for what its sessions started (every process but sshd's own)
        const names = await Promise.all(tree.map((p) => readFile(`/proc/${p}/comm`, 'utf8').catch(() => 'sshd\n')));
        return names.some((n) => n.trim() !== 'sshd');
      };
      while ((await busy()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    },
    async cpuSeconds() {
      // every live process of the tree with what it reaped: all that ever ran there, kept
      // connections (still open, not yet reaped by the listener) included
      const each = await Promise.all((await treeOf(await listener())).map(processCpuSeconds));
      return each.reduce((sum, seconds) => sum + seconds, 0);
    },
  };
}

export async function startSshd(opts: SshdOptions = {}): Promise<Sshd> {
  if (process.getuid?.() !== 0) throw new Error('startSshd needs root: sshd must run as root to switch users');
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(tmpdir(), 'bootstrap-sshd-'));
  try {
    const hostKeyPath = join(dir, 'ssh_host_ed25519_key');
    if (opts.hostKeyPath) await copyFile(opts.hostKeyPath, hostKeyPath);
    else await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-host', '-f', hostKeyPath]);
    await run('chmod', ['600', hostKeyPath]);
    const clientKeyPath = opts.clientKeyPath ?? join(dir, 'client_ed25519');
    if (!opts.clientKeyPath) await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-client', '-f', clientKeyPath]);
    const authorizedKeys = join(dir, 'authorized_keys');
    await copyFile(`${clientKeyPath}.pub`, authorizedKeys);
    const hostPublicKey = await publicKeyOf(hostKeyPath);

    for (let attempt = 0; ; attempt++) {
      const port = opts.port ?? (await freePort());
      const knownHostsFile = join(dir, 'known_hosts');
      await writeFile(knownHostsFile, `[127.0.0.1]:${port} ${hostPublicKey}\n`, { mode: 0o600 });
      const configPath = join(dir, 'sshd_config');
      await writeFile(
        configPath,
        [
          `Port ${port}`,
          'ListenAddress 127.0.0.1',
          `HostKey ${hostKeyPath}`,
          `PidFile ${join(dir, 'sshd.pid')}`,
          `AuthorizedKeysFile ${authorizedKeys}`,
          'PermitRootLogin prohibit-password',
          'PubkeyAuthentication yes',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'StrictModes no',
          'UsePAM no',
          'AllowTcpForwarding yes',
          'PrintMotd no',
          'MaxStartups 100',
          'Subsystem sftp internal-sftp',
          ...(opts.extraConfig ?? []),
          '',
        ].join('\n'),
      );
      const argv = ['/usr/sbin/sshd', '-D', '-e', '-f', configPath];
      const child = opts.pidNamespace
        ? spawn('unshare', ['--pid', '--fork', '--kill-child', ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
        : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
      running.add(child);
      let logText = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        logText += chunk.toString('utf8');
        if (logText.length > 200_000) logText = logText.slice(-100_000);
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.once('exit', () => running.delete(child));
      const log = (): string => logText;
      try {
        await waitForBanner(port, child, log);
      } catch (err) {
        child.kill('SIGKILL');
        await exited;
        // Another process may have taken the free port between our probe and sshd's bind.
        if (opts.port === undefined && attempt < 3 && /Address already in use/.test(logText)) continue;
        throw err;
      }
      return {
        port,
        host: '127.0.0.1',
        dir,
        hostKeyPath,
        hostPublicKey,
        clientKeyPath,
        knownHostsFile,
        log,
        ...(opts.pidNamespace ? namespaceAccounting(child.pid!) : {}),
        async stop() {
          if (child.exitCode === null && child.signalCode === null) {
            // Per-connection sshd processes run in their own sessions and outlive the listener.
            for (const pid of await descendants(child.pid!)) killQuietly(pid);
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
            await exited;
            clearTimeout(timer);
          }
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

