import { CommandError, UnreachableError } from '../errors.js';
import type { HostSession } from '../host/session.js';
import { DEFAULT_COMMAND_TIMEOUT } from '../host/time-limit.js';
import type { TaskInstance } from '../playbook/expand.js';
import { unproduced, Unproduced } from '../playbook/expression.js';
import type { TaskOnHost } from '../playbook/task-on-host.js';
import type { Task } from '../playbook/types.js';
import type { ChangeReport } from './events.js';
import type { TaskEnv } from './run-context.js';
import { applyCommands, commandOutput, readBefore } from './task-apply.js';
import { delegateSession, factsOf, onHostOf, planInstance } from './task-plan.js';
import { failedWhenFailure, failureOf, isRegistered, loopFailure, NOTHING_RAN, TaskTally, type Registered, type TaskOutcome } from './task-result.js';

/* A task on one host: plan (task-plan.ts), apply (task-apply.ts), result (task-result.ts); this file walks the three. */

const DEFAULT_RETRIES = 3;
const DEFAULT_DELAY_S = 5;

/** How many times a task with `until` runs at most, as in Ansible: retries + 1; `retries: 0` runs it once. */
export function attemptsOf(task: Task): number {
  if (task.until === undefined) return 1;
  const retries = task.retries ?? DEFAULT_RETRIES;
  return retries <= 0 ? 1 : retries + 1;
}

/**
 * Plans and (unless check) applies one task on one host, `until` included: it re-runs, `delay`
 * seconds apart, until the condition holds or its attempts are used up, and the last result counts.
 * Never throws but for an unreachable host; the result explains itself.
 */
export async function runTask(task: Task, env: TaskEnv, handler: boolean): Promise<TaskOutcome> {
  const attempts = attemptsOf(task);
  for (let attempt = 1; ; attempt++) {
    const onHost = onHostOf(task, env);
    const outcome = await attemptTask(task, onHost, env, handler);
    if (task.until === undefined || outcome.result.status === 'skipped' || env.run.interrupt?.stopping) return outcome;
    let met: boolean;
    try {
      met = onHost.until(outcome.registered);
    } catch (error) {
      if (error instanceof Unproduced) return outcome; // check mode: the condition cannot be known
      return { ...outcome, result: { ...outcome.result, status: 'failed', failure: failureOf(error) } };
    }
    if (met) return outcome;
    if (attempt >= attempts) {
      const message = `until ${JSON.stringify(task.until)} still false after ${attempts} attempt(s)${outcome.result.failure ? `; last failure: ${outcome.result.failure.message}` : ''}`;
      const registered = isRegistered(outcome.registered) ? { ...outcome.registered, failed: true } : outcome.registered;
      return { registered, result: { ...outcome.result, status: 'failed', failure: { ...(outcome.result.failure ?? { command: '', exitCode: null, stderrTail: '' }), message } } };
    }
    const delay = task.delay ?? DEFAULT_DELAY_S;
    env.onRetry?.(task, { attempt, of: attempts, delay, status: outcome.result.status });
    await new Promise((r) => setTimeout(r, delay * 1000));
  }
}

/** One attempt: every loop item planned and applied on the host (or its delegate), then summed up. */
async function attemptTask(task: Task, onHost: TaskOnHost, env: TaskEnv, handler: boolean): Promise<TaskOutcome> {
  const tally = new TaskTally(task, env.host.host.name, env.play.name, handler);
  const elevate = task.become ?? env.play.become;
  // the connection the current item runs over: the host's own, or its delegate's
  const at: { on: HostSession } = { on: env.host };
  try {
    const instances = onHost.instances();
    if (instances.every((i) => i.skipped)) {
      for (const i of instances) tally.skippedItem(task.loop !== undefined ? { item: i.item } : {});
      return { result: tally.result('skipped', { reason: instances[0]?.skipped ?? 'empty loop' }), registered: { ...tally.registered(false), skipped: true } };
    }
    if (task.delegateTo === undefined) await at.on.gather(factsOf(instances), elevate);
    for (const [n, instance] of instances.entries()) {
      // loop_control.pause: between items, as in Ansible
      if (n > 0 && task.loopControl.pause) await new Promise((r) => setTimeout(r, task.loopControl.pause! * 1000));
      await runItem(instance, { task, onHost, env, elevate, tally, at });
    }
    return summary(task, tally, instances.length);
  } catch (error) {
    // a delegate that cannot be reached fails this host's task; this host's own connection is fine
    if (error instanceof UnreachableError && at.on === env.host) throw error;
    if (error instanceof Unproduced && env.run.check) {
      return { result: tally.result('changed', { changes: [{ title: `would run; depends on ${JSON.stringify(error.task)}` }], dependsOn: error.task }), registered: unproduced(task.name) };
    }
    const failure = failureOf(error);
    return { result: tally.result('failed', { changes: tally.changes, failure }), registered: tally.registered(true, failure.message) };
  }
}

interface ItemRun {
  task: Task;
  onHost: TaskOnHost;
  env: TaskEnv;
  elevate: boolean;
  tally: TaskTally;
  at: { on: HostSession };
}

/** One loop item (the task itself without loop): plan, apply unless check, then changed_when / failed_when; tallied. */
async function runItem(item: TaskInstance, { task, onHost, env, elevate, tally, at }: ItemRun): Promise<void> {
  const itemOf = task.loop !== undefined ? { item: item.item } : {};
  if (item.skipped) return tally.skippedItem(itemOf);
  let instance = item;
  if (task.delegateTo !== undefined) {
    // per item, as in Ansible: a loop may delegate each item to another host
    const name = onHost.delegateTo(instance.scope);
    tally.delegates.add(name);
    at.on = await delegateSession(name, env);
    // planned against the facts of the host the commands run on; rendered with the delegating host's scope
    instance = { ...instance, ctx: { ...instance.ctx, host: at.on.host.name, facts: at.on.facts! } };
  }
  const { on } = at;
  await on.gather(factsOf([instance]), elevate); // no-op unless an earlier item changed the host
  const plan = await planInstance(instance, on);
  if (plan.skipped) {
    tally.skippedItem(itemOf);
    tally.skips.push(instance.label + (plan.reason ?? 'skipped'));
    return;
  }
  if (env.run.diff) plan.changes = await readBefore(plan.changes, on, elevate);
  const { label } = instance;
  const out: Registered = { changed: false, failed: false, skipped: false, ...NOTHING_RAN, ...plan.result, ...itemOf };
  if (plan.vars) Object.assign(tally.vars, plan.vars);
  const counted = plan.changes.filter((c) => !c.uncounted);
  const planned: ChangeReport[] = counted.map((c) => ({ title: label + c.title, diff: c.diff }));
  let error: unknown;
  for (const change of plan.changes) {
    if (env.run.check) continue;
    if (!change.uncounted && tally.changes.length === 0) await env.beforeApply?.(task);
    try {
      Object.assign(out, await applyCommands(change.commands, on, elevate, task.timeout ?? change.timeout ?? env.run.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT));
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      error = err;
      Object.assign(out, commandOutput(err));
      break;
    }
  }
  if (plan.changes.length > 0 && !env.run.check) on.invalidate();
  const checkOnly = env.run.check && counted.length > 0;
  if (checkOnly) tally.producedNothing = true;
  const { changed, failed } = itemConditions(task, onHost, instance, out, { planned: counted.length > 0, checkOnly, error });
  out.changed = changed;
  out.failed = failed;
  tally.items.push(out);
  if (changed) {
    tally.changes.push(...(planned.length ? planned : [{ title: `${label}changed_when: ${task.changedWhen}` }]));
    tally.anyChanged = true;
  } else {
    const uncounted = plan.changes.filter((c) => c.uncounted).map((c) => `${env.run.check ? 'would run' : 'ran'} ${c.title}`);
    const why = counted.length ? `${env.run.check ? 'would run' : 'ran'}; changed_when: ${task.changedWhen}` : (plan.reason ?? 'nothing to do');
    tally.reasons.push(label + [...uncounted, why].join('; '));
  }
  // as in Ansible, a looping task goes on with its other items and fails at the end
  if (failed) tally.failedItems.push({ label, failure: error !== undefined ? failureOf(error) : failedWhenFailure(task, out) });
}

/**
 * Whether an item changed and failed: what it planned and how its commands ended, unless
 * changed_when / failed_when say otherwise. In check mode a planned change produced nothing, so
 * changed_when that reads it keeps the plan's answer and failed_when is not asked.
 */
function itemConditions(task: Task, onHost: TaskOnHost, instance: TaskInstance, out: Registered, ran: { planned: boolean; checkOnly: boolean; error: unknown }): { changed: boolean; failed: boolean } {
  const scopeWith = (value: unknown) => ({ ...instance.scope, ...(task.register ? { [task.register]: value } : {}) });
  out.changed = ran.planned;
  let changed = out.changed;
  if (task.changedWhen !== undefined) {
    try {
      changed = onHost.changedWhen(scopeWith(ran.checkOnly ? unproduced(task.name) : out));
    } catch (err) {
      if (!(err instanceof Unproduced)) throw err;
    }
  }
  let failed = ran.error !== undefined;
  if (task.failedWhen !== undefined && !ran.checkOnly) {
    out.changed = changed;
    failed = onHost.failedWhen(scopeWith(out));
  }
  return { changed, failed };
}

/** The attempt's outcome from its items: failed if any failed, skipped if the module skipped them all, else changed or ok. */
function summary(task: Task, tally: TaskTally, of: number): TaskOutcome {
  const registered = tally.producedNothing ? unproduced(task.name) : tally.registered(false);
  if (tally.failedItems.length) return { result: tally.result('failed', { changes: tally.changes, failure: loopFailure(tally.failedItems, of) }), registered };
  if (tally.skips.length === of) return { result: tally.result('skipped', { reason: tally.skips.join('; ') }), registered: { ...tally.registered(false), skipped: true } };
  const set = Object.keys(tally.vars).length ? { vars: tally.vars } : {};
  return { result: tally.anyChanged ? tally.result('changed', { changes: tally.changes }) : tally.result('ok', { reason: tally.reasons.join('; ') }), registered, ...set };
}
