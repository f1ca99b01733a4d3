import { tail, CommandError } from '../errors.js';
import type { Task } from '../playbook/types.js';
import type { ChangeReport, TaskFailure, TaskResult, TaskStatus } from './events.js';
import { concealed } from './redact.js';

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

/** A task's outcome on one host: the event to show, and the value `register:` binds (not shown). */
export interface TaskOutcome {
  result: TaskResult;
  registered: unknown;
  /** variables the task set for the host's later tasks (set_fact) */
  vars?: Record<string, unknown>;
}

/** What a command's run adds to a registered result. */
export type Streams = Pick<Registered, 'rc' | 'stdout' | 'stderr' | 'stdout_lines' | 'stderr_lines'>;

export const NOTHING_RAN = { stdout: '', stderr: '', stdout_lines: [] as string[], stderr_lines: [] as string[] };

/**
 * The strings of a registered value that hold its output (stdout, stderr and their lines, of each
 * loop item too), for concealing what a sensitive task registered.
 */
export function registeredOutput(value: unknown): string[] {
  if (!isRegistered(value)) return [];
  const own = [value.stdout, value.stderr, ...value.stdout_lines, ...value.stderr_lines].map((s) => s.trim()).filter(Boolean);
  return [...own, ...(value.results ?? []).flatMap(registeredOutput)];
}

export function isRegistered(value: unknown): value is Registered {
  return typeof value === 'object' && value !== null && !(value instanceof Error) && 'failed' in value;
}

/**
 * What one attempt of a task gathers item by item (changes, reasons, registered items, failures,
 * skips, set_fact vars, the delegates it ran on), and the result and registered value made of it.
 */
export class TaskTally {
  readonly changes: ChangeReport[] = [];
  readonly reasons: string[] = [];
  readonly items: Registered[] = [];
  readonly failedItems: Array<{ label: string; failure: TaskFailure }> = [];
  /** the reasons of instances the module skipped (Plan.skipped) */
  readonly skips: string[] = [];
  readonly vars: Record<string, unknown> = {};
  /** the hosts a delegate_to task ran on (one per loop item at most) */
  readonly delegates = new Set<string>();
  anyChanged = false;
  /** check mode planned a change: what the task would register is not known */
  producedNothing = false;
  private readonly started = Date.now();

  constructor(
    private readonly task: Task,
    private readonly host: string,
    private readonly play: string,
    private readonly handler: boolean,
  ) {}

  /** The event of the attempt, concealed for a sensitive task. */
  result(status: TaskStatus, extra: Partial<TaskResult> = {}): TaskResult {
    const { task, delegates } = this;
    const r: TaskResult = { host: this.host, play: this.play, task: task.name, handler: this.handler, status, changes: [], ms: Date.now() - this.started, ...(delegates.size ? { delegatedTo: [...delegates].join(', ') } : {}), ...extra };
    return task.sensitive ? concealed(r) : r;
  }

  /** What `register:` binds: the one item, or with `loop` every item under `results`. */
  registered(failed: boolean, msg?: string): Registered {
    const { items } = this;
    const message = msg ? { msg } : {};
    if (this.task.loop !== undefined) {
      return { changed: items.some((i) => i.changed), failed: failed || items.some((i) => i.failed), skipped: items.length > 0 && items.every((i) => i.skipped), ...NOTHING_RAN, ...message, results: items };
    }
    return items[0] ? { ...items[0], failed: items[0].failed || failed, ...message } : { changed: false, failed, skipped: false, ...NOTHING_RAN, ...message };
  }

  /** An item that did not run (`when`, or the module skipped it). */
  skippedItem(item: { item?: unknown }): void {
    this.items.push({ changed: false, failed: false, skipped: true, ...NOTHING_RAN, ...item });
  }
}

/**
 * The failure of a task whose items failed: the first failed item's command, exit code and stderr,
 * with a message naming every failed item (a task without loop has one item and no label).
 */
export function loopFailure(failed: Array<{ label: string; failure: TaskFailure }>, of: number): TaskFailure {
  const [first] = failed;
  if (!first.label) return first.failure;
  const labels = failed.map((f) => f.label.trim()).join(' ');
  return { ...first.failure, message: `${failed.length} of ${of} item(s) failed (${labels}); ${first.label}${first.failure.message}` };
}

export function failureOf(error: unknown): TaskFailure {
  if (error instanceof CommandError) {
    return { command: error.command, exitCode: error.exitCode, stderrTail: error.stderrTail, message: error.message };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { command: '', exitCode: null, stderrTail: '', message };
}

/** A failed_when that held: the item's own rc and stderr, and the condition. */
export function failedWhenFailure(task: Task, out: Registered): TaskFailure {
  return { command: '', exitCode: out.rc ?? null, stderrTail: tail(out.stderr), message: `failed_when: ${task.failedWhen}` };
}
