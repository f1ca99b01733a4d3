import { connect } from 'node:net';
import { backoffMs, type Clock } from './clock.js';
import { CloudApiError } from './errors.js';

export interface PollOptions {
  clock: Clock;
  timeoutMs: number;
  baseMs?: number;
  capMs?: number;
}

/** A bounded wait ran out. */
export class WaitTimeout extends CloudApiError {}

/** Polls `check` with exponential backoff until it returns a value, or fails after timeoutMs. */
export async function pollUntil<T>(what: string, check: () => Promise<T | undefined>, opts: PollOptions): Promise<T> {
  const deadline = opts.clock.now() + opts.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const value = await check();
    if (value !== undefined) return value;
    if (opts.clock.now() >= deadline) {
      throw new WaitTimeout(`timed out after ${Math.round(opts.timeoutMs / 1000)}s waiting for ${what}`);
    }
    await opts.clock.sleep(backoffMs(attempt, opts.baseMs ?? 2000, opts.capMs ?? 15_000));
  }
}

/** True when something at address:port speaks SSH (sends an "SSH-" banner). */
export function sshAnswers(address: string, port: number, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    let received = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (received.length >= 4) done(received.startsWith('SSH-'));
    });
    socket.on('end', () => done(false));
  });
}
