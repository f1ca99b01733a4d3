import { EventEmitter } from 'node:events';
import type { FileDiff } from '../modules/types.js';
import type { Batch } from './batches.js';

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped';

export interface ChangeReport {
  title: string;
  diff?: FileDiff;
}

export interface TaskFailure {
  command: string;
  exitCode: number | null;
  stderrTail: string;
  message: string;
}

export interface TaskResult {
  host: string;
  play: string;
  task: string;
  handler: boolean;
  status: TaskStatus;
  /** why ok / why skipped */
  reason?: string;
  changes: ChangeReport[];
  failure?: TaskFailure;
  /** check mode: the task reads a registered value of this task, which check mode did not produce ("would run") */
  dependsOn?: string;
  /** failed, but `ignore_errors: true`: counted as ignored, the host carries on */
  ignored?: boolean;
  /** `delegate_to`: the host the task ran on, for this host (whose result it is) */
  delegatedTo?: string;
  /** the loop item's label, when the task loops */
  item?: string;
  /** the host's batch, when the play runs in batches (`serial`) */
  batch?: number;
  /** a handler run because an earlier run notified it and did not get to run it: that run's start (ISO 8601) */
  pendingSince?: string;
  ms: number;
}

/** A host's batch in one play that ran in batches. */
export interface HostBatch {
  play: string;
  batch: number;
  of: number;
}

export interface HostRecap {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  /** failures of tasks with ignore_errors */
  ignored: number;
  /** failures handled by a block's rescue */
  rescued: number;
  unreachable: boolean;
  /** the run was interrupted (SIGINT/SIGTERM) before this host's work was done */
  interrupted: boolean;
  /** the batch the host was in, per play that ran in batches (`serial`) */
  batches: HostBatch[];
  /** the plays this host had no part in because an earlier batch failed, each with why */
  calledOff: string[];
}

export type RunEvent =
  | { type: 'run:start'; hosts: string[]; check: boolean; load?: string }
  | { type: 'play:start'; play: string; hosts: string[]; serial?: number[] }
  /** a play none of whose hosts takes part (all left out by --limit, or failed earlier), with why */
  | { type: 'play:skipped'; play: string; reason: string }
  | { type: 'batch:start'; play: string; batch: number; of: number; hosts: string[] }
  | { type: 'batch:end'; play: string; batch: number; of: number; failed: string[] }
  /** a batch had more failed hosts than max_fail_percentage allows: the later batches and plays do not run */
  | { type: 'play:called-off'; play: string; batch: number; of: number; failed: string[]; notRun: string[]; reason: string }
  | { type: 'host:connected'; host: string; ms: number; /** of ms: the SSH connection (or the kept one's hand-over), then the first round trip (facts and lock) */ connectMs: number; factsMs: number }
  | { type: 'host:unreachable'; host: string; message: string }
  /** another run holds the host's lock: this run waits for it, up to `seconds` */
  | { type: 'host:lock-wait'; host: string; holder: string; file: string; seconds: number }
  | { type: 'task:start'; host: string; play: string; task: string; handler: boolean; batch?: number }
  | ({ type: 'task:result' } & TaskResult)
  | { type: 'task:retry'; host: string; play: string; task: string; attempt: number; of: number; delay: number; status: TaskStatus }
  | { type: 'block:rescue'; host: string; play: string; block: string }
  /** SIGINT/SIGTERM: `stopping` (nothing new starts; running commands get graceSeconds), then `aborting` (they are stopped on the hosts) */
  | { type: 'run:interrupt'; phase: 'stopping' | 'aborting'; signal: string; graceSeconds: number }
  | { type: 'run:end'; recap: Map<string, HostRecap>; ms: number; check: boolean };

/** The runner's only way to talk to the UI. */
export class RunEvents extends EventEmitter {
  /** `filter` sees every event before any listener does (the Redactor) */
  constructor(private readonly filter: (event: RunEvent) => RunEvent = (e) => e) {
    super();
  }
  send(event: RunEvent): void {
    this.emit('event', this.filter(event));
  }
  listen(fn: (event: RunEvent) => void): void {
    this.on('event', fn);
  }
}
