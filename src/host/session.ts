import { become } from '../argv.js';
import type { ArgvCommand } from '../argv.js';
import type { ExecResult, Transport } from '../transport/types.js';
import type { Fact, HostFacts } from '../facts/types.js';
import { batchScript, parseBatch } from '../facts/batch.js';
import { describeBatchFailure } from '../facts/batch-failure.js';
import { hostFacts } from '../facts/host.js';
import { UnreachableError } from '../errors.js';
import type { Host } from '../inventory/types.js';
import { DEFAULT_COMMAND_TIMEOUT, stopRunCommand, timedOut, timedOutMessage, timeLimited, type RunMark } from './time-limit.js';
import { newRunId } from './run-id.js';
import { factsStillHold, HostLockedError, lockedMessage, takeLock, TRY_SECONDS, type LockOutcome, type LockRequest } from './lock.js';
import { textFileFact } from '../facts/file.js';

/** Facts a host's plays will ask for, gathered in its first round trip (elevated: under become). */
export interface SpeculativeFacts {
  plain: Fact<unknown>[];
  elevated: Fact<unknown>[];
}

export interface SessionOptions {
  /** seconds a fact batch may run (the run's --command-timeout) */
  commandTimeout?: number;
  runId?: string;
  /** take the host lock right after connecting (apply; not facts or verify, which change nothing) */
  lock?: LockRequest;
  /** told who holds the lock when the session has to wait for it */
  onLockWait?: (holder: string, file: string) => void;
}

/**
 * One host's connection, facts and fact cache for the whole run, its commands (through sudo where
 * asked) and its lock. Cached task facts are dropped whenever a change is applied on the host, so
 * the next task plans on fresh facts. What the run counts per host is the runner's (runner/run-session.ts).
 */
export class HostSession {
  transport?: Transport;
  facts?: HostFacts;
  readonly cache = new Map<string, unknown>();
  /** round trips to the host, for -v and the benchmark */
  roundTrips = 0;
  /** how long open() took to connect, then to gather the host facts */
  readonly openedMs = { connect: 0, facts: 0 };

  /** seconds a fact batch may run on the host (the run's --command-timeout) */
  private readonly commandTimeout: number;

  /** the run's id (run-id.ts): every command of the run carries it on the host */
  readonly runId: string;

  /** where the host lock stands (lock.ts): taken (held, or shared with another name of the machine) or busy; undefined when not held or not asked for */
  lockState?: LockOutcome;

  /** the lock was let go and taken again (lock-all.ts): the facts read before may be stale */
  private relocked = false;

  /** the run was aborted here: the lock's holder is left to end what is left of the run */
  private aborted = false;

  constructor(readonly host: Host, private readonly opts: SessionOptions = {}) {
    this.commandTimeout = opts.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT;
    this.runId = opts.runId ?? newRunId();
  }

  /** An interrupted run: stop what runs of it on the host (as the login user, and as root through sudo where it is not root), then close. */
  async abort(): Promise<void> {
    if (!this.transport) return;
    this.aborted = true;
    const stop = stopRunCommand(this.runId);
    await this.transport.abort(this.facts && !this.facts.isRoot ? [stop, { ...stop, argv: become(stop.argv) }] : [stop]);
  }

  /** What marks this run's commands on the host: the run, and the lock they work under (time-limit.ts). */
  get mark(): RunMark {
    return { runId: this.runId, lockFile: this.opts.lock?.file };
  }

  /**
   * Connects and gathers the host facts. The `speculate`d facts (what the host's plays will ask
   * for) ride in the same round trip; they are kept unless they depend on elevation the login
   * user lacks (a become play with a non-root login), and a batch they break is sent again
   * without them, so they can save round trips but never change an answer.
   */
  async open(connect: (host: Host) => Promise<Transport>, speculate: () => SpeculativeFacts = () => ({ plain: [], elevated: [] })): Promise<void> {
    const started = Date.now();
    // the plays' facts are worked out while the host answers the handshake, not before it starts
    const connecting = connect(this.host);
    connecting.catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    const speculative = speculate();
    this.transport = await connecting;
    this.openedMs.connect = Date.now() - started;
    const extra = [...speculative.plain, ...speculative.elevated];
    const { lock } = this.opts;
    // the lock file rides along, first: it tells whether another run held the host while we read
    const lockFact = lock && textFileFact(lock.file);
    const base = lockFact ? [lockFact, hostFacts] : [hostFacts];
    const batch = async () => {
      try {
        return await this.runBatch([...base, ...extra], false);
      } catch (error) {
        if (extra.length === 0 || error instanceof UnreachableError) throw error;
        return this.runBatch(base, false);
      }
    };
    // the lock is tried while the facts are read, on its own channel: one round trip, not two. A
    // busy lock is waited for by the run, holding none (lock-all.ts). A facts failure is the one
    // reported (a host that refuses commands or sudo says so), and the lock is let go. Facts read
    // while another run held the host, or before one came and went, are read again once the lock is ours.
    const locking = lock && takeLock(this.transport, lock, Math.min(TRY_SECONDS, lock.waitSeconds), this.onLockWait);
    locking?.catch(() => undefined);
    let values: Map<string, unknown>;
    try {
      values = await batch();
    } catch (error) {
      locking?.then((outcome) => outcome.kind === 'taken' && outcome.lock.held.release(), () => undefined);
      throw error;
    }
    if (locking && lockFact) {
      this.roundTrips++;
      this.lockState = await locking;
      if (this.lockState.kind === 'taken' && !factsStillHold(this.lockState.lock, values.get(lockFact.key) as string | null)) values = await batch();
    }
    this.facts = values.get(hostFacts.key) as HostFacts;
    this.openedMs.facts = Date.now() - started - this.openedMs.connect;
    const needsElevation = new Set(speculative.elevated.map((f) => f.key));
    for (const fact of extra) {
      if (!values.has(fact.key) || (!this.facts.isRoot && needsElevation.has(fact.key))) continue;
      this.cache.set(fact.key, values.get(fact.key));
    }
  }

  private readonly onLockWait = (holder: string, file: string) => this.opts.onLockWait?.(holder, file);

  /** Lets go of the host lock, if held, and waits (at most 5 s) for its holder to end. */
  async releaseLock(): Promise<void> {
    const state = this.lockState;
    if (state?.kind !== 'taken') return;
    this.lockState = undefined;
    // after an abort the holder gets EOF alone: it ends what is left of the run before it lets go
    if (this.aborted) state.lock.held.abandon();
    else state.lock.held.release();
    await Promise.race([state.lock.held.ended.catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]);
  }

  /** Tries for the host lock again after releaseLock(), waiting up to `waitSeconds` for another run. */
  async retakeLock(waitSeconds: number): Promise<LockOutcome> {
    if (!this.transport || !this.opts.lock) throw new Error(`${this.host.name}: not connected`);
    this.relocked = true;
    this.roundTrips++;
    this.lockState = await takeLock(this.transport, this.opts.lock, waitSeconds, this.onLockWait);
    return this.lockState;
  }

  /** A lock another run held when open() tried it, waited for up to --lock-timeout (a delegate's, taken alone); HostLockedError past it. */
  async awaitLock(): Promise<void> {
    const { lock } = this.opts;
    if (this.lockState?.kind !== 'busy' || !lock) return;
    const outcome = await this.retakeLock(lock.waitSeconds);
    if (outcome.kind === 'busy') throw new HostLockedError(lockedMessage(outcome, lock.waitSeconds));
    await this.refreshFacts();
  }

  /** Once the lock was taken again: the host facts are read again and the cached ones dropped (another run may have changed the host). */
  async refreshFacts(): Promise<void> {
    if (!this.relocked) return;
    this.relocked = false;
    this.invalidate();
    this.facts = (await this.runBatch([hostFacts], false)).get(hostFacts.key) as HostFacts;
  }

  /** The run is over here: the lock's holder is told so (or, after an abort, left to clean up), then the connection is closed. */
  async close(): Promise<void> {
    await this.releaseLock().catch(() => undefined);
    await this.transport?.close();
  }

  /** Runs argv on the host, through sudo when `elevate` and the login user is not root. */
  exec(command: ArgvCommand, elevate: boolean): Promise<ExecResult> {
    if (!this.transport) throw new Error(`${this.host.name}: not connected`);
    this.roundTrips++;
    const wrapped = elevate && this.facts && !this.facts.isRoot ? { ...command, argv: become(command.argv) } : command;
    return this.transport.exec(wrapped);
  }

  /** Gathers the facts not cached yet, all in one round trip. */
  async gather(facts: Fact<unknown>[], elevate: boolean): Promise<void> {
    const missing = facts.filter((f) => !this.cache.has(f.key)); // batchScript sends each key once
    if (missing.length === 0) return;
    for (const [key, value] of await this.runBatch(missing, elevate)) this.cache.set(key, value);
  }

  private async runBatch(facts: Fact<unknown>[], elevate: boolean): Promise<Map<string, unknown>> {
    const script = batchScript(facts);
    const started = Date.now();
    const result = await this.exec(timeLimited({ argv: ['sh', '-s'], stdin: script }, this.commandTimeout, this.mark), elevate);
    const ran = (Date.now() - started) / 1000;
    if (timedOut(result.code, ran, this.commandTimeout)) throw new Error(`gathering facts ${timedOutMessage(this.commandTimeout, ran)} (--command-timeout)`);
    if (result.code !== 0) {
      const elevated = elevate && this.facts !== undefined && !this.facts.isRoot;
      throw new Error(describeBatchFailure(result, script, this.facts?.user ?? this.host.user ?? 'the login user', elevated));
    }
    return parseBatch(result.stdout, facts, script);
  }

  invalidate(): void {
    this.cache.clear();
  }

  /** How an opened session reached its host, for -v: the login user, whether root's commands go through sudo, and the times. */
  describeLogin(): string {
    const { user, isRoot } = this.facts!;
    return `as ${user}${isRoot ? '' : ' (not root: what needs root runs through sudo -n)'}; connected in ${this.openedMs.connect} ms, facts in ${this.openedMs.facts} ms`;
  }
}
