/**
 * SSH transport on ssh2: one verified, authenticated connection per host (optionally through
 * ProxyJump hosts), reused for every command.
 */
import type { Duplex } from 'node:stream';
import ssh2, { type Client, type ClientChannel, type ConnectConfig, type ServerHostKeyAlgorithm } from 'ssh2';

const { Client: SshClient } = ssh2;
import { loginShellLine, type ArgvCommand } from '../argv.js';
import { UnreachableError } from '../errors.js';
import { expandHome } from '../paths.js';
import { planAuth, type AuthPlan } from './keys.js';
import { checkServerHostKey, defaultKnownHostsPath, hostKeyAlgorithmsFor, type HostKeyCheck, hostKeyFingerprint, keyTypeOfBlob, knownKeyTypes } from './known-hosts.js';
import { defaultSshConfigPath, resolveSsh, type SshEndpoint } from './ssh-config.js';
import { coalesceWrites, dropHostKeysAnnouncements, signOnce, type OwnKey } from './ssh2-cpu.js';
import type { ExecResult, Held, SshTarget, Transport } from './types.js';

export { hostKeyFingerprint } from './known-hosts.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
// OpenSSH's MaxSessions defaults to 10 channels per connection; stay below it.
const MAX_CONCURRENT_CHANNELS = 8;

function describeEndpoint(endpoint: SshEndpoint): string {
  return `${endpoint.user}@${endpoint.hostName}:${endpoint.port}`;
}

interface Dial {
  endpoint: SshEndpoint;
  /** "" for the target itself, "jump host NAME: " for a hop. */
  role: string;
  /** A stream forwarded through the previous hop; absent to dial TCP directly. */
  sock?: Duplex;
  knownHosts: string[];
  acceptNew: boolean;
  timeoutMs: number;
  auth: AuthPlan;
  /** the host key the server presented, once verified */
  verifiedKey?: Buffer;
}

function describeConnectError(err: Error & { code?: string; level?: string }, dial: Dial, hostKeyRefusal?: string): string {
  const where = `${dial.endpoint.hostName}:${dial.endpoint.port}`;
  if (hostKeyRefusal) return hostKeyRefusal;
  const seconds = Math.round(dial.timeoutMs / 1000);
  switch (err.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where} (is sshd running and listening on port ${dial.endpoint.port}?)`;
    case 'ETIMEDOUT':
      return `timed out connecting to ${where} (host down, firewalled, or wrong address?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host name "${dial.endpoint.hostName}"`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to ${where}`;
    case 'ECONNRESET':
      return `connection to ${where} was reset during the SSH handshake`;
  }
  if (err.level === 'client-authentication') {
    const skipped = dial.auth.skipped.length > 0 ? `; not offered: ${dial.auth.skipped.join(', ')}` : '';
    return (
      `authentication failed for ${describeEndpoint(dial.endpoint)}; tried: ${dial.auth.offered.join(', ')}${skipped}. ` +
      `Check that the public key is in ~${dial.endpoint.user}/.ssh/authorized_keys on the host and that the user is right.`
    );
  }
  if (/Timed out while waiting for handshake/.test(err.message)) {
    return `timed out after ${seconds}s connecting to ${where}: no SSH handshake (host down, firewalled, or not an SSH server? --connect-timeout sets the wait)`;
  }
  return `ssh connection to ${where} failed: ${err.message}`;
}

function openClient(dial: Dial, knownTypes: string[]): Promise<Client> {
  const { endpoint } = dial;
  return new Promise((resolve, reject) => {
    const client = new SshClient();
    let hostKeyRefusal: string | undefined;
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      client.end();
      reject(new Error(dial.role + message));
    };
    client.once('ready', () => {
      settled = true;
      resolve(client);
    });
    client.on('error', (err) => fail(describeConnectError(err, dial, hostKeyRefusal)));
    client.once('close', () => fail(hostKeyRefusal ?? `connection to ${endpoint.hostName}:${endpoint.port} closed during the SSH handshake`));
    const config: ConnectConfig = {
      host: endpoint.hostName,
      port: endpoint.port,
      username: endpoint.user,
      readyTimeout: dial.timeoutMs,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      authHandler: dial.auth.methods,
      algorithms: { serverHostKey: hostKeyAlgorithmsFor(knownTypes) as ServerHostKeyAlgorithm[] },
      hostVerifier: (keyBlob: Buffer, verify: (valid: boolean) => void) => {
        checkServerHostKey({
          files: dial.knownHosts,
          host: endpoint.hostKeyName,
          port: endpoint.port,
          keyBlob,
          acceptNew: dial.acceptNew,
        }).then(
          (outcome) => {
            if (!outcome.ok) hostKeyRefusal = dial.role + outcome.reason;
            else dial.verifiedKey = keyBlob;
            verify(outcome.ok);
          },
          (err: Error) => {
            hostKeyRefusal = `${dial.role}cannot verify the host key: ${err.message}`;
            verify(false);
          },
        );
      },
    };
    if (dial.sock) config.sock = dial.sock;
    dropHostKeysAnnouncements();
    client.connect(config);
    client.setNoDelay(true);
    coalesceWrites(client);
    signWithoutAsking(client);
  });
}

/**
 * ssh2 first asks the server whether it would accept a key file's key (a USERAUTH_REQUEST without
 * a signature), and signs only after the server says yes: a round trip, and sshd reads
 * authorized_keys twice, on every login. RFC 4252 7 lets a client send the signature at once
 * (OpenSSH's own client does when it holds the private key); a refusal is the same
 * USERAUTH_FAILURE either way, after which ssh2 goes on to the next method as before. Keys in
 * ssh-agent keep the question (signing costs the agent a round trip of its own). ssh2 has no
 * option for it; this wraps its protocol's authPK (runner-round-trips asserts sshd is not asked).
 */
function signWithoutAsking(client: Client): void {
  type Sign = (data: Buffer, cb: (signature: Buffer) => void) => void;
  type AuthPK = (username: string, key: unknown, keyAlgo: string | undefined, cbSign?: Sign) => unknown;
  const protocol = (client as unknown as { _protocol?: { authPK?: AuthPK } })._protocol;
  const authPK = protocol?.authPK;
  if (!protocol || typeof authPK !== 'function') return;
  protocol.authPK = function (this: unknown, username, key, keyAlgo, cbSign) {
    const own = key as OwnKey & { isPrivateKey?: () => boolean };
    if (cbSign !== undefined || typeof own?.isPrivateKey !== 'function' || !own.isPrivateKey() || typeof own.sign !== 'function') {
      return authPK.call(this, username, key, keyAlgo, cbSign);
    }
    const hash = keyAlgo === 'rsa-sha2-512' ? 'sha512' : keyAlgo === 'rsa-sha2-256' ? 'sha256' : keyAlgo === 'ssh-rsa' ? 'sha1' : undefined;
    return authPK.call(this, username, key, keyAlgo, (data, cb) => {
      const signature = signOnce(own, data, hash);
      if (signature instanceof Error) throw signature;
      cb(signature);
    });
  };
}

function forwardTo(client: Client, via: SshEndpoint, next: SshEndpoint): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, next.hostName, next.port, (err, stream) => {
      if (err) reject(new Error(`jump host ${via.alias} could not open a connection to ${next.hostName}:${next.port}: ${err.message}`));
      else resolve(stream);
    });
  });
}

/** A connection the keeper can hold on to between runs. */
export interface SshConnection extends Transport {
  /** Whether the server still answers (a keepalive request: no process on the host), within timeoutMs. */
  alive(timeoutMs: number): Promise<boolean>;
  /** Why a host key this connection was verified with is no longer trusted by its known_hosts, if it is not. */
  distrusted(): Promise<string | undefined>;
}

/** Opens (and verifies) the connection to one inventory host. Every failure is an UnreachableError. */
export async function connectSsh(target: SshTarget): Promise<SshConnection> {
  const opened: Client[] = [];
  const verified: HostKeyCheck[] = [];
  try {
    const configFile = expandHome(target.sshConfig ?? defaultSshConfigPath());
    const { target: endpoint, jumps } = await resolveSsh(configFile, target.address, { user: target.user, port: target.port });
    const knownHosts = (target.knownHosts.length > 0 ? target.knownHosts : [defaultKnownHostsPath()]).map(expandHome);
    const timeoutMs = target.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const explicitKey = target.key === undefined ? undefined : expandHome(target.key);
    let sock: Duplex | undefined;
    const chain = [...jumps, endpoint];
    for (const [index, hop] of chain.entries()) {
      const isTarget = index === chain.length - 1;
      const auth = isTarget
        ? await planAuth({ username: hop.user, explicitKey, configKeys: explicitKey ? [] : hop.identityFiles })
        : await planAuth({ username: hop.user, configKeys: hop.identityFiles.length > 0 ? hop.identityFiles : explicitKey ? [explicitKey] : [] });
      const role = isTarget ? '' : `jump host ${hop.alias} (${describeEndpoint(hop)}): `;
      const knownTypes = await knownKeyTypes(knownHosts, hop.hostKeyName, hop.port);
      const dial: Dial = { endpoint: hop, role, sock, knownHosts, acceptNew: target.acceptNewHostKeys, timeoutMs, auth };
      const client = await openClient(dial, knownTypes);
      opened.push(client);
      verified.push({ files: knownHosts, host: hop.hostKeyName, port: hop.port, keyBlob: dial.verifiedKey!, acceptNew: false });
      if (!isTarget) sock = await forwardTo(client, hop, chain[index + 1]!);
    }
    const client = opened.pop()!;
    return new SshTransport(target.name, describeEndpoint(endpoint), client, opened, verified);
  } catch (err) {
    for (const client of opened.reverse()) client.end();
    if (err instanceof UnreachableError) throw err;
    throw new UnreachableError(target.name, err instanceof Error ? err.message : String(err));
  }
}

class SshTransport implements SshConnection {
  private closedReason: string | undefined;
  private readonly pending = new Set<(reason: string) => void>();
  private active = 0;
  private readonly queue: Array<() => void> = [];
  /** clients whose connection is already gone: closing them waits for nothing */
  private readonly ended = new Set<Client>();

  constructor(
    readonly host: string,
    private readonly label: string,
    private readonly client: Client,
    private readonly jumpClients: Client[],
    private readonly hostKeys: HostKeyCheck[],
  ) {
    client.on('error', (err) => this.lost(`connection to ${label} failed: ${err.message}`));
    for (const c of [client, ...jumpClients]) c.once('close', () => this.ended.add(c));
    client.on('close', () => this.lost(`connection to ${label} was closed`));
    for (const jump of jumpClients) jump.on('error', () => undefined);
  }

  private lost(reason: string): void {
    this.closedReason ??= reason;
    for (const fail of this.pending) fail(this.closedReason);
    this.pending.clear();
  }

  private async acquire(): Promise<void> {
    if (this.active < MAX_CONCURRENT_CHANNELS) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.active--;
  }

  async exec(command: ArgvCommand): Promise<ExecResult> {
    if (this.closedReason) throw new UnreachableError(this.host, this.closedReason);
    await this.acquire();
    try {
      return await this.run(command);
    } finally {
      this.release();
    }
  }

  private run(command: ArgvCommand): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      if (this.closedReason) return reject(new UnreachableError(this.host, this.closedReason));
      let done = false;
      const fail = (reason: string): void => {
        if (done) return;
        done = true;
        reject(new UnreachableError(this.host, reason));
      };
      this.pending.add(fail);
      this.client.exec(loginShellLine(command.argv), (err, channel) => {
        if (err) {
          this.pending.delete(fail);
          return fail(`cannot start a command on ${this.label}: ${err.message}`);
        }
        this.collect(channel, command.stdin).then(
          (result) => {
            this.pending.delete(fail);
            if (done) return;
            if (result === undefined) return fail(this.closedReason ?? `connection to ${this.label} was lost`);
            done = true;
            resolve(result);
          },
          (e: Error) => {
            this.pending.delete(fail);
            fail(e.message);
          },
        );
      });
    });
  }

  /** Resolves with the result, or undefined when the channel closed without an exit status because the connection died. */
  private collect(channel: ClientChannel, stdin: string | Buffer | undefined): Promise<ExecResult | undefined> {
    return new Promise((resolve) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let exit: { code: number | null } | undefined;
      channel.on('data', (chunk: Buffer) => stdout.push(chunk));
      channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      channel.on('exit', (code: number | null) => {
        exit = { code: typeof code === 'number' ? code : null };
      });
      // A command that exits without reading its stdin makes further writes fail; that is not an error of ours.
      channel.on('error', () => undefined);
      channel.on('close', () => {
        // Let a connection-level close be noticed first, so a dropped link is not mistaken for a signal.
        setImmediate(() => {
          if (exit === undefined && this.closedReason) return resolve(undefined);
          resolve({
            code: exit?.code ?? null,
            stdout: Buffer.concat(stdout).toString('utf8'),
            stderr: Buffer.concat(stderr).toString('utf8'),
          });
        });
      });
      // ssh2 splits a large Buffer by the channel window, so 100+ MB stream without copies.
      if (stdin === undefined) channel.end();
      else channel.end(stdin);
    });
  }

  hold(command: ArgvCommand, onLine: (line: string) => void): Held {
    let channel: ClientChannel | undefined;
    let ending: string | undefined;
    const ended = new Promise<ExecResult>((resolve, reject) => {
      if (this.closedReason) return reject(new UnreachableError(this.host, this.closedReason));
      const fail = (reason: string) => reject(new UnreachableError(this.host, reason));
      this.pending.add(fail);
      this.client.exec(loginShellLine(command.argv), (err, ch) => {
        if (err) {
          this.pending.delete(fail);
          return fail(`cannot start a command on ${this.label}: ${err.message}`);
        }
        channel = ch;
        if (ending !== undefined) endWith(ch, ending);
        const stdout: string[] = [];
        const stderr: Buffer[] = [];
        let partial = '';
        let code: number | null = null;
        ch.on('data', (chunk: Buffer) => {
          const text = partial + chunk.toString('utf8');
          const lines = text.split('\n');
          partial = lines.pop()!;
          for (const line of lines) {
            stdout.push(line);
            onLine(line);
          }
        });
        ch.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        ch.on('exit', (c: number | null) => (code = typeof c === 'number' ? c : null));
        ch.on('error', () => undefined);
        ch.on('close', () => {
          this.pending.delete(fail);
          resolve({ code, stdout: stdout.join('\n') + partial, stderr: Buffer.concat(stderr).toString('utf8') });
        });
      });
    });
    const end = (last: string) => {
      ending ??= last;
      if (channel) endWith(channel, last);
    };
    return { ended, release: () => end('\n'), abandon: () => end('') };
  }

  alive(timeoutMs: number): Promise<boolean> {
    if (this.closedReason) return Promise.resolve(false);
    // ssh2's own keepalive: any answer to keepalive@openssh.com (sshd refuses it) proves the link
    const internals = this.client as unknown as { _callbacks?: Array<(failed: boolean) => void>; _protocol?: { ping(): void } };
    if (!internals._callbacks || !internals._protocol) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      internals._callbacks!.push(() => {
        clearTimeout(timer);
        resolve(!this.closedReason);
      });
      internals._protocol!.ping();
    });
  }

  async distrusted(): Promise<string | undefined> {
    for (const check of this.hostKeys) {
      const outcome = await checkServerHostKey(check);
      if (!outcome.ok) return outcome.reason;
    }
    return undefined;
  }

  async abort(stop: ArgvCommand[]): Promise<void> {
    for (const command of stop) {
      if (this.closedReason) break;
      const done = this.run(command).catch(() => undefined);
      await Promise.race([done, new Promise((r) => setTimeout(r, 10_000).unref())]);
    }
    this.closedReason ??= `connection to ${this.label} was closed: the run was interrupted`;
    await this.close();
  }

  async close(): Promise<void> {
    this.closedReason ??= `connection to ${this.label} was closed by us`;
    const ended = [this.client, ...this.jumpClients.slice().reverse()].map(
      (client) =>
        new Promise<void>((resolve) => {
          // an unref'd timer alone would let the process exit with this promise pending
          if (this.ended.has(client)) return resolve();
          client.once('close', () => resolve());
          client.end();
          setTimeout(resolve, 2000).unref();
        }),
    );
    await Promise.all(ended);
  }
}

/** Ends a channel's stdin, after `last` when it is not empty. */
function endWith(channel: ClientChannel, last: string): void {
  if (last) channel.end(last);
  else channel.end();
}

export interface ServerHostKey {
  type: string;
  base64: string;
  fingerprint: string;
}

/** Connects just long enough to read a server's host key (for ssh-keyscan-like pinning); never authenticates. */
export function fetchHostKey(address: string, port = 22, timeoutMs = 10_000): Promise<ServerHostKey> {
  return new Promise((resolve, reject) => {
    const client = new SshClient();
    let captured: Buffer | undefined;
    let settled = false;
    const finish = (err?: Error & { code?: string; level?: string }): void => {
      if (settled) return;
      settled = true;
      client.end();
      if (captured) {
        resolve({ type: keyTypeOfBlob(captured), base64: captured.toString('base64'), fingerprint: hostKeyFingerprint(captured) });
        return;
      }
      const endpoint: SshEndpoint = { alias: address, hostName: address, port, user: 'root', identityFiles: [], hostKeyName: address };
      const dial: Dial = { endpoint, role: '', knownHosts: [], acceptNew: false, timeoutMs, auth: { methods: [], offered: [], skipped: [] } };
      reject(new UnreachableError(address, describeConnectError(err ?? new Error('connection closed before the host key was sent'), dial)));
    };
    client.on('error', (err) => finish(err));
    client.on('close', () => finish());
    client.connect({
      host: address,
      port,
      username: 'root',
      readyTimeout: timeoutMs,
      hostVerifier: (keyBlob: Buffer) => {
        captured = keyBlob;
        return false;
      },
    });
  });
}
