/**
 * The run server's wire format (run-server.ts): the connection keeper's frames, on a socket of
 * its own beside the keeper's, in the same private directory. A `bootstrap` that was given
 * --persist (served-run.ts) sends its command line, working directory and environment; the
 * server sends back what the run wrote to stdout and stderr (the bytes in the frame's body),
 * then its exit.
 */
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { keeperSocketPath } from '../transport/keeper/protocol.js';

export type ForwardedSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';
export const FORWARDED_SIGNALS: readonly ForwardedSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export type RunRequest =
  | {
      op: 'run';
      /** the server serves only the build it was started from (buildIdentity) */
      build: string;
      argv: string[];
      cwd: string;
      env: Record<string, string>;
      stdoutTty: boolean;
      stderrTty: boolean;
      columns?: number;
      /** --persist: how long the server waits for the next run after this one */
      persistSeconds: number;
    }
  /** a signal the client got (Ctrl-C): the run hears it as a local run would */
  | { op: 'signal'; signal: ForwardedSignal };

export type RunReply =
  /** the server runs it: from here on the client's signals go to the run */
  | { op: 'accepted' }
  /** not served (a run already in progress, or another build): the client runs it itself */
  | { op: 'refused'; reason: 'busy' | 'another build' }
  | { op: 'out'; fd: 1 | 2 }
  /** signal: the run was ended by it, as a local run would have been */
  | { op: 'exit'; code: number; signal?: ForwardedSignal };

export function runServerSocketPath(): string {
  return join(dirname(keeperSocketPath()), 'runs.sock');
}

/** The server's bundle file as a build: a rebuilt bundle, or another Node, is another build. */
export function buildIdentity(serverFile: string): string {
  const stat = statSync(serverFile);
  return `${process.version}-${stat.size}-${Math.trunc(stat.mtimeMs)}-${stat.ino}`;
}

/** --persist's seconds (`--persist N`, `--persist=N`, else BOOTSTRAP_PERSIST); undefined when not a positive number. */
export function persistSeconds(argv: readonly string[], env: NodeJS.ProcessEnv): number | undefined {
  let value = env.BOOTSTRAP_PERSIST;
  argv.forEach((arg, i) => {
    if (arg === '--persist') value = argv[i + 1];
    else if (arg.startsWith('--persist=')) value = arg.slice('--persist='.length);
  });
  return value !== undefined && /^\d+(\.\d+)?$/.test(value) && Number(value) > 0 ? Number(value) : undefined;
}

/** The commands that connect to hosts (and so take --persist): `apply` (also without its name), `facts`, `verify`, `retire`. */
export function servedCommand(argv: readonly string[]): boolean {
  const first = argv[0];
  return first !== undefined && !first.startsWith('-') && !['validate', 'lab', 'cloud', 'help'].includes(first);
}
