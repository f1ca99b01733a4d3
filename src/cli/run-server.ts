/**
 * The run server (`--persist`): a background process per laptop user, beside the connection
 * keeper, that runs a `bootstrap` command line in a process that has the CLI loaded and its
 * code compiled and optimized by the runs before, where a new process would load, compile and
 * warm it up again. A re-run through kept connections is then mostly the hosts' own work.
 *
 * It serves one run at a time, and only for the build it was started from: a client that finds
 * it busy, or of another build, runs the command itself (served-run.ts). For the run, the
 * process takes the client's working directory and environment, its stdout and stderr go to
 * the client (as a terminal when the client's are), and the signals the client gets reach it
 * as they would reach a local run; a signal the run does not handle ends the server, as it
 * would end a local run. A client that goes away mid-run is a SIGTERM to the run. The server
 * exits once no run has come for the last run's --persist seconds.
 */
import './v8-tiering.js'; // first: V8 refuses a code cache made under other flags
import { connect, createServer, type Socket } from 'node:net';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ExitCode } from '../errors.js';
import { onFrames, send } from '../transport/keeper/protocol.js';
import { listenReplacing } from '../transport/keeper/socket-server.js';
import type { RunCli } from './cli-handover.js';
import { loadedRunCli } from './code-cache-run.js';
import { buildIdentity, runServerSocketPath, type ForwardedSignal, type RunReply, type RunRequest } from './run-server-protocol.js';

const build = buildIdentity(fileURLToPath(import.meta.url));
let runCli: RunCli;
let idleMs = Number(process.argv[2] ?? 60) * 1000;
let idle: NodeJS.Timeout | undefined;
/** the client of the run in progress */
let serving: Socket | undefined;

const reply = (socket: Socket, header: RunReply, body?: Buffer) => {
  if (!socket.destroyed) send(socket, header, body);
};

function waitForNextRun(): void {
  clearTimeout(idle);
  idle = setTimeout(shutDown, idleMs);
}

function shutDown(): void {
  listener?.close();
  process.exit(0);
}

/** Ends the client's socket, then the server: an exit at once could lose what is still to be written. */
function endAndExit(socket: Socket, code: number): void {
  if (socket.destroyed) process.exit(code);
  socket.end(() => process.exit(code));
  setTimeout(() => process.exit(code), 1000).unref();
}

/** The process as the client's for one run; returns what puts it back. */
function enter(request: Extract<RunRequest, { op: 'run' }>, socket: Socket): () => void {
  const env = { ...process.env };
  const setEnv = (values: NodeJS.ProcessEnv) => {
    for (const name of Object.keys(process.env)) if (!(name in values)) delete process.env[name];
    Object.assign(process.env, values);
  };
  setEnv(request.env);
  process.chdir(request.cwd);
  const streams = [
    { stream: process.stdout, fd: 1 as const, tty: request.stdoutTty },
    { stream: process.stderr, fd: 2 as const, tty: request.stderrTty },
  ];
  const saved = streams.map(({ stream }) => ({ write: stream.write, isTTY: stream.isTTY, columns: stream.columns }));
  for (const { stream, fd, tty } of streams) {
    stream.write = ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((err?: Error) => void), done?: (err?: Error) => void) => {
      reply(socket, { op: 'out', fd }, typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : Buffer.from(chunk));
      (typeof encoding === 'function' ? encoding : done)?.();
      return true;
    }) as typeof stream.write;
    stream.isTTY = tty;
    stream.columns = request.columns as number;
  }
  return () => {
    streams.forEach(({ stream }, i) => Object.assign(stream, saved[i]));
    process.chdir('/');
    setEnv(env);
  };
}

/** A signal for the run: heard by its handlers, else the end of the server, as of a local run. */
function deliver(signal: ForwardedSignal, socket: Socket): void {
  if (process.listenerCount(signal) > 0) {
    process.emit(signal, signal);
    return;
  }
  const code = 128 + constants.signals[signal];
  reply(socket, { op: 'exit', code, signal });
  endAndExit(socket, code);
}

async function run(request: Extract<RunRequest, { op: 'run' }>, socket: Socket): Promise<void> {
  let leave: (() => void) | undefined;
  let code: number;
  try {
    leave = enter(request, socket);
    code = await runCli(request.argv);
  } catch (error) {
    reply(socket, { op: 'out', fd: 2 }, Buffer.from(`bootstrap: ${(error as Error).message ?? error}\n`));
    code = ExitCode.INTERNAL;
  } finally {
    leave?.();
  }
  reply(socket, { op: 'exit', code });
  socket.end();
}

function serve(socket: Socket): void {
  socket.on('error', () => undefined);
  onFrames<RunRequest>(socket, (request) => {
    if (request.op === 'signal') {
      if (serving === socket) deliver(request.signal, socket);
      return;
    }
    if (request.build !== build || serving) {
      reply(socket, { op: 'refused', reason: serving ? 'busy' : 'another build' });
      socket.end();
      return;
    }
    serving = socket;
    reply(socket, { op: 'accepted' });
    clearTimeout(idle);
    idleMs = request.persistSeconds * 1000;
    void run(request, socket).finally(() => {
      serving = undefined;
      waitForNextRun();
    });
  });
  // a client that went away (killed, its terminal closed) stops its run as SIGTERM would
  socket.on('close', () => {
    if (serving === socket) deliver('SIGTERM', socket);
  });
}

// An error the run did not catch would have ended a local run: it ends the server, and the client says so.
process.on('uncaughtException', (error) => {
  if (!serving) process.exit(ExitCode.INTERNAL);
  reply(serving, { op: 'out', fd: 2 }, Buffer.from(`bootstrap: ${error.stack ?? error.message}\n`));
  reply(serving, { op: 'exit', code: ExitCode.INTERNAL });
  endAndExit(serving, ExitCode.INTERNAL);
});

// A new build's server takes over ("replace", from a client the old build refused). Otherwise
// one that finds a server answering leaves it be: two runs that found none and ended at once
// both start one.
const socketPath = runServerSocketPath();
const server = createServer(serve);
let listener: { close(): void } | undefined;
const listen = () => {
  // the CLI as a local run has it: main.js, compiled from the code cache that local runs keep
  runCli = loadedRunCli();
  listener = listenReplacing(server, socketPath, () => {
    process.chdir('/');
    waitForNextRun();
  });
};
if (process.argv[3] === 'replace') listen();
else {
  const other = connect(socketPath);
  other.once('connect', () => process.exit(0));
  other.once('error', listen);
}
