import { toShell } from '../command.js';
import type { Command } from '../command.js';
import { CommandError, ConfigErrors, UnreachableError, tail } from '../errors.js';
import type { Fact } from '../facts/types.js';
import type { Inventory } from '../inventory/types.js';
import { unreadBeforeFacts, withBeforeRead } from '../modules/diff-before.js';
import type { Change, Plan } from '../modules/types.js';
import { expandTask, type TaskInstance } from '../playbook/expand.js';
import type { Play, Task } from '../playbook/types.js';
import { failedStep, groupCommands } from './command-group.js';
import type { ChangeReport, TaskFailure, TaskResult, TaskStatus } from './events.js';
import type { Batch } from './batches.js';
import { concealed } from './redact.js';
import type { HostSession } from './session.js';

export interface TaskEnv {
  inventory: Inventory;
  play: Play;
  session: HostSession;
  check: boolean;
  /** diffs are shown: the before side of a changed file is read from the host after planning */
  diff?: boolean;
  /** extra scope names for templates (secret()) */
  scopeExtra: Record<string, unknown>;
  /** the host's batch when the play runs in batches (`serial`) */
  batch?: Batch;
  /** run handlers notified before a task failed, at the point of failure (--force-handlers) */
  forceHandlers?: boolean;
  /** when the run started (ISO 8601): recorded with handlers left pending */
  runStarted?: string;
  /** awaited once per task, before its first change is applied (never in check mode); records pending handlers */
  beforeApply?: (task: Task) => Promise<void>;
}

/** The task's instances on this host (see playbook/expand.ts); parameter problems are thrown. */
export function instancesOf(task: Task, env: TaskEnv): TaskInstance[] {
  const { inventory, play, session } = env;
  const instances = expandTask(task, { inventory, play, host: session.host.name, facts: session.facts!, scopeExtra: env.scopeExtra });
  const errors = instances.flatMap((i) => i.errors);
  if (errors.length) throw new ConfigErrors(errors);
  return instances;
}

/** The facts a task's instances need; used to gather a whole play's facts in one round trip. */
export function factsOf(instances: TaskInstance[]): Fact<unknown>[] {
  return instances.filter((i) => !i.skipped).flatMap((i) => i.module.facts(i.params, i.ctx));
}

/** Plans and (unless check) applies one task on one host. Never throws; the result explains itself. */
export async function runTask(task: Task, env: TaskEnv, handler: boolean): Promise<TaskResult> {
  const started = Date.now();
  const result = (status: TaskStatus, extra: Partial<TaskResult> = {}): TaskResult => {
    const r: TaskResult = { host: env.session.host.name, play: env.play.name, task: task.name, handler, status, changes: [], ms: Date.now() - started, ...extra };
    return task.sensitive ? concealed(r) : r;
  };
  const elevate = task.become ?? env.play.become;
  const changes: ChangeReport[] = [];
  const reasons: string[] = [];
  try {
    const instances = instancesOf(task, env);
    if (instances.every((i) => i.skipped)) return result('skipped', { reason: instances[0]?.skipped ?? 'empty loop' });
    await env.session.gather(factsOf(instances), elevate);
    for (const instance of instances) {
      if (instance.skipped) continue;
      await env.session.gather(factsOf([instance]), elevate); // no-op unless an earlier item changed the host
      const plan = await planInstance(instance, env);
      if (env.diff) plan.changes = await readBefore(plan.changes, env, elevate);
      const { label } = instance;
      if (plan.changes.length === 0) {
        reasons.push(label + (plan.reason ?? 'nothing to do'));
        continue;
      }
      for (const change of plan.changes) {
        if (!env.check && changes.length === 0) await env.beforeApply?.(task);
        changes.push({ title: label + change.title, diff: change.diff });
        if (!env.check) await apply(change.commands, env, elevate);
      }
      if (!env.check) env.session.invalidate();
    }
    return changes.length ? result('changed', { changes }) : result('ok', { reason: reasons.join('; ') });
  } catch (error) {
    if (error instanceof UnreachableError) throw error;
    return result('failed', { changes, failure: failureOf(error) });
  }
}

async function planInstance(instance: TaskInstance, env: TaskEnv): Promise<Plan> {
  const { session } = env;
  const declared = new Set(instance.module.facts(instance.params, instance.ctx).map((f) => f.key));
  const read = <T>(fact: Fact<T>): T => {
    if (!declared.has(fact.key) || !session.cache.has(fact.key)) {
      throw new Error(`module ${instance.module.name} read fact "${fact.key}" it did not declare`);
    }
    return session.cache.get(fact.key) as T;
  };
  return instance.module.plan(instance.params, read, instance.ctx);
}

/** The before side of the plan's diffs, in one round trip when there is any to read. */
async function readBefore(changes: Change[], env: TaskEnv, elevate: boolean): Promise<Change[]> {
  const facts = unreadBeforeFacts(changes);
  if (facts.length === 0) return changes;
  await env.session.gather(facts, elevate);
  return withBeforeRead(changes, <T>(fact: Fact<T>) => env.session.cache.get(fact.key) as T);
}

async function apply(commands: Command[], env: TaskEnv, elevate: boolean): Promise<void> {
  for (const group of groupCommands(commands)) {
    const res = await env.session.exec(group.run, elevate);
    const failed = failedStep(group, res.code, res.stderr);
    // the stdout of a command fed a secret may echo it: only its stderr is shown
    const output = failed?.command.sensitive || group.run.sensitive ? failed?.stderr ?? '' : failed?.stderr || res.stdout;
    if (failed) throw new CommandError(env.session.host.name, toShell(failed.command.argv), res.code, tail(output));
  }
}

function failureOf(error: unknown): TaskFailure {
  if (error instanceof CommandError) {
    return { command: error.command, exitCode: error.exitCode, stderrTail: error.stderrTail, message: error.message };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { command: '', exitCode: null, stderrTail: '', message };
}
