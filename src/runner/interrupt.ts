/**
 * A run's stop request (SIGINT / SIGTERM). The first one stops the run from starting anything new
 * (tasks, handlers, plays, connections) and gives the commands already running on the hosts
 * GRACE_SECONDS to finish; then, or at once on a second signal, they are aborted: each host's
 * open channels are signalled (TERM, then KILL) and its connection closed. Hosts left with work
 * not done are "interrupted" in the recap and the run exits ExitCode.INTERRUPTED.
 */
export const GRACE_SECONDS = 10;

export type InterruptPhase = 'stopping' | 'aborting';

export class Interrupt {
  private state: 'running' | InterruptPhase = 'running';
  private readonly aborters = new Set<() => Promise<void>>();
  private readonly listeners = new Set<(phase: InterruptPhase, signal: string) => void>();
  private grace?: NodeJS.Timeout;

  constructor(private readonly graceSeconds = GRACE_SECONDS) {}

  /** true once a stop was asked for: nothing new may start */
  get stopping(): boolean {
    return this.state !== 'running';
  }

  get aborted(): boolean {
    return this.state === 'aborting';
  }

  get grace_s(): number {
    return this.graceSeconds;
  }

  /** A signal arrived: the first stops, the second (or the end of the grace period) aborts. */
  signal(name: string): void {
    if (this.state === 'running') {
      this.state = 'stopping';
      for (const fn of this.listeners) fn('stopping', name);
      this.grace = setTimeout(() => this.abort(`${name} (after the ${this.graceSeconds} s grace period)`), this.graceSeconds * 1000);
      this.grace.unref();
      return;
    }
    this.abort(`${name} again`);
  }

  private abort(why: string): void {
    if (this.state === 'aborting') return;
    this.state = 'aborting';
    clearTimeout(this.grace);
    for (const fn of this.listeners) fn('aborting', why);
    for (const fn of this.aborters) void fn().catch(() => undefined);
  }

  /** `fn` runs when the run aborts (at once, if it already did). */
  onAbort(fn: () => Promise<void>): void {
    this.aborters.add(fn);
    if (this.aborted) void fn().catch(() => undefined);
  }

  onPhase(fn: (phase: InterruptPhase, signal: string) => void): void {
    this.listeners.add(fn);
  }

  /** The run is over: no grace timer may outlive it. */
  done(): void {
    clearTimeout(this.grace);
  }
}
