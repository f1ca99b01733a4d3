import { ConfigError, ConfigErrors } from '../errors.js';
import { expandTask, playScope, taskWhere, type HostPlay, type TaskInstance } from './expand.js';
import type { Expansions } from './expansions.js';
import { evaluate } from './expression.js';
import { renderString } from './render.js';
import type { Task } from './types.js';

/**
 * One task on one host, as the runner asks for it: its loop items rendered, and its run-time
 * keywords (until, changed_when, failed_when, delegate_to) evaluated here, so the runner holds no
 * expression of its own and calls into playbook/ once per task.
 */
export interface TaskOnHost {
  /** the task's loop items on the host (one without `loop`), memoised by the run's expansions; parameter problems are thrown as ConfigErrors */
  instances(): TaskInstance[];
  /** `until` over the host's scope and the value `register` binds */
  until(registered: unknown): boolean;
  /** `changed_when` over an item's scope with what it registered */
  changedWhen(scope: Record<string, unknown>): boolean;
  /** `failed_when` over an item's scope with what it registered */
  failedWhen(scope: Record<string, unknown>): boolean;
  /** the inventory host a `delegate_to` task (or loop item) runs on, rendered with the item's scope */
  delegateTo(scope: Record<string, unknown>): string;
}

export function taskOnHost(task: Task, hp: HostPlay, expansions?: Expansions): TaskOnHost {
  const where = (key: string) => taskWhere(task, key, hp.host);
  const registering = (value: unknown) => (task.register ? { [task.register]: value } : {});
  return {
    instances() {
      const instances = expansions ? expansions.expand(task, hp) : expandTask(task, hp);
      const errors = instances.flatMap((i) => i.errors);
      if (errors.length) throw new ConfigErrors(errors);
      return instances;
    },
    until: (registered) => Boolean(evaluate(task.until!, { ...playScope(hp, task), ...registering(registered) }, where('until'))),
    changedWhen: (scope) => Boolean(evaluate(task.changedWhen!, scope, where('changed_when'))),
    failedWhen: (scope) => Boolean(evaluate(task.failedWhen!, scope, where('failed_when'))),
    delegateTo(scope) {
      const at = where('delegate_to');
      const name = renderString(task.delegateTo!, scope, at).trim();
      if (!hp.inventory.hosts.has(name)) throw new ConfigError(at.pos, at.keyPath, `delegate_to names no host of the inventory: ${JSON.stringify(name)} (for host ${hp.host})`);
      return name;
    },
  };
}
