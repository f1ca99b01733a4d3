import { UnreachableError } from '../errors.js';
import type { Task } from '../playbook/types.js';
import type { RunEvents } from './events.js';
import { pendingFact, pendingOn, recordPending, type PendingHandler } from './pending-handlers.js';
import { factsOf, instancesOf, runTask } from './task.js';
import type { TaskEnv } from './task.js';

/**
 * Runs one play on one connected host: gathers the facts of every task up front in one
 * round trip, then plans and applies task by task, then the notified handlers. A failed task
 * ends the play for this host; other hosts carry on.
 */
export async function runPlayOnHost(env: TaskEnv, selected: (task: Task) => boolean, events: RunEvents): Promise<void> {
  const { play } = env;
  const tasks = play.tasks.filter(selected);
  try {
    await prefetch(tasks, env);
  } catch (error) {
    return hostFailed(env, events, GATHER_FACTS, error);
  }
  const { session } = env;
  let pending: PendingHandler[];
  try {
    pending = await pendingOn(session, play.become);
  } catch (error) {
    return hostFailed(env, events, GATHER_FACTS, error);
  }
  const ours = (p: PendingHandler) => p.play === play.name && play.handlers.some((h) => h.name === p.handler);
  const since = new Map(pending.filter(ours).map((p) => [p.handler, p.since]));
  const notified = new Set(since.keys());
  const beforeApply = async (task: Task) => {
    const current = await pendingOn(session, play.become);
    const add = task.notify.filter((name) => !current.some((p) => p.play === play.name && p.handler === name));
    if (add.length) await recordPending(session, [...current, ...add.map((handler) => ({ play: play.name, handler, since: env.runStarted ?? new Date().toISOString() }))], play.become);
  };
  const taskEnv = { ...env, beforeApply };
  let failed = false;
  for (const task of tasks) {
    if (!(await step(task, taskEnv, false, events, notified))) {
      failed = true;
      break;
    }
  }
  if (failed && !(env.forceHandlers && session.recap.unreachable === false)) return;
  await runHandlers(taskEnv, events, notified, since);
}

/** The notified handlers, in their declared order; each one that ran leaves the host's pending list. */
async function runHandlers(env: TaskEnv, events: RunEvents, notified: Set<string>, since: Map<string, string>): Promise<void> {
  const { session, play } = env;
  const done = new Set<string>();
  for (const handler of play.handlers) {
    if (!notified.has(handler.name)) continue;
    if (!(await step(handler, env, true, events, notified, since.get(handler.name)))) break;
    done.add(handler.name);
  }
  if (env.check || done.size === 0 || session.recap.unreachable) return;
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
  const { session, play } = env;
  const host = session.host.name;
  if (error instanceof UnreachableError) {
    session.recap.unreachable = true;
    events.send({ type: 'host:unreachable', host, message: error.message });
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  session.recap.failed++;
  events.send({ type: 'task:start', host, play: play.name, task: what, handler: false, ...batchOf(env) });
  events.send({
    type: 'task:result', host, play: play.name, task: what, handler: false, status: 'failed', changes: [], ms: 0,
    failure: { command: '', exitCode: null, stderrTail: '', message }, ...batchOf(env),
  });
}

async function step(task: Task, env: TaskEnv, handler: boolean, events: RunEvents, notified: Set<string>, pendingSince?: string): Promise<boolean> {
  const { session, play } = env;
  events.send({ type: 'task:start', host: session.host.name, play: play.name, task: task.name, handler, ...batchOf(env) });
  let result;
  try {
    result = await runTask(task, env, handler);
  } catch (error) {
    hostFailed(env, events, task.name, error);
    return false;
  }
  session.recap[result.status]++;
  events.send({ type: 'task:result', ...result, ...(pendingSince ? { pendingSince } : {}), ...batchOf(env) });
  if (result.status === 'changed') for (const name of task.notify) notified.add(name);
  return result.status !== 'failed';
}

const batchOf = (env: TaskEnv) => (env.batch ? { batch: env.batch.index } : {});

/** Best effort: facts of tasks that cannot be rendered yet are gathered when the task runs. */
async function prefetch(tasks: Task[], env: TaskEnv): Promise<void> {
  const facts = tasks.flatMap((task) => {
    try {
      return factsOf(instancesOf(task, env));
    } catch {
      return [];
    }
  });
  await env.session.gather([...facts, pendingFact(env.session)], env.play.become);
}
