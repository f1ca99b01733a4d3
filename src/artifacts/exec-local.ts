import { CommandError, tail } from '../errors.js';
import { toShell } from '../argv.js';
import { LocalTransport } from '../transport/local.js';
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

/** Runs one local argv (no shell), capturing stdout and stderr; throws CommandError on a failed exit unless `check` is false. */
export async function runLocal(argv: readonly string[], options: LocalRunOptions = {}): Promise<ExecResult> {
  if (argv.length === 0) throw new Error('runLocal: empty argv');
  const transport = new LocalTransport('localhost', { cwd: options.cwd, env: options.env, timeoutMs: options.timeoutMs });
  const result = await transport.exec({ argv, stdin: options.stdin });
  const ok = options.check === false || (result.code !== null && (options.okCodes ?? [0]).includes(result.code));
  if (!ok) throw new CommandError('localhost', toShell(argv), result.code, tail(result.stderr || result.stdout));
  return result;
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
