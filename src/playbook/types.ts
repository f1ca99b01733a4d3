import type { SourcePos } from '../errors.js';
import type { BatchSize } from '../runner/batches.js';

export interface Task {
  name: string;
  /** module name, e.g. "package" */
  module: string;
  /** raw parameters; strings may hold EJS (<%= %>) rendered per host before planning */
  params: Record<string, unknown>;
  /** JS expression over the host scope (vars, facts, host, groups); task skipped when falsy */
  when?: string;
  /** JS expression yielding a list; the task runs once per element, bound to `loopVar` */
  loop?: string;
  loopVar: string;
  notify: string[];
  tags: string[];
  become?: boolean;
  pos: SourcePos;
  /** key path of the task in its file, e.g. plays.0.tasks.3 */
  keyPath: string;
}

export interface Play {
  name: string;
  /** group name, host name, "all", or a pattern (see src/inventory/pattern.ts) */
  hosts: string;
  vars: Record<string, unknown>;
  tasks: Task[];
  handlers: Task[];
  become: boolean;
  tags: string[];
  /** rolling batches (`serial`): the play runs to its end, handlers included, on one batch before the next starts */
  serial?: BatchSize[];
  /** percentage of a batch's hosts that may fail without calling off the later batches (default 0 with `serial`) */
  maxFailPercentage?: number;
  /** playbook file and its directory (relative template/src paths resolve from the project's templates/ then here) */
  file: string;
  pos: SourcePos;
}
