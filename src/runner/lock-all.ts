import { TRY_SECONDS } from '../host/lock.js';
import type { HostSession } from '../host/session.js';

export interface LockAllOptions<S extends HostSession = HostSession> {
  /** --lock-timeout: how long, in all, to wait for other runs */
  waitSeconds: number;
  /** the run was asked to stop: wait no more */
  stopping: () => boolean;
  /** a session whose connection failed while its lock was tried again */
  lost: (session: S, error: unknown) => void;
  /** 0 <= x < 1, for the back-off's jitter */
  random?: () => number;
}

/**
 * Holds the host locks of all `sessions`, or none while it waits: each session tried its lock
 * when it opened (with the fact batch, one round trip). When one is busy, every lock held is let
 * go, and after a random back-off the run waits for that one alone; once it is held, the others
 * are tried again, and so on until none is busy. A run that waits holds nothing, so runs over
 * overlapping hosts never wait for each other in a cycle, and the run waited for is one that
 * works: --lock-timeout is time spent behind it. Resolves with the sessions whose lock was still
 * busy at the deadline (or when the run was asked to stop); the others hold theirs.
 *
 * Why not one canonical order: the lock is the machine's, and two inventories may name one
 * machine differently (an address, a DNS name, two names in one inventory); an order every run
 * agrees on would have to wait for each host's identity, one lock after another, where the
 * uncontended run now takes them all in the round trip that reads the facts.
 */
export async function lockAll<S extends HostSession>(sessions: S[], opts: LockAllOptions<S>): Promise<S[]> {
  const deadline = Date.now() + opts.waitSeconds * 1000;
  const random = opts.random ?? Math.random;
  let live = sessions.filter((s) => s.lockState !== undefined);
  const retake = async (session: S, seconds: number) => {
    try {
      await session.retakeLock(seconds);
    } catch (error) {
      live = live.filter((s) => s !== session);
      opts.lost(session, error);
    }
  };
  for (let attempt = 1; ; attempt++) {
    const busy = live.filter((s) => s.lockState?.kind === 'busy');
    if (busy.length === 0 || Date.now() >= deadline || opts.stopping()) return busy;
    await Promise.all(live.map((s) => s.releaseLock()));
    await new Promise((r) => setTimeout(r, random() * Math.min(2000, 100 * 2 ** attempt)));
    const first = busy[0]!;
    await retake(first, Math.max(1, Math.ceil((deadline - Date.now()) / 1000)));
    await Promise.all(live.filter((s) => s !== first).map((s) => retake(s, Math.min(TRY_SECONDS, opts.waitSeconds))));
  }
}
