/** Runs argv on this machine without a shell; the same contract as the SSH transport. */
import { spawn } from 'node:child_process';
import type { ArgvCommand } from '../argv.js';
import type { ExecResult, Held, Transport } from './types.js';

export interface LocalTransportOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** kill the command (SIGKILL) after this long */
  timeoutMs?: number;
}

export class LocalTransport implements Transport {
  constructor(
    readonly host = 'localhost',
    private readonly options: LocalTransportOptions = {},
  ) {}

  private readonly running = new Set<import('node:child_process').ChildProcess>();
  private readonly held = new Set<import('node:child_process').ChildProcess>();

  exec(command: ArgvCommand): Promise<ExecResult> {
    const [program, ...args] = command.argv;
    if (program === undefined) return Promise.resolve({ code: 127, stdout: '', stderr: 'empty command\n' });
    return new Promise((resolve) => {
      const child = spawn(program, args, {
        cwd: this.options.cwd,
        env: this.options.env ?? process.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: this.options.timeoutMs,
        killSignal: 'SIGKILL',
      });
      this.running.add(child);
      child.once('close', () => this.running.delete(child));
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let spawnError: NodeJS.ErrnoException | undefined;
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.on('error', (err: NodeJS.ErrnoException) => {
        spawnError = err;
      });
      // The command may exit without reading all of its stdin.
      child.stdin.on('error', () => undefined);
      child.on('close', (code) => {
        if (spawnError) {
          // Report like a shell would (127 not found, 126 not executable) instead of throwing.
          const notFound = spawnError.code === 'ENOENT';
          resolve({
            code: notFound ? 127 : 126,
            stdout: '',
            stderr: `${program}: ${notFound ? 'command not found' : spawnError.message}\n`,
          });
          return;
        }
        resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
      });
      if (command.stdin === undefined) child.stdin.end();
      else child.stdin.end(command.stdin);
    });
  }

  hold(command: ArgvCommand, onLine: (line: string) => void): Held {
    const [program, ...args] = command.argv;
    const child = spawn(program!, args, { cwd: this.options.cwd, env: this.options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let partial = '';
    const out: string[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        out.push(line);
        onLine(line);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.stdin.on('error', () => undefined);
    const ended = new Promise<ExecResult>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout: out.join('\n') + partial, stderr: Buffer.concat(err).toString('utf8') }));
    });
    this.held.add(child);
    child.once('close', () => this.held.delete(child));
    return { ended, release: () => child.stdin.end('\n'), abandon: () => child.stdin.end() };
  }

  /** Local commands are our own children: they are signalled directly. */
  async abort(): Promise<void> {
    for (const child of this.running) child.kill('SIGTERM');
  }

  async close(): Promise<void> {
    for (const child of this.held) child.stdin?.end();
  }
}
