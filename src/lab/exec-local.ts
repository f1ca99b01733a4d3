import { spawn } from 'node:child_process';
import { CommandError, tail } from '../errors.js';
import { toShell } from '../command.js';
import type { ExecResult } from '../transport/types.js';

export interface LocalRunOptions {
  stdin?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Exit codes that count as success (default [0]); anything else throws CommandError. */
  okCodes?: readonly number[];
  /** Never throw for an exit code; the caller looks at `code`. */
  check?: boolean;
  timeoutMs?: number;
}

/** Runs one local argv (no shell), capturing stdout and stderr. */
export function runLocal(argv: readonly string[], options: LocalRunOptions = {}): Promise<ExecResult> {
  const [program, ...args] = argv;
  if (!program) throw new Error('runLocal: empty argv');
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => reject(new CommandError('localhost', toShell(argv), null, error.message)));
    child.stdin.on('error', () => undefined); // the program may exit before reading all of stdin
    child.stdin.end(options.stdin ?? '');
    child.on('close', (code) => {
      const result: ExecResult = { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      const ok = options.check === false || (code !== null && (options.okCodes ?? [0]).includes(code));
      if (ok) resolve(result);
      else reject(new CommandError('localhost', toShell(argv), code, tail(result.stderr || result.stdout)));
    });
  });
}

/** stdout of a command that must succeed, trimmed. */
export async function localOutput(argv: readonly string[], options: LocalRunOptions = {}): Promise<string> {
  return (await runLocal(argv, options)).stdout.trim();
}

/** Whether a command exits 0 (never throws for a failed exit or a missing program). */
export async function localSucceeds(argv: readonly string[], options: LocalRunOptions = {}): Promise<boolean> {
  try {
    return (await runLocal(argv, { ...options, check: false })).code === 0;
  } catch {
    return false;
  }
}
