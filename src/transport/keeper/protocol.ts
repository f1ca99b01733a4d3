/**
 * The connection keeper's wire format (a Unix socket, one per laptop user): frames of
 * [u32 header length][u32 body length][JSON header][body bytes]. The body carries a command's
 * stdin, so file contents of any size travel without base64.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { ExecResult, SshTarget } from '../types.js';

export type Request =
  | { op: 'attach'; target: SshTarget; persistMs: number; authSock?: string }
  | { op: 'exec'; id: number; argv: string[]; stdin: boolean }
  | { op: 'hold'; id: number; argv: string[] }
  /** abandon: EOF alone, as if the run's connection had dropped (Held.abandon) */
  | { op: 'release'; id: number; abandon?: boolean }
  | { op: 'abort'; stop: string[][] };

export type Reply =
  | { op: 'attached'; reused: boolean }
  /** the connection failed or was lost: what UnreachableError says; with id, for that command only */
  | { op: 'unreachable'; message: string; id?: number }
  | ({ op: 'result'; id: number } & ExecResult)
  | { op: 'line'; id: number; line: string }
  | ({ op: 'ended'; id: number } & ExecResult)
  | { op: 'aborted' };

/** Writes one frame; the run server's (cli/run-server-protocol.ts) travel in the same format. */
export function send(socket: Socket, header: object, body?: Buffer): void {
  const json = Buffer.from(JSON.stringify(header));
  const lengths = Buffer.alloc(8);
  lengths.writeUInt32BE(json.length, 0);
  lengths.writeUInt32BE(body?.length ?? 0, 4);
  socket.write(Buffer.concat([lengths, json]));
  if (body?.length) socket.write(body);
}

/** Calls onFrame for every whole frame that arrives on the socket. */
export function onFrames<T>(socket: Socket, onFrame: (header: T, body: Buffer) => void): void {
  // chunks are joined once a whole frame is there: a large stdin arrives in many of them
  let chunks: Buffer[] = [];
  let total = 0;
  let needed = 8;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    total += chunk.length;
    while (total >= needed) {
      const buffered = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      chunks = [buffered];
      const frameLength = 8 + buffered.readUInt32BE(0) + buffered.readUInt32BE(4);
      if (buffered.length < frameLength) {
        needed = frameLength;
        break;
      }
      const headerEnd = 8 + buffered.readUInt32BE(0);
      onFrame(JSON.parse(buffered.subarray(8, headerEnd).toString('utf8')) as T, buffered.subarray(headerEnd, frameLength));
      const rest = buffered.subarray(frameLength);
      chunks = rest.length ? [rest] : [];
      total = rest.length;
      needed = 8;
    }
  });
}

/**
 * The keeper's directory: BOOTSTRAP_KEEPER_DIR, else bootstrap-UID in $XDG_RUNTIME_DIR or the
 * temp dir. Whoever can connect to the socket can run commands on the kept hosts, so the
 * directory must be ours and closed to everybody else (as OpenSSH demands of a ControlPath).
 */
export function keeperSocketPath(): string {
  const uid = process.getuid?.() ?? 0;
  const dir = process.env.BOOTSTRAP_KEEPER_DIR || join(process.env.XDG_RUNTIME_DIR || tmpdir(), `bootstrap-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o077) !== 0) {
    throw new Error(`the connection keeper's directory ${dir} must be a directory owned by uid ${uid} with mode 0700 (it is ${stat.isDirectory() ? `mode ${(stat.mode & 0o777).toString(8)}, uid ${stat.uid}` : 'not a directory'})`);
  }
  return join(dir, 'keeper.sock');
}
