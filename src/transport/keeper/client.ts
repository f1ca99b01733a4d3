/**
 * The run's side of the connection keeper (see connection-keeper.ts): a Transport whose commands travel over
 * the keeper's Unix socket to the SSH connection it keeps for the host. Starts the keeper when
 * none answers.
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ArgvCommand } from '../../argv.js';
import { UnreachableError } from '../../errors.js';
import type { ExecResult, Held, SshTarget, Transport } from '../types.js';
import { keeperSocketPath, onFrames, send, type Reply } from './protocol.js';

const KEEPER_START_TIMEOUT_MS = 10_000;

function dial(path: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => resolve(socket));
    socket.once('error', () => resolve(undefined));
  });
}

/** Starts a keeper and resolves once it listens on its socket. */
async function startKeeper(path: string): Promise<void> {
  // the same build's keeper: connection-keeper.js sits beside this module, bundled (an entry of
  // the bundle, see package.json) or not
  const entry = fileURLToPath(new URL('./connection-keeper.js', import.meta.url));
  const keeper = spawn(process.execPath, [entry], { detached: true, cwd: '/', stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the connection keeper did not start within ${KEEPER_START_TIMEOUT_MS / 1000} s`)), KEEPER_START_TIMEOUT_MS);
    keeper.once('message', () => resolve());
    keeper.once('exit', (code) => reject(new Error(`the connection keeper exited (${code}) before it listened on ${path}`)));
    keeper.once('error', reject);
  }).finally(() => {
    clearTimeout(timer);
    keeper.removeAllListeners();
    keeper.disconnect();
    keeper.unref();
  });
}

/** one keeper started per run, however many hosts find none at once */
let starting: Promise<void> | undefined;
/** the socket's path, its directory made and checked once per run */
let socketPath: string | undefined;

/** The keeper's socket, with a keeper started first when none answers. */
async function reachKeeper(): Promise<Socket> {
  const path = (socketPath ??= keeperSocketPath());
  const running = await dial(path);
  if (running) return running;
  await (starting ??= startKeeper(path).finally(() => (starting = undefined)));
  const socket = await dial(path);
  if (!socket) throw new Error(`the connection keeper does not answer on ${path}`);
  return socket;
}

/** Reaches the target through the keeper, which keeps the connection open persistMs after the run. */
export async function connectKept(target: SshTarget, persistMs: number): Promise<Transport> {
  let socket: Socket;
  try {
    socket = await reachKeeper();
  } catch (err) {
    throw new UnreachableError(target.name, `--persist: ${err instanceof Error ? err.message : String(err)}`);
  }
  const transport = new KeptTransport(target.name, socket);
  await transport.attach(target, persistMs);
  return transport;
}

interface Waiting {
  resolve(result: ExecResult): void;
  reject(err: Error): void;
  onLine?(line: string): void;
}

class KeptTransport implements Transport {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private attached?: { resolve(): void; reject(err: Error): void };
  private aborted?: () => void;
  private closedReason: string | undefined;
  private readonly closed: Promise<void>;
  /** the held commands not ended yet, by id */
  private readonly holds = new Map<number, Promise<unknown>>();

  constructor(
    readonly host: string,
    private readonly socket: Socket,
  ) {
    onFrames<Reply>(socket, (reply) => this.receive(reply));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.fail(this.closedReason ?? 'the connection keeper went away');
      resolve();
    }));
  }

  private receive(reply: Reply): void {
    switch (reply.op) {
      case 'attached':
        return this.attached?.resolve();
      case 'unreachable':
        if (reply.id === undefined) return this.fail(reply.message);
        this.waiting.get(reply.id)?.reject(new UnreachableError(this.host, reply.message));
        this.waiting.delete(reply.id);
        return;
      case 'line':
        return this.waiting.get(reply.id)?.onLine?.(reply.line);
      case 'result':
      case 'ended': {
        const { code, stdout, stderr } = reply;
        this.waiting.get(reply.id)?.resolve({ code, stdout, stderr });
        this.waiting.delete(reply.id);
        return;
      }
      case 'aborted':
        return this.aborted?.();
    }
  }

  private fail(reason: string): void {
    this.closedReason ??= reason;
    const err = new UnreachableError(this.host, this.closedReason);
    this.attached?.reject(err);
    for (const waiting of this.waiting.values()) waiting.reject(err);
    this.waiting.clear();
  }

  attach(target: SshTarget, persistMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.attached = { resolve, reject };
      send(this.socket, { op: 'attach', target, persistMs, ...(process.env.SSH_AUTH_SOCK ? { authSock: process.env.SSH_AUTH_SOCK } : {}) });
    });
  }

  private request(waiting: Omit<Waiting, 'resolve' | 'reject'>, sendIt: (id: number) => void): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      if (this.closedReason) return reject(new UnreachableError(this.host, this.closedReason));
      const id = this.nextId++;
      this.waiting.set(id, { ...waiting, resolve, reject });
      sendIt(id);
    });
  }

  exec(command: ArgvCommand): Promise<ExecResult> {
    const stdin = typeof command.stdin === 'string' ? Buffer.from(command.stdin) : command.stdin;
    return this.request({}, (id) => send(this.socket, { op: 'exec', id, argv: [...command.argv], stdin: stdin !== undefined }, stdin));
  }

  hold(command: ArgvCommand, onLine: (line: string) => void): Held {
    let id = 0;
    const ended = this.request({ onLine }, (assigned) => {
      id = assigned;
      send(this.socket, { op: 'hold', id, argv: [...command.argv] });
    });
    if (id) this.holds.set(id, ended.catch(() => undefined).finally(() => this.holds.delete(id)));
    return {
      ended,
      release: () => {
        if (id && !this.closedReason) send(this.socket, { op: 'release', id });
      },
      abandon: () => {
        if (id && !this.closedReason) send(this.socket, { op: 'release', id, abandon: true });
      },
    };
  }

  async abort(stop: ArgvCommand[]): Promise<void> {
    if (!this.closedReason) {
      const done = new Promise<void>((resolve) => (this.aborted = resolve));
      send(this.socket, { op: 'abort', stop: stop.map((c) => [...c.argv]) });
      await Promise.race([done, this.closed, new Promise((r) => setTimeout(r, 15_000).unref())]);
    }
    this.closedReason ??= 'the run was interrupted';
    await this.close();
  }

  async close(): Promise<void> {
    // The host lock's holder ends before the run does: its channel outlives our socket on the
    // kept connection, and a re-run at once would find the host still held.
    if (!this.closedReason && this.holds.size > 0) {
      for (const id of this.holds.keys()) send(this.socket, { op: 'release', id });
      await Promise.race([Promise.all(this.holds.values()), new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    this.closedReason ??= 'the connection was closed by us';
    this.socket.end();
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 2000).unref())]);
  }
}
