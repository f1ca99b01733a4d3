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
  await prefetch(tasks, env);
  const notified = new Set<string>();
  for (const task of tasks) {
    if (!(await step(task, env, false, events, notified))) return;
  }
  for (const handler of play.handlers) {
    if (notified.has(handler.name) && !(await step(handler, env, true, events, notified))) return;
  }
}

async function step(task: Task, env: TaskEnv, handler: boolean, events: RunEvents, notified: Set<string>): Promise<boolean> {
  const { session, play } = env;
  events.send({ type: 'task:start', host: session.host.name, play: play.name, task: task.name, handler, ...batchOf(env) });
  let result;
  try {
    result = await runTask(task, env, handler);
  } catch (error) {
    if (!(error instanceof UnreachableError)) throw error;
    session.recap.unreachable = true;
    events.send({ type: 'host:unreachable', host: session.host.name, message: error.message });
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
