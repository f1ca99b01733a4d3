import { ExitCode, UnreachableError } from '../errors.js';
import type { Host, Inventory } from '../inventory/types.js';
import type { Module } from '../modules/types.js';
import type { Play, Task } from '../playbook/types.js';
import type { Transport } from '../transport/types.js';
import type { HostRecap, RunEvents } from './events.js';
import { batchBreaks, splitBatches } from './batches.js';
import { runPlayOnHost, speculativeFacts } from './play.js';
import { RunOnce } from './run-once.js';
import { Lockstep } from './lockstep.js';
import type { BatchRun, Run, TaskEnv } from './run-context.js';
import { eachLimit } from '../host/pool.js';
import { RunSession } from './run-session.js';
import { Delegates } from './delegates.js';
import { playHostsOf, targetHosts } from '../playbook/targets.js';
import { Expansions } from '../playbook/expansions.js';
import { newRunId } from '../host/run-id.js';
import type { Interrupt } from './interrupt.js';
import { DEFAULT_LOCK_TIMEOUT, lockedMessage, type LockRequest } from '../host/lock.js';
import { lockAll } from './lock-all.js';
import { lockFileOf } from '../inventory/lock-file.js';

export interface RunOptions {
  check: boolean;
  /** diffs are shown: read the before side of changed files (one more round trip, only then) */
  diff?: boolean;
  /** how many times -v was given (ModuleContext.verbosity) */
  verbosity?: number;
  limit?: string;
  /** the tasks --tags, --skip-tags and --start-at-task select (playbook/expand.ts taskFilter) */
  selected?: (task: Task) => boolean;
  forks: number;
  connect: (host: Host) => Promise<Transport>;
  /** names available to templates besides vars (secret()) */
  scopeExtra: Record<string, unknown>;
  /** run a host's notified handlers even when one of its tasks failed */
  forceHandlers?: boolean;
  /** seconds a command may run unless its task sets `timeout:` */
  commandTimeout?: number;
  /** SIGINT/SIGTERM: stop starting work, then abort what runs (interrupt.ts) */
  interrupt?: Interrupt;
  /** seconds to wait for another run's host lock (host/lock.ts; default 300); check mode takes no lock */
  lockTimeout?: number;
  /** makes a value secret for the rest of the run (what sensitive tasks register) */
  conceal?: (value: string) => void;
  /** how the inventory and playbooks were had (cli/load-cache.ts), for -v */
  loadNote?: string;
  /** the task walk's memo, shared with offline validation (default: the run's own) */
  expansions?: Expansions;
  /** the module registry (default the real one; a test may bring its own) */
  modules?: (name: string) => Module | undefined;
}

export interface RunOutcome {
  recap: Map<string, HostRecap>;
  exitCode: ExitCode;
  /** round trips per host (connection + facts + commands) */
  roundTrips: Map<string, number>;
}

/**
 * Plays run in order; within a play (or within each of its batches, with `serial`), hosts run in
 * parallel (up to `forks`), each through all its tasks and handlers. A host that failed or became
 * unreachable takes no part in later plays; a batch with too many failures ends the run.
 */
export async function runPlays(inventory: Inventory, plays: Play[], opts: RunOptions, events: RunEvents): Promise<RunOutcome> {
  const started = Date.now();
  const runId = newRunId();
  const playHosts = playHostsOf(inventory, plays);
  const names = targetHosts(inventory, plays, opts.limit, playHosts);
  const sessionOptions = (host: Host) => ({
    commandTimeout: opts.commandTimeout,
    runId,
    ...(opts.check ? {} : { lock: lockRequestFor(host, runId, opts.lockTimeout, new Date(started).toISOString()) }),
    onLockWait: (holder: string, file: string) => events.send({ type: 'host:lock-wait', host: host.name, holder, file, seconds: opts.lockTimeout ?? DEFAULT_LOCK_TIMEOUT }),
  });
  const sessions = new Map(names.map((n) => [n, new RunSession(inventory.hosts.get(n)!, sessionOptions(inventory.hosts.get(n)!))]));
  const delegates = new Delegates(inventory, sessions, opts.connect, sessionOptions);
  const run: Run = {
    inventory,
    playHosts,
    check: opts.check,
    diff: opts.diff,
    verbosity: opts.verbosity ?? 0,
    modules: opts.modules,
    forks: opts.forks,
    selected: opts.selected ?? (() => true),
    scopeExtra: opts.scopeExtra,
    forceHandlers: opts.forceHandlers,
    commandTimeout: opts.commandTimeout,
    started: new Date(started).toISOString(),
    runId,
    interrupt: opts.interrupt,
    conceal: opts.conceal,
    expansions: opts.expansions ?? new Expansions(),
    events,
    delegate: (name) => delegates.session(name),
  };
  events.send({ type: 'run:start', hosts: names, check: opts.check, ...(opts.loadNote ? { load: opts.loadNote } : {}) });
  const { interrupt } = opts;
  interrupt?.onPhase((phase, signal) => events.send({ type: 'run:interrupt', phase, signal, graceSeconds: interrupt.grace_s }));
  interrupt?.onAbort(async () => {
    await Promise.all([...[...sessions.values()].map((s) => s.abort()), delegates.abort()]);
  });
  try {
    await openSessions([...sessions.values()], plays, run, opts.connect);
    await takeHostLocks([...sessions.values()], plays, run, opts.lockTimeout ?? DEFAULT_LOCK_TIMEOUT);
    await playInOrder(plays, sessions, run, opts.limit);
  } finally {
    interrupt?.done();
    await Promise.all([...[...sessions.values()].map((s) => s.close().catch(() => undefined)), delegates.close()]);
  }
  const recap = new Map([...sessions].map(([n, s]) => [n, s.recap]));
  events.send({ type: 'run:end', recap, ms: Date.now() - started, check: opts.check });
  return { recap, exitCode: exitCodeOf(recap), roundTrips: new Map([...sessions].map(([n, s]) => [n, s.roundTrips])) };
}

/** A host whose connection failed or was lost: unreachable, or interrupted when the run was aborted (we closed it). */
function lost(run: Run, session: RunSession, error: unknown): void {
  if (run.interrupt?.aborted) {
    session.recap.interrupted = true;
    return;
  }
  session.recap.unreachable = true;
  const message = error instanceof UnreachableError ? error.message : `${session.host.name}: ${(error as Error).message}`;
  run.events.send({ type: 'host:unreachable', host: session.host.name, message });
}

/** Connects to every host (up to `forks` at once), its facts and its plays' facts speculated in the first round trip. */
async function openSessions(sessions: RunSession[], plays: Play[], run: Run, connect: RunOptions['connect']): Promise<void> {
  await eachLimit(sessions, run.forks, async (session) => {
    if (run.interrupt?.stopping) {
      session.recap.interrupted = true;
      return;
    }
    const t0 = Date.now();
    try {
      const envs = plays.filter((play) => run.playHosts.get(play)!.has(session.host.name)).map((play): TaskEnv => ({ run, play, host: session }));
      await session.open(connect, () => speculativeFacts(envs));
      run.events.send({ type: 'host:connected', host: session.host.name, ms: Date.now() - t0, connectMs: session.openedMs.connect, factsMs: session.openedMs.facts });
    } catch (error) {
      lost(run, session, error);
    }
  });
}

/**
 * Every host's lock, or none held while waiting for another run (lock-all.ts); hosts whose lock
 * was let go and taken again read their facts again.
 */
async function takeHostLocks(opened: RunSession[], plays: Play[], run: Run, waitSeconds: number): Promise<void> {
  const { interrupt } = run;
  const lostHere = (session: RunSession, error: unknown) => lost(run, session, error);
  const busy = await lockAll(opened.filter((s) => s.alive), { waitSeconds, stopping: () => interrupt?.stopping ?? false, lost: lostHere });
  for (const session of busy) {
    if (interrupt?.stopping) session.recap.interrupted = true;
    else if (session.lockState?.kind === 'busy') lockFailed(session, plays, run, lockedMessage(session.lockState, waitSeconds));
  }
  await Promise.all(opened.filter((s) => s.alive && s.lockState?.kind === 'taken').map((s) => s.refreshFacts().catch((error: unknown) => lostHere(s, error))));
}

/** The plays in order, each on its hosts still alive; a play whose batch failures call off the run ends it. */
async function playInOrder(plays: Play[], sessions: Map<string, RunSession>, run: Run, limit: string | undefined): Promise<void> {
  for (const play of plays) {
    const members = run.playHosts.get(play)!;
    const hosts = [...sessions.values()].filter((s) => members.has(s.host.name) && s.alive);
    if (hosts.length === 0) {
      run.events.send({ type: 'play:skipped', play: play.name, reason: noHostReason(play, members, sessions, limit) });
      continue;
    }
    if (run.interrupt?.stopping) {
      for (const s of hosts) s.recap.interrupted = true;
      continue;
    }
    const calledOff = await runPlay(play, hosts, sessions, run);
    if (calledOff) break;
  }
}

/**
 * One play over its hosts, batch after batch (one batch of all of them without `serial`); each
 * batch runs to the end of the play, handlers included, before the next starts. Returns true when
 * a batch's failures called off the rest of the run.
 */
async function runPlay(play: Play, hosts: RunSession[], sessions: Map<string, RunSession>, run: Run): Promise<boolean> {
  const { events } = run;
  const batches = splitBatches(hosts.map((s) => s.host.name), play.serial);
  const rolling = play.serial !== undefined;
  events.send({ type: 'play:start', play: play.name, hosts: hosts.map((s) => s.host.name), ...(rolling ? { serial: batches.map((b) => b.hosts.length) } : {}) });
  for (const batch of batches) {
    const members = batch.hosts.map((name) => sessions.get(name)!);
    if (run.interrupt?.stopping) {
      for (const s of members) if (s.alive) s.recap.interrupted = true;
      continue;
    }
    if (rolling) {
      events.send({ type: 'batch:start', play: play.name, batch: batch.index, of: batch.of, hosts: batch.hosts });
      for (const s of members) s.recap.batches.push({ play: play.name, batch: batch.index, of: batch.of });
    }
    // run_once means the first host of this batch (of the play, without serial)
    const once = new RunOnce(members.map((s) => s.host.name));
    const overLimit = () => batchBreaks(members.filter((s) => !s.alive).length, members.length, play.maxFailPercentage);
    const lockstep = play.maxFailPercentage === undefined ? undefined : new Lockstep(batch.hosts, overLimit);
    const batchRun: BatchRun = { serial: rolling ? batch : undefined, once, lockstep };
    await eachLimit(members, run.forks, (session) => runPlayOnHost(run, play, batchRun, session));
    const failed = members.filter((s) => !s.alive).map((s) => s.host.name);
    if (rolling) events.send({ type: 'batch:end', play: play.name, batch: batch.index, of: batch.of, failed });
    if ((rolling || play.maxFailPercentage !== undefined) && overLimit()) {
      const notRun = batches.slice(batch.index).flatMap((b) => b.hosts);
      const limit = play.maxFailPercentage === undefined ? 'every host of the batch failed' : `more than max_fail_percentage ${play.maxFailPercentage}% allows`;
      const reason =
        `${failed.length} of ${members.length} host(s) in batch ${batch.index}/${batch.of} of play "${play.name}" failed (${failed.join(', ')}), ` +
        `${limit}: ${notRun.length ? 'the later batches and ' : ''}the later plays do not run`;
      for (const s of sessions.values()) if (s.alive) s.recap.calledOff.push(reason);
      events.send({ type: 'play:called-off', play: play.name, batch: batch.index, of: batch.of, failed, notRun, reason });
      return true;
    }
  }
  return false;
}

/** Why a play has no host to run on: --limit left them all out, or they failed or became unreachable earlier. */
function noHostReason(play: Play, members: ReadonlySet<string>, sessions: Map<string, RunSession>, limit?: string): string {
  if (members.size === 0) return `${JSON.stringify(play.hosts)} leaves no host of the inventory`;
  const inRun = [...members].filter((name) => sessions.has(name));
  if (inRun.length === 0) return `no host of ${JSON.stringify(play.hosts)} is in --limit ${JSON.stringify(limit ?? '')}`;
  return `its hosts failed or became unreachable earlier in the run (${inRun.join(', ')})`;
}

function lockRequestFor(host: Host, runId: string, lockTimeout: number | undefined, started: string): LockRequest {
  return { file: lockFileOf(host), runId, waitSeconds: lockTimeout ?? DEFAULT_LOCK_TIMEOUT, started };
}

/** Another run held the host's lock too long: the host fails (a "host lock" step of its first play), the others carry on. */
function lockFailed(session: RunSession, plays: Play[], { playHosts, events }: Run, message: string): void {
  const host = session.host.name;
  const play = plays.find((p) => playHosts.get(p)!.has(host))?.name ?? '';
  session.recap.failed++;
  events.send({ type: 'task:start', host, play, task: HOST_LOCK, handler: false });
  events.send({ type: 'task:result', host, play, task: HOST_LOCK, handler: false, status: 'failed', changes: [], ms: 0, failure: { command: '', exitCode: null, stderrTail: '', message: `${host}: ${message}` } });
}

const HOST_LOCK = 'host lock';

export function exitCodeOf(recap: Map<string, HostRecap>): ExitCode {
  const all = [...recap.values()];
  if (all.some((r) => r.interrupted)) return ExitCode.INTERRUPTED;
  if (all.some((r) => r.unreachable)) return ExitCode.UNREACHABLE;
  if (all.some((r) => r.failed > 0)) return ExitCode.TASK_FAILED;
  return ExitCode.OK;
}
