import { UnreachableError } from '../errors.js';
import type { Fact, HostFacts } from '../facts/types.js';
import type { HostSession } from '../host/session.js';
import type { Plan } from '../modules/types.js';
import type { TaskInstance } from '../playbook/expand.js';
import { taskOnHost, type TaskOnHost } from '../playbook/task-on-host.js';
import type { Task } from '../playbook/types.js';
import type { TaskEnv } from './run-context.js';

/** The host play (see playbook/expand.ts) of this env: its registered values are layered over scopeExtra. */
export function hostPlayOf(env: TaskEnv, facts = env.host.facts!) {
  const { run, play, host } = env;
  return { inventory: run.inventory, play, host: host.host.name, facts, runId: run.runId, verbosity: run.verbosity, modules: run.modules, scopeExtra: { ...run.scopeExtra, ...host.registered } };
}

/** The task on this host, as playbook/ renders and evaluates it (with `facts` in place of the host's, to speculate). */
export function onHostOf(task: Task, env: TaskEnv, facts?: HostFacts): TaskOnHost {
  return taskOnHost(task, hostPlayOf(env, facts), env.run.expansions);
}

/** The facts a task's instances need; used to gather a whole play's facts in one round trip. */
export function factsOf(instances: TaskInstance[]): Fact<unknown>[] {
  return instances.filter((i) => !i.skipped).flatMap((i) => i.module.facts(i.params, i.ctx));
}

/** The module's plan for one instance, reading only the facts it declared (gathered into the session's cache). */
export async function planInstance(instance: TaskInstance, session: HostSession): Promise<Plan> {
  const declared = new Set(instance.module.facts(instance.params, instance.ctx).map((f) => f.key));
  const read = <T>(fact: Fact<T>): T => {
    if (!declared.has(fact.key) || !session.cache.has(fact.key)) {
      throw new Error(`module ${instance.module.name} read fact "${fact.key}" it did not declare`);
    }
    return session.cache.get(fact.key) as T;
  };
  return instance.module.plan(instance.params, read, instance.ctx);
}

/** A delegate's connection could not be had (or was lost): the delegating host's task fails. */
class DelegateUnreachable extends Error {}

/** The delegate's connection (the delegating host's own when it names itself). */
export async function delegateSession(name: string, env: TaskEnv): Promise<HostSession> {
  if (name === env.host.host.name) return env.host;
  try {
    return await env.run.delegate(name);
  } catch (error) {
    throw new DelegateUnreachable(`delegate_to ${name}: ${error instanceof UnreachableError ? error.message : `${name}: ${(error as Error).message}`}`);
  }
}
