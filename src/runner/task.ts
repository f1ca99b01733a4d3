import { toShell } from '../command.js';
import type { Command } from '../command.js';
import { CommandError, ConfigError, ConfigErrors, UnreachableError, tail } from '../errors.js';
import type { Fact, HostFacts } from '../facts/types.js';
import type { Inventory } from '../inventory/types.js';
import { unreadBeforeFacts, withBeforeRead } from '../modules/diff-before.js';
import type { Change, Plan } from '../modules/types.js';
import { expandTask, playScope, taskWhere, type TaskInstance } from '../playbook/expand.js';
import { evaluate, unproduced, Unproduced } from '../playbook/expression.js';
import { renderString } from '../playbook/render.js';
import type { RunOnce } from './run-once.js';
import type { Lockstep } from './lockstep.js';
import type { Interrupt } from './interrupt.js';
import type { Expansions } from '../playbook/expansions.js';
import type { Play, Task } from '../playbook/types.js';
import { failedStep, groupCommands } from './command-group.js';
import { DEFAULT_COMMAND_TIMEOUT, timedOut, timedOutMessage, timeLimited } from '../host/time-limit.js';
import type { ChangeReport, TaskFailure, TaskResult, TaskStatus } from './events.js';
import type { Batch } from './batches.js';
import { concealed } from './redact.js';
import type { HostSession } from '../host/session.js';
import type { RunSession } from './run-session.js';

export interface TaskEnv {
  inventory: Inventory;
  play: Play;
  session: RunSession;
  check: boolean;
  /** diffs are shown: the before side of a changed file is read from the host after planning */
  diff?: boolean;
  /** extra scope names for templates (secret()) */
  scopeExtra: Record<string, unknown>;
  /** the host's batch when the play runs in batches (`serial`) */
  batch?: Batch;
  /** seconds a task's command may run unless the task sets `timeout:` (default DEFAULT_COMMAND_TIMEOUT) */
  commandTimeout?: number;
  /** run handlers notified before a task failed, at the point of failure (--force-handlers) */
  forceHandlers?: boolean;
  /** when the run started (ISO 8601): recorded with handlers left pending */
  runStarted?: string;
  /** the run's id (run-id.ts): part of every temp file name on the host */
  runId: string;
  /** awaited once per task, before its first change is applied (never in check mode); records pending handlers */
  beforeApply?: (task: Task) => Promise<void>;
  /** told before each retry of a task with `until` */
  onRetry?: (task: Task, retry: RetryInfo) => void;
  /** the run's stop request: no task starts once it is stopping */
  interrupt?: Interrupt;
  /** run_once coordination for the host's batch */
  once?: RunOnce;
  /** with max_fail_percentage: the batch's hosts go task by task (lockstep.ts) */
  lockstep?: Lockstep;
  /** makes a value secret for the rest of the run (the Redactor): the output a sensitive task registers */
  conceal?: (value: string) => void;
  /** the connection a `delegate_to` task runs over (see delegates.ts); without it delegate_to fails the task */
  delegate?: (host: string) => Promise<HostSession>;
  /** the run's task walk memo (playbook/expansions.ts); without it each call expands afresh */
  expansions?: Expansions;
}

export interface RetryInfo {
  attempt: number;
  of: number;
  delay: number;
  status: TaskStatus;
}

/** The host play (see playbook/expand.ts) of this env: its registered values are layered over scopeExtra. */
export function hostPlayOf(env: TaskEnv, facts = env.session.facts!) {
  const { inventory, play, session } = env;
  return { inventory, play, host: session.host.name, facts, runId: env.runId, scopeExtra: { ...env.scopeExtra, ...session.registered } };
}

/** The task's instances on this host (see playbook/expand.ts); parameter problems are thrown. */
export function instancesOf(task: Task, env: TaskEnv, facts?: HostFacts): TaskInstance[] {
  const hp = hostPlayOf(env, facts);
  const instances = env.expansions ? env.expansions.expand(task, hp) : expandTask(task, hp);
  const errors = instances.flatMap((i) => i.errors);
  if (errors.length) throw new ConfigErrors(errors);
  return instances;
}

/** The facts a task's instances need; used to gather a whole play's facts in one round trip. */
export function factsOf(instances: TaskInstance[]): Fact<unknown>[] {
  return instances.filter((i) => !i.skipped).flatMap((i) => i.module.facts(i.params, i.ctx));
}

/**
 * What `register:` binds for one task on one host, as in Ansible: changed / failed / skipped, and
 * for tasks that ran commands the last command's rc, stdout, stderr and stdout_lines. A looping
 * task has one entry per item in `results`.
 */
export interface Registered {
  changed: boolean;
  failed: boolean;
  skipped: boolean;
  rc?: number | null;
  stdout: string;
  stderr: string;
  stdout_lines: string[];
  stderr_lines: string[];
  msg?: string;
  item?: unknown;
  results?: Registered[];
  /** what the module adds (Plan.result): stat's `stat`, debug's `msg`... */
  [key: string]: unknown;
}

/**
 * The strings of a registered value that hold its output (stdout, stderr and their lines, of each
 * loop item too), for concealing what a sensitive task registered.
 */
export function registeredOutput(value: unknown): string[] {
  if (!isRegistered(value)) return [];
  const own = [value.stdout, value.stderr, ...value.stdout_lines, ...value.stderr_lines].map((s) => s.trim()).filter(Boolean);
  return [...own, ...(value.results ?? []).flatMap(registeredOutput)];
}

/** A task's outcome on one host: the event to show, and the value `register:` binds (not shown). */
export interface TaskOutcome {
  result: TaskResult;
  registered: unknown;
  /** variables the task set for the host's later tasks (set_fact) */
  vars?: Record<string, unknown>;
}

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
    const outcome = await attemptTask(task, env, handler);
    if (task.until === undefined || outcome.result.status === 'skipped' || env.interrupt?.stopping) return outcome;
    let met: boolean;
    try {
      met = Boolean(evaluate(task.until, { ...untilScope(task, env), ...(task.register ? { [task.register]: outcome.registered } : {}) }, taskWhere(task, 'until', env.session.host.name)));
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

function untilScope(task: Task, env: TaskEnv): Record<string, unknown> {
  return playScope(hostPlayOf(env));
}

function isRegistered(value: unknown): value is Registered {
  return typeof value === 'object' && value !== null && !(value instanceof Error) && 'failed' in value;
}

/** What a command's run adds to a registered result. */
type Streams = Pick<Registered, 'rc' | 'stdout' | 'stderr' | 'stdout_lines' | 'stderr_lines'>;

const NOTHING_RAN = { stdout: '', stderr: '', stdout_lines: [] as string[], stderr_lines: [] as string[] };

async function attemptTask(task: Task, env: TaskEnv, handler: boolean): Promise<TaskOutcome> {
  const started = Date.now();
  // the hosts a delegate_to task ran on (one per loop item at most)
  const delegates = new Set<string>();
  const result = (status: TaskStatus, extra: Partial<TaskResult> = {}): TaskResult => {
    const r: TaskResult = { host: env.session.host.name, play: env.play.name, task: task.name, handler, status, changes: [], ms: Date.now() - started, ...(delegates.size ? { delegatedTo: [...delegates].join(', ') } : {}), ...extra };
    return task.sensitive ? concealed(r) : r;
  };
  const elevate = task.become ?? env.play.become;
  const changes: ChangeReport[] = [];
  const reasons: string[] = [];
  const items: Registered[] = [];
  const registeredOf = (failed: boolean, msg?: string): Registered => {
    if (task.loop !== undefined) {
      return { changed: items.some((i) => i.changed), failed: failed || items.some((i) => i.failed), skipped: items.length > 0 && items.every((i) => i.skipped), ...NOTHING_RAN, ...(msg ? { msg } : {}), results: items };
    }
    return items[0] ? { ...items[0], failed: items[0].failed || failed, ...(msg ? { msg } : {}) } : { changed: false, failed, skipped: false, ...NOTHING_RAN, ...(msg ? { msg } : {}) };
  };
  let producedNothing = false;
  let on: HostSession = env.session;
  try {
    const instances = instancesOf(task, env);
    if (instances.every((i) => i.skipped)) {
      for (const i of instances) items.push({ changed: false, failed: false, skipped: true, ...NOTHING_RAN, ...(task.loop !== undefined ? { item: i.item } : {}) });
      return { result: result('skipped', { reason: instances[0]?.skipped ?? 'empty loop' }), registered: { ...registeredOf(false), skipped: true } };
    }
    if (task.delegateTo === undefined) await on.gather(factsOf(instances), elevate);
    const failedItems: Array<{ label: string; failure: TaskFailure }> = [];
    const vars: Record<string, unknown> = {};
    /** the reasons of instances the module skipped (Plan.skipped) */
    const skips: string[] = [];
    let anyChanged = false;
    for (let [n, instance] of instances.entries()) {
      const itemOf = task.loop !== undefined ? { item: instance.item } : {};
      // loop_control.pause: between items, as in Ansible
      if (n > 0 && task.loopControl.pause) await new Promise((r) => setTimeout(r, task.loopControl.pause! * 1000));
      if (instance.skipped) {
        items.push({ changed: false, failed: false, skipped: true, ...NOTHING_RAN, ...itemOf });
        continue;
      }
      if (task.delegateTo !== undefined) {
        // per item, as in Ansible: a loop may delegate each item to another host
        const name = delegateName(task, env, instance.scope);
        delegates.add(name);
        on = await delegateSession(name, env);
        // planned against the facts of the host the commands run on; rendered with the delegating host's scope
        instance = { ...instance, ctx: { ...instance.ctx, host: on.host.name, facts: on.facts! } };
      }
      await on.gather(factsOf([instance]), elevate); // no-op unless an earlier item changed the host
      const plan = await planInstance(instance, on);
      if (plan.skipped) {
        items.push({ changed: false, failed: false, skipped: true, ...NOTHING_RAN, ...itemOf });
        skips.push(instance.label + (plan.reason ?? 'skipped'));
        continue;
      }
      if (env.diff) plan.changes = await readBefore(plan.changes, on, elevate);
      const { label } = instance;
      const out: Registered = { changed: false, failed: false, skipped: false, ...NOTHING_RAN, ...plan.result, ...itemOf };
      if (plan.vars) Object.assign(vars, plan.vars);
      let error: unknown;
      const planned: ChangeReport[] = plan.changes.map((c) => ({ title: label + c.title, diff: c.diff }));
      for (const change of plan.changes) {
        if (env.check) continue;
        if (changes.length === 0) await env.beforeApply?.(task);
        try {
          Object.assign(out, await apply(change.commands, on, elevate, task.timeout ?? change.timeout ?? env.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT));
        } catch (err) {
          if (!(err instanceof CommandError)) throw err;
          error = err;
          Object.assign(out, commandOutput(err));
          break;
        }
      }
      if (plan.changes.length > 0 && !env.check) on.invalidate();
      const checkOnly = env.check && plan.changes.length > 0;
      const scopeWith = (value: unknown) => ({ ...instance.scope, ...(task.register ? { [task.register]: value } : {}) });
      out.changed = plan.changes.length > 0;
      if (checkOnly) producedNothing = true;
      const view: unknown = checkOnly ? unproduced(task.name) : out;
      let changed = out.changed;
      if (task.changedWhen !== undefined) {
        try {
          changed = Boolean(evaluate(task.changedWhen, scopeWith(view), taskWhere(task, 'changed_when', env.session.host.name)));
        } catch (err) {
          if (!(err instanceof Unproduced)) throw err;
        }
      }
      let failed = error !== undefined;
      if (task.failedWhen !== undefined && !checkOnly) {
        out.changed = changed;
        failed = Boolean(evaluate(task.failedWhen, scopeWith(out), taskWhere(task, 'failed_when', env.session.host.name)));
      }
      out.changed = changed;
      out.failed = failed;
      items.push(out);
      if (changed) {
        changes.push(...(planned.length ? planned : [{ title: `${label}changed_when: ${task.changedWhen}` }]));
        anyChanged = true;
      } else {
        reasons.push(label + (plan.changes.length ? `${env.check ? 'would run' : 'ran'}; changed_when: ${task.changedWhen}` : (plan.reason ?? 'nothing to do')));
      }
      if (failed) {
        // as in Ansible, a looping task goes on with its other items and fails at the end
        failedItems.push({ label, failure: error !== undefined ? failureOf(error) : { command: '', exitCode: out.rc ?? null, stderrTail: tail(out.stderr), message: `failed_when: ${task.failedWhen}` } });
      }
    }
    const registered = producedNothing ? unproduced(task.name) : registeredOf(false);
    if (failedItems.length) return { result: result('failed', { changes, failure: loopFailure(failedItems, instances.length) }), registered };
    if (skips.length === instances.length) return { result: result('skipped', { reason: skips.join('; ') }), registered: { ...registeredOf(false), skipped: true } };
    const set = Object.keys(vars).length ? { vars } : {};
    return { result: anyChanged ? result('changed', { changes }) : result('ok', { reason: reasons.join('; ') }), registered, ...set };
  } catch (error) {
    // a delegate that cannot be reached fails this host's task; this host's own connection is fine
    if (error instanceof UnreachableError && on === env.session) throw error;
    if (error instanceof Unproduced && env.check) {
      return { result: result('changed', { changes: [{ title: `would run; depends on ${JSON.stringify(error.task)}` }], dependsOn: error.task }), registered: unproduced(task.name) };
    }
    const failure = failureOf(error);
    return { result: result('failed', { changes, failure }), registered: registeredOf(true, failure.message) };
  }
}

/** A delegate's connection could not be had (or was lost): the delegating host's task fails. */
class DelegateUnreachable extends Error {}

/** The host a `delegate_to` task (or loop item) runs on: EJS rendered with the delegating host's scope; it must be in the inventory. */
function delegateName(task: Task, env: TaskEnv, scope: Record<string, unknown>): string {
  const host = env.session.host.name;
  const where = taskWhere(task, 'delegate_to', host);
  const name = renderString(task.delegateTo!, scope, where).trim();
  if (!env.inventory.hosts.has(name)) throw new ConfigError(where.pos, where.keyPath, `delegate_to names no host of the inventory: ${JSON.stringify(name)} (for host ${host})`);
  return name;
}

/** The delegate's connection (the delegating host's own when it names itself). */
async function delegateSession(name: string, env: TaskEnv): Promise<HostSession> {
  if (name === env.session.host.name) return env.session;
  if (!env.delegate) throw new Error('delegate_to is not available here');
  try {
    return await env.delegate(name);
  } catch (error) {
    throw new DelegateUnreachable(`delegate_to ${name}: ${error instanceof UnreachableError ? error.message : `${name}: ${(error as Error).message}`}`);
  }
}

async function planInstance(instance: TaskInstance, session: HostSession): Promise<Plan> {
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
async function readBefore(changes: Change[], session: HostSession, elevate: boolean): Promise<Change[]> {
  const facts = unreadBeforeFacts(changes);
  if (facts.length === 0) return changes;
  await session.gather(facts, elevate);
  return withBeforeRead(changes, <T>(fact: Fact<T>) => session.cache.get(fact.key) as T);
}

/**
 * Runs a change's commands, each group under GNU timeout (past `seconds` it signals the command's
 * whole process group on the host: TERM, then KILL 10 s later); returns the last group's output
 * (what `register` shows), or throws a CommandError carrying it.
 */
async function apply(commands: Command[], session: HostSession, elevate: boolean, seconds: number): Promise<Streams> {
  let last = registeredStreams(0, '', '');
  for (const group of groupCommands(commands)) {
    const started = Date.now();
    const res = await session.exec(timeLimited(group.run, seconds, session.mark), elevate);
    const ran = (Date.now() - started) / 1000;
    if (timedOut(res.code, ran, seconds)) throw new CommandError(session.host.name, toShell(group.run.argv), res.code, timedOutMessage(seconds, ran));
    const failed = failedStep(group, res.code, res.stderr);
    const stderr = failed ? failed.stderr : res.stderr;
    last = registeredStreams(res.code, res.stdout, stderr);
    // the stdout of a command fed a secret may echo it: only its stderr is shown
    const output = failed?.command.sensitive || group.run.sensitive ? failed?.stderr ?? '' : failed?.stderr || res.stdout;
    if (failed) {
      const error = new CommandError(session.host.name, toShell(failed.command.argv), res.code, tail(output));
      outputs.set(error, last);
      throw error;
    }
  }
  return last;
}

/** The output of the command a CommandError stands for (kept beside it for `register`). */
const outputs = new WeakMap<CommandError, Streams>();
function commandOutput(error: CommandError): Streams {
  return outputs.get(error) ?? registeredStreams(error.exitCode, '', error.stderrTail);
}

/**
 * A command's output as `register` binds it, as Ansible's command and shell modules do
 * (strip_empty_ends): stdout and stderr without their trailing line breaks, and their lines.
 */
function registeredStreams(rc: number | null, stdout: string, stderr: string): Streams {
  const out = stdout.replace(/[\r\n]+$/, '');
  const err = stderr.replace(/[\r\n]+$/, '');
  return { rc, stdout: out, stderr: err, stdout_lines: lines(out), stderr_lines: lines(err) };
}

function lines(text: string): string[] {
  return text === '' ? [] : text.split(/\r?\n/);
}

/**
 * The failure of a task whose items failed: the first failed item's command, exit code and stderr,
 * with a message naming every failed item (a task without loop has one item and no label).
 */
function loopFailure(failed: Array<{ label: string; failure: TaskFailure }>, of: number): TaskFailure {
  const [first] = failed;
  if (!first.label) return first.failure;
  const labels = failed.map((f) => f.label.trim()).join(' ');
  return { ...first.failure, message: `${failed.length} of ${of} item(s) failed (${labels}); ${first.label}${first.failure.message}` };
}

function failureOf(error: unknown): TaskFailure {
  if (error instanceof CommandError) {
    return { command: error.command, exitCode: error.exitCode, stderrTail: error.stderrTail, message: error.message };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { command: '', exitCode: null, stderrTail: '', message };
}
