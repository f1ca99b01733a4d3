import { UnreachableError } from '../errors.js';
import { placeholderFactsOf } from '../playbook/placeholder-facts.js';
import { isBlock, type Block, type Play, type Step, type Task } from '../playbook/types.js';
import type { Fact } from '../facts/types.js';
import type { RunEvents } from './events.js';
import type { BatchRun, Run } from './run-context.js';
import type { RunSession } from './run-session.js';
import type { SpeculativeFacts } from '../host/session.js';
import { pendingFact, pendingOn, recordPending, type PendingHandler } from './pending-handlers.js';
import type { TaskEnv } from './run-context.js';
import { runTask } from './task.js';
import { factsOf, onHostOf } from './task-plan.js';
import { registeredOutput, type TaskOutcome } from './task-result.js';

/**
 * Runs one play on one connected host: gathers the facts of every task up front in one
 * round trip, then plans and applies task by task, then the notified handlers. A failed task
 * ends the play for this host; other hosts carry on.
 */
export async function runPlayOnHost(run: Run, play: Play, batch: BatchRun, session: RunSession): Promise<void> {
  try {
    await playOnHost(run, play, batch, session);
  } finally {
    batch.once.leave(session.host.name);
    batch.lockstep?.leave(session.host.name);
  }
}

async function playOnHost(run: Run, play: Play, batch: BatchRun, session: RunSession): Promise<void> {
  const { events, selected } = run;
  const env: TaskEnv = {
    run,
    play,
    batch,
    host: session,
    beforeApply: async (task: Task) => {
      const current = await pendingOn(session, play.become);
      const names = play.handlers.filter((h) => task.notify.includes(h.name) || h.listen.some((t) => task.notify.includes(t))).map((h) => h.name);
      const add = names.filter((name) => !current.some((p) => p.play === play.name && p.handler === name));
      if (add.length) await recordPending(session, [...current, ...add.map((handler) => ({ play: play.name, handler, since: run.started }))], play.become);
    },
    onRetry: (task, r) => events.send({ type: 'task:retry', host: session.host.name, play: play.name, task: task.name, ...r, ...batchOf(batch) }),
  };
  const tasks = play.tasks.filter(selected);
  try {
    await prefetch(tasks, env);
  } catch (error) {
    return hostFailed(env, events, GATHER_FACTS, error);
  }
  let pending: PendingHandler[];
  try {
    pending = await pendingOn(session, play.become);
  } catch (error) {
    return hostFailed(env, events, GATHER_FACTS, error);
  }
  const ours = (p: PendingHandler) => p.play === play.name && play.handlers.some((h) => h.name === p.handler);
  const since = new Map(pending.filter(ours).map((p) => [p.handler, p.since]));
  const notified = new Set(since.keys());
  const walk: Walk = { env, events, notified, since, selected, stopped: false };
  const ok = await runSteps(play.steps, walk);
  if (walk.stopped || (!ok && !(run.forceHandlers && session.recap.unreachable === false))) return;
  if (!(await inStep(play.tasks.length, walk))) return;
  await runHandlers(env, events, notified, since);
}

interface Walk {
  env: TaskEnv;
  events: RunEvents;
  notified: Set<string>;
  since: Map<string, string>;
  selected: (task: Task) => boolean;
  /** the batch's failures stopped this host (max_fail_percentage): nothing more runs, rescue and always included */
  stopped: boolean;
}

/** With max_fail_percentage: waits for the batch at `position` (lockstep.ts); false once the batch's failures stop the host. */
async function inStep(position: number, walk: Walk): Promise<boolean> {
  const lockstep = walk.env.batch?.lockstep;
  if (!lockstep || (await lockstep.reach(walk.env.host.host.name, position))) return true;
  walk.stopped = true;
  return false;
}

/** Tasks and blocks in order; false once one failed (and no rescue took it). */
async function runSteps(steps: Step[], walk: Walk): Promise<boolean> {
  for (const s of steps) {
    if (isBlock(s)) {
      if (!(await runBlock(s, walk))) return false;
      continue;
    }
    if (!walk.selected(s)) continue;
    if (!(await inStep(walk.env.play.tasks.indexOf(s), walk))) return false;
    if (s.meta === 'flush_handlers') {
      await runHandlers(walk.env, walk.events, walk.notified, walk.since);
      walk.notified.clear();
      if (!walk.env.host.alive) return false;
      continue;
    }
    if (!(await step(s, walk.env, false, walk.events, walk.notified))) return false;
  }
  return true;
}

/**
 * Ansible's block semantics: a failed task in `block` ends the block and runs `rescue`; the host's
 * failure is then counted as rescued, unless a rescue task fails too. `always` runs either way. An
 * unreachable host runs neither (its connection is gone).
 */
async function runBlock(block: Block, walk: Walk): Promise<boolean> {
  const { host: session, play } = walk.env;
  let ok = await runSteps(block.block, walk);
  if (walk.stopped) return false;
  if (!ok && !session.recap.unreachable && block.rescue.length > 0) {
    session.recap.failed--;
    session.recap.rescued++;
    walk.events.send({ type: 'block:rescue', host: session.host.name, play: play.name, block: block.name ?? block.keyPath });
    ok = await runSteps(block.rescue, walk);
  }
  if (session.recap.unreachable || walk.stopped) return false;
  const always = await runSteps(block.always, walk);
  return ok && always;
}

/** The notified handlers, in their declared order; each one that ran leaves the host's pending list. */
async function runHandlers(env: TaskEnv, events: RunEvents, notified: Set<string>, since: Map<string, string>): Promise<void> {
  const { host: session, play } = env;
  const done = new Set<string>();
  for (const handler of play.handlers) {
    if (!notified.has(handler.name) && !handler.listen.some((topic) => notified.has(topic))) continue;
    if (!(await step(handler, env, true, events, notified, since.get(handler.name)))) break;
    done.add(handler.name);
  }
  if (env.run.check || done.size === 0 || session.recap.unreachable) return;
  const current = await pendingOn(session, play.become);
  const left = current.filter((p) => !(p.play === play.name && done.has(p.handler)));
  if (left.length === current.length) return;
  try {
    await recordPending(session, left, play.become);
  } catch (error) {
    hostFailed(env, events, 'record pending handlers', error);
  }
}

/** The name of the step a failure outside any task is reported under. */
export const GATHER_FACTS = 'gather facts';

/**
 * A failure outside a task's own handling (gathering facts, a connection lost between tasks):
 * the host is unreachable, or has a failed step named `what`, with the reason. Other hosts carry on.
 */
export function hostFailed(env: TaskEnv, events: RunEvents, what: string, error: unknown): void {
  const { host: session, play } = env;
  const host = session.host.name;
  if (error instanceof UnreachableError && env.run.interrupt?.aborted) {
    session.recap.interrupted = true; // we closed the connection: the host is not at fault
    return;
  }
  if (error instanceof UnreachableError) {
    session.recap.unreachable = true;
    events.send({ type: 'host:unreachable', host, message: error.message });
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  session.recap.failed++;
  events.send({ type: 'task:start', host, play: play.name, task: what, handler: false, ...batchOf(env.batch) });
  events.send({
    type: 'task:result', host, play: play.name, task: what, handler: false, status: 'failed', changes: [], ms: 0,
    failure: { command: '', exitCode: null, stderrTail: '', message }, ...batchOf(env.batch),
  });
}

/** One task on the host: run (or, with run_once, take the first host's result), count, tell, register, notify. */
async function step(task: Task, env: TaskEnv, handler: boolean, events: RunEvents, notified: Set<string>, pendingSince?: string): Promise<boolean> {
  const { host: session, play } = env;
  const host = session.host.name;
  if (env.run.interrupt?.stopping) {
    session.recap.interrupted = true; // nothing new starts once the run was asked to stop
    return false;
  }
  const run = async (): Promise<TaskOutcome | Error> => {
    events.send({ type: 'task:start', host, play: play.name, task: task.name, handler, ...batchOf(env.batch) });
    try {
      return await runTask(task, env, handler);
    } catch (error) {
      hostFailed(env, events, task.name, error);
      return error instanceof Error ? error : new Error(String(error));
    }
  };
  let outcome: TaskOutcome | Error;
  let ranHere = true;
  const once = env.batch?.once;
  if (task.runOnce && once && !handler) {
    const shared = await once.run(task, host, run);
    ranHere = shared.ranOn === host;
    outcome = shared.result as TaskOutcome | Error;
    if (!ranHere && !(outcome instanceof Error) && outcome.result.status === 'failed' && !task.ignoreErrors) {
      // as in Ansible, a failed run_once task fails every host of the batch
      hostFailed(env, events, task.name, new Error(`run_once task failed on ${shared.ranOn}: ${outcome.result.failure?.message ?? ''}`));
      return false;
    }
    if (outcome instanceof Error) return ranHere ? false : true;
  } else {
    outcome = await run();
    if (outcome instanceof Error) return false;
  }
  if (outcome.vars) Object.assign(session.registered, outcome.vars);
  if (task.register) session.registered[task.register] = outcome.registered;
  // what a sensitive task printed is as secret as the task: redacted wherever a later task puts it
  if (task.sensitive) for (const text of registeredOutput(outcome.registered)) env.run.conceal?.(text);
  if (!ranHere) return true;
  const { result } = outcome;
  const ignored = result.status === 'failed' && task.ignoreErrors;
  if (ignored) session.recap.ignored++;
  else session.recap[result.status]++;
  events.send({ type: 'task:result', ...result, ...(ignored ? { ignored: true } : {}), ...(pendingSince ? { pendingSince } : {}), ...batchOf(env.batch) });
  if (result.status === 'failed' && env.run.interrupt?.aborted) session.recap.interrupted = true;
  if (result.status === 'changed') for (const name of task.notify) notified.add(name);
  return result.status !== 'failed' || ignored;
}

const batchOf = (batch?: BatchRun) => (batch?.serial ? { batch: batch.serial.index } : {});

/**
 * The facts a host's plays will ask for, split by whether they are gathered with become. They
 * ride along with the host facts in the connection's first round trip, so the host facts are not
 * known yet: tasks are expanded with the placeholder facts validation used (a Debian systemd
 * host; the same expansions, reused). Where the host turns out otherwise (Upstart, say), a task
 * that read them asks for facts not gathered yet, and its play gathers them then; a speculated
 * fact is the host's real value of its key whatever guess named it.
 */
export function speculativeFacts(envs: TaskEnv[]): SpeculativeFacts {
  const plain: Fact<unknown>[] = [];
  const elevated: Fact<unknown>[] = [];
  for (const env of envs) {
    const presumed = placeholderFactsOf(env.run.inventory, env.host.host.name);
    for (const task of env.play.tasks.filter((t) => env.run.selected(t) && t.delegateTo === undefined)) {
      try {
        ((task.become ?? env.play.become) ? elevated : plain).push(...factsOf(onHostOf(task, env, presumed).instances()));
      } catch {
        // needs a registered result: gathered when the play runs
      }
    }
    (env.play.become ? elevated : plain).push(pendingFact(env.host));
  }
  return { plain, elevated };
}

/** Best effort: facts of tasks that cannot be rendered yet are gathered when the task runs. */
async function prefetch(tasks: Task[], env: TaskEnv): Promise<void> {
  // a delegated task's facts are the delegate's, gathered over its connection when the task runs
  const facts = tasks.filter((task) => task.delegateTo === undefined).flatMap((task) => {
    try {
      return factsOf(onHostOf(task, env).instances());
    } catch {
      return [];
    }
  });
  await env.host.gather([...facts, pendingFact(env.host)], env.play.become);
}
