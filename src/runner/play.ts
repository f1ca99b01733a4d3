import { UnreachableError } from '../errors.js';
import type { Task } from '../playbook/types.js';
import { taskSelected } from '../playbook/expand.js';
import type { RunEvents } from './events.js';
import { factsOf, instancesOf, runTask } from './task.js';
import type { TaskEnv } from './task.js';

/**
 * Runs one play on one connected host: gathers the facts of every task up front in one
 * round trip, then plans and applies task by task, then the notified handlers. A failed task
 * ends the play for this host; other hosts carry on.
 */
export async function runPlayOnHost(env: TaskEnv, tags: string[] | undefined, events: RunEvents): Promise<void> {
  const { play } = env;
  const tasks = play.tasks.filter((t) => taskSelected(t, tags));
  try {
    await prefetch(tasks, env);
  } catch (error) {
    return hostFailed(env, events, GATHER_FACTS, error);
  }
  const notified = new Set<string>();
  for (const task of tasks) {
    if (!(await step(task, env, false, events, notified))) return;
  }
  for (const handler of play.handlers) {
    if (notified.has(handler.name) && !(await step(handler, env, true, events, notified))) return;
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

async function step(task: Task, env: TaskEnv, handler: boolean, events: RunEvents, notified: Set<string>): Promise<boolean> {
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
  events.send({ type: 'task:result', ...result, ...batchOf(env) });
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
  await env.session.gather(facts, env.play.become);
}
