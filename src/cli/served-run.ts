/**
 * The client of the run server (run-server.ts): a `bootstrap` given --persist hands its command
 * line to the server and prints what the run writes, so it loads none of the CLI itself. When no
 * server answers, or it is busy or of another build, the command runs here as it always did.
 */
import { connect } from 'node:net';
import { constants } from 'node:os';
import { ExitCode } from '../errors.js';
import { onFrames, send } from '../transport/keeper/protocol.js';
import { buildIdentity, FORWARDED_SIGNALS, runServerSocketPath, type ForwardedSignal, type RunReply, type RunRequest } from './run-server-protocol.js';

export type Served =
  | { served: true; code: number; signal?: ForwardedSignal }
  /** start: none answered (a server is started as this run ends), or one of another build did (it is replaced) */
  | { served: false; start?: 'server' | 'replace' };

/** Ended by a signal, as a process without a handler for it is. */
const killedBy = (signal: ForwardedSignal): Served => ({ served: true, code: 128 + constants.signals[signal], signal });

export function servedRun(argv: string[], persistSeconds: number, serverFile: string): Promise<Served> {
  let path: string;
  let build: string;
  try {
    path = runServerSocketPath();
    build = buildIdentity(serverFile);
  } catch {
    // an unsafe keeper directory (the local run says what is wrong with it), or no server in this build
    return Promise.resolve({ served: false });
  }
  return new Promise((resolve) => {
    const socket = connect(path);
    let accepted = false;
    let settled = false;
    let interruptedBy: ForwardedSignal | undefined;
    const forward = (signal: ForwardedSignal) => {
      interruptedBy ??= signal;
      send(socket, { op: 'signal', signal } satisfies RunRequest);
    };
    const stopForwarding = () => FORWARDED_SIGNALS.forEach((signal) => process.off(signal, forward));
    const settle = (served: Served) => {
      settled = true;
      stopForwarding();
      resolve(served);
    };
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      FORWARDED_SIGNALS.forEach((signal) => process.on(signal, forward));
      const request: RunRequest = {
        op: 'run',
        build,
        argv,
        cwd: process.cwd(),
        env: Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined)),
        stdoutTty: Boolean(process.stdout.isTTY),
        stderrTty: Boolean(process.stderr.isTTY),
        ...(process.stdout.columns ? { columns: process.stdout.columns } : {}),
        persistSeconds,
      };
      send(socket, request);
    });
    onFrames<RunReply>(socket, (reply, body) => {
      switch (reply.op) {
        case 'accepted':
          accepted = true;
          return;
        case 'refused':
          socket.destroy();
          // a Ctrl-C while asking: nothing ran, and nothing will
          if (interruptedBy) return settle(killedBy(interruptedBy));
          return settle(reply.reason === 'another build' ? { served: false, start: 'replace' } : { served: false });
        case 'out':
          (reply.fd === 1 ? process.stdout : process.stderr).write(body);
          return;
        case 'exit':
          socket.end();
          return settle({ served: true, code: reply.code, ...(reply.signal ? { signal: reply.signal } : {}) });
      }
    });
    socket.once('close', () => {
      if (settled) return;
      if (!accepted) return settle({ served: false, start: 'server' });
      // the signal ended the server (a run that does not handle it, as it would end a local one)
      if (interruptedBy) return settle(killedBy(interruptedBy));
      process.stderr.write('bootstrap: the run server went away before the run ended\n');
      settle({ served: true, code: ExitCode.INTERNAL });
    });
  });
}
