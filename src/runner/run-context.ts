import type { HostSession } from '../host/session.js';
import type { Inventory } from '../inventory/types.js';
import type { Expansions } from '../playbook/expansions.js';
import type { Module } from '../modules/types.js';
import type { Play, Task } from '../playbook/types.js';
import type { Batch } from './batches.js';
import type { RunEvents, TaskStatus } from './events.js';
import type { Interrupt } from './interrupt.js';
import type { Lockstep } from './lockstep.js';
import type { RunOnce } from './run-once.js';
import type { RunSession } from './run-session.js';

/** One run, as every play, batch, host and task of it sees it: built once, by runPlays. */
export interface Run {
  inventory: Inventory;
  /** each play's hosts in the inventory (selectHosts), once per run */
  playHosts: ReadonlyMap<Play, ReadonlySet<string>>;
  check: boolean;
  /** diffs are shown: the before side of a changed file is read from the host after planning */
  diff?: boolean;
  /** how many times -v was given (ModuleContext.verbosity) */
  verbosity: number;
  /** the module registry, when a test brings its own (HostPlay.modules) */
  modules?: (name: string) => Module | undefined;
  forks: number;
  /** the tasks --tags, --skip-tags and --start-at-task select */
  selected: (task: Task) => boolean;
  /** extra scope names for templates (secret()) */
  scopeExtra: Record<string, unknown>;
  /** run handlers notified before a task failed, at the point of failure (--force-handlers) */
  forceHandlers?: boolean;
  /** seconds a task's command may run unless the task sets `timeout:` (default DEFAULT_COMMAND_TIMEOUT) */
  commandTimeout?: number;
  /** when the run started (ISO 8601): recorded with handlers left pending */
  started: string;
  /** the run's id (host/run-id.ts): part of every temp file name on the host */
  runId: string;
  /** the run's stop request: no task starts once it is stopping */
  interrupt?: Interrupt;
  /** makes a value secret for the rest of the run (the Redactor): the output a sensitive task registers */
  conceal?: (value: string) => void;
  /** the run's task walk memo (playbook/expansions.ts), shared with offline validation */
  expansions: Expansions;
  events: RunEvents;
  /** the connection a `delegate_to` task runs over (delegates.ts) */
  delegate: (host: string) => Promise<HostSession>;
}

/** One batch of a play (the whole play without `serial`): what its hosts coordinate through. */
export interface BatchRun {
  /** the batch, when the play runs in batches (`serial`) */
  serial?: Batch;
  /** run_once coordination for the batch */
  once: RunOnce;
  /** with max_fail_percentage: the batch's hosts go task by task (lockstep.ts) */
  lockstep?: Lockstep;
}

/** What a task runs with: the run, its play (and batch), and the host. */
export interface TaskEnv {
  run: Run;
  play: Play;
  /** the host's batch; absent before the play runs (the facts speculated at connection) */
  batch?: BatchRun;
  host: RunSession;
  /** awaited once per task, before its first change is applied (never in check mode); records pending handlers */
  beforeApply?: (task: Task) => Promise<void>;
  /** told before each retry of a task with `until` */
  onRetry?: (task: Task, retry: RetryInfo) => void;
}

export interface RetryInfo {
  attempt: number;
  of: number;
  delay: number;
  status: TaskStatus;
}
