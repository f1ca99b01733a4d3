import { EventEmitter } from 'node:events';
import type { FileDiff } from '../modules/types.js';

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
  /** the loop item's label, when the task loops */
  item?: string;
  ms: number;
}

export interface HostRecap {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: boolean;
}

export type RunEvent =
  | { type: 'run:start'; hosts: string[]; check: boolean }
  | { type: 'play:start'; play: string; hosts: string[] }
  | { type: 'host:connected'; host: string; ms: number }
  | { type: 'host:unreachable'; host: string; message: string }
  | { type: 'task:start'; host: string; play: string; task: string; handler: boolean }
  | ({ type: 'task:result' } & TaskResult)
  | { type: 'run:end'; recap: Map<string, HostRecap>; ms: number; check: boolean };

/** The runner's only way to talk to the UI. */
export class RunEvents extends EventEmitter {
  send(event: RunEvent): void {
    this.emit('event', event);
  }
  listen(fn: (event: RunEvent) => void): void {
    this.on('event', fn);
  }
}
