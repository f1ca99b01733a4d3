/**
 * The connection keeper (`--persist`): a background process per laptop user that holds SSH
 * connections open between runs, the way OpenSSH's ControlPersist does, so that a re-run pays
 * no handshake. Each run attaches over a Unix socket, one socket connection per host, and the
 * keeper runs its commands on the SSH connection it keeps for that target. A connection is
 * closed once no run has used it for the run's --persist seconds, and the keeper exits when it
 * holds none.
 *
 * Before a kept connection is handed to a run, the keeper checks that the server still answers
 * and that its host key is still trusted by the known_hosts files, read again: a host removed
 * from known_hosts, or a replaced one, is never reached through an old connection.
 */
import { createHash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { UnreachableError } from '../../errors.js';
import { connectSsh, type SshConnection } from '../ssh.js';
import type { Held } from '../types.js';
import { keeperSocketPath, onFrames, send, type Reply, type Request } from './protocol.js';
import { listenReplacing } from './socket-server.js';

/** how long a kept connection may take to answer a keepalive before a fresh one replaces it */
const ALIVE_TIMEOUT_MS = 3000;

interface Kept {
  connection: Promise<SshConnection>;
  clients: number;
  idle?: NodeJS.Timeout;
}

const kept = new Map<string, Kept>();
let clients = 0;

function identity(request: Extract<Request, { op: 'attach' }>): string {
  return createHash('sha256').update(JSON.stringify([request.target, request.authSock ?? null])).digest('hex');
}

function messageOf(err: unknown): string {
  if (err instanceof UnreachableError) return err.detail;
  return err instanceof Error ? err.message : String(err);
}

function forget(key: string, entry: Kept): void {
  if (kept.get(key) === entry) kept.delete(key);
  clearTimeout(entry.idle);
  entry.connection.then((c) => c.close(), () => undefined).finally(exitWhenEmpty);
}

function exitWhenEmpty(): void {
  if (kept.size > 0 || clients > 0) return;
  listener.close();
  process.exit(0);
}

/** A kept connection for the target that still answers and is still trusted, else a new one. */
async function attach(request: Extract<Request, { op: 'attach' }>): Promise<{ key: string; entry: Kept; reused: boolean }> {
  const key = identity(request);
  const existing = kept.get(key);
  if (existing) {
    const usable = await existing.connection.then(
      async (c) => (await c.alive(ALIVE_TIMEOUT_MS)) && (await c.distrusted()) === undefined,
      () => false,
    );
    if (usable) {
      clearTimeout(existing.idle);
      existing.clients++;
      return { key, entry: existing, reused: true };
    }
    forget(key, existing);
  }
  if (request.authSock) process.env.SSH_AUTH_SOCK = request.authSock;
  const entry: Kept = { connection: connectSsh(request.target), clients: 1 };
  kept.set(key, entry);
  try {
    await entry.connection;
  } catch (err) {
    forget(key, entry);
    throw err;
  }
  return { key, entry, reused: false };
}

function serve(socket: Socket): void {
  clients++;
  let attached: Promise<{ key: string; entry: Kept; persistMs: number }> | undefined;
  /** this socket is among its entry's clients */
  let counted = false;
  const holds = new Map<number, Held>();
  const reply = (header: Reply) => {
    if (!socket.destroyed) send(socket, header);
  };
  const lost = (key: string, entry: Kept, err: unknown, id: number) => {
    reply({ op: 'unreachable', id, message: messageOf(err) });
    if (err instanceof UnreachableError) forget(key, entry);
  };

  onFrames<Request>(socket, (request, body) => {
    if (request.op === 'attach') {
      attached = attach(request).then(({ key, entry, reused }) => {
        counted = true;
        reply({ op: 'attached', reused });
        return { key, entry, persistMs: request.persistMs };
      });
      attached.catch((err: unknown) => {
        reply({ op: 'unreachable', message: messageOf(err) });
        socket.end();
      });
      return;
    }
    void attached?.then(async ({ key, entry }) => {
      const connection = await entry.connection;
      switch (request.op) {
        case 'exec':
          connection.exec({ argv: request.argv, ...(request.stdin ? { stdin: body } : {}) }).then(
            (result) => reply({ op: 'result', id: request.id, ...result }),
            (err: unknown) => lost(key, entry, err, request.id),
          );
          break;
        case 'hold': {
          const held = connection.hold({ argv: request.argv }, (line) => reply({ op: 'line', id: request.id, line }));
          holds.set(request.id, held);
          held.ended.then(
            (result) => reply({ op: 'ended', id: request.id, ...result }),
            (err: unknown) => lost(key, entry, err, request.id),
          ).finally(() => holds.delete(request.id));
          break;
        }
        case 'release':
          if (request.abandon) holds.get(request.id)?.abandon();
          else holds.get(request.id)?.release();
          break;
        case 'abort': {
          // an interrupted run: stop what it started, and keep no connection it may have left busy,
          // unless another run works on it. The aborting run may close its socket meanwhile (its
          // sessions close as its commands end), so the others are counted without it.
          const others = () => entry.clients - (counted ? 1 : 0);
          if (others() > 0) {
            await Promise.all(request.stop.map((argv) => connection.exec({ argv }).catch(() => undefined)));
          } else {
            // a run that attaches meanwhile gets a new connection, not this closing one
            if (kept.get(key) === entry) kept.delete(key);
            await connection.abort(request.stop.map((argv) => ({ argv })));
          }
          if (others() === 0) forget(key, entry);
          reply({ op: 'aborted' });
          break;
        }
      }
    }, () => undefined);
  });

  socket.on('error', () => undefined);
  socket.on('close', () => {
    clients--;
    // a run that leaves without releasing its holds (it was killed) is a dropped connection to them
    for (const held of holds.values()) held.abandon();
    if (!attached) return exitWhenEmpty();
    attached.then(({ key, entry, persistMs }) => {
      counted = false;
      if (--entry.clients > 0 || kept.get(key) !== entry) return exitWhenEmpty();
      clearTimeout(entry.idle);
      entry.idle = setTimeout(() => forget(key, entry), persistMs);
    }, exitWhenEmpty);
  });
}

// two keepers started at once both work, and new runs reach the last one
const listener = listenReplacing(createServer(serve), keeperSocketPath(), () => process.send?.('ready'));
// a run that attaches within the first seconds keeps the keeper; one that never comes does not
setTimeout(exitWhenEmpty, 10_000).unref();
