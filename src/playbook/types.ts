import type { SourcePos } from '../errors.js';
import type { BatchSize } from './batch-size.js';
import { setFactVariables } from '../modules/set-fact.js';

export interface Task {
  name: string;
  /** module name, e.g. "package"; "meta" for `meta: flush_handlers` (no module runs) */
  module: string;
  /** raw parameters; strings may hold EJS (<%= %>) rendered per host before planning */
  params: Record<string, unknown>;
  /** JS expression over the host scope (vars, facts, host, groups); task skipped when falsy. Conditions of enclosing blocks are and-ed in. */
  when?: string;
  /** JS expression yielding a list; the task runs once per element, bound to `loopVar` */
  loop?: string;
  loopVar: string;
  /** `loop_control` besides loop_var: index_var, label (EJS, shown instead of the item), pause (seconds between items), extended (ansible_loop) */
  loopControl: LoopControl;
  /** handler names or `listen` topics to notify when the task changed something (a block's notify included) */
  notify: string[];
  /** the task's tags, its play's and its enclosing blocks' */
  tags: string[];
  become?: boolean;
  /** `register: NAME`: the result is bound to NAME for later tasks on the same host */
  register?: string;
  /** JS expressions over the scope plus the registered result; decide changed / failed instead of the module */
  changedWhen?: string;
  failedWhen?: string;
  /** a failure is shown, counted `ignored`, and the host carries on (not for an unreachable host) */
  ignoreErrors: boolean;
  /** `until`: re-run until the expression holds, at most `retries` more times (default 3), `delay` seconds apart (default 5) */
  until?: string;
  retries?: number;
  delay?: number;
  /** run on the first host of the play's batch only; its registered result is shared with the others */
  runOnce: boolean;
  /** inventory host (may be EJS) the task runs on, with the scope of the host it runs for */
  delegateTo?: string;
  /** handlers only: topics that notify this handler besides its name */
  listen: string[];
  /** `meta: flush_handlers` */
  meta?: 'flush_handlers';
  /** added by the loader, not written in the playbook: the handler flushes after pre_tasks and before post_tasks */
  implicit?: boolean;
  /** its diffs, change titles, reasons, command lines and output are never shown */
  sensitive: boolean;
  /** seconds each of its commands may run before it is killed on the host (default: --command-timeout) */
  timeout?: number;
  /** the role whose tasks or handlers this is (roles:, import_role, include_role, meta dependencies) */
  role?: RoleInstance;
  /** the play's variables as this task sees them (a role's task: its role's defaults and vars layered in); the play's `vars` otherwise */
  vars?: Record<string, unknown>;
  pos: SourcePos;
  /** key path of the task in its file, e.g. plays.0.tasks.3 */
  keyPath: string;
}

/** One use of a role in a play: a role directory with the parameters it was given. */
export interface RoleInstance {
  name: string;
  /** the role's directory (templates/ and files/ of its tasks resolve there first) */
  dir: string;
  /** defaults/main.yml of its dependencies, of the roles that depend on it, then its own (lowest precedence) */
  defaults: Record<string, unknown>;
  /** vars/main.yml the same way, then the parameters it was given (`vars:` of its entry) */
  vars: Record<string, unknown>;
  /** seen by the play's other tasks too (roles: and import_role, as in Ansible); include_role's are its own */
  public: boolean;
}

export interface LoopControl {
  indexVar?: string;
  label?: string;
  pause?: number;
  extended: boolean;
}

/** `block` / `rescue` / `always`; its when/become/tags/notify are already folded into its tasks. */
export interface Block {
  name?: string;
  block: Step[];
  rescue: Step[];
  always: Step[];
  pos: SourcePos;
  keyPath: string;
}

/** One entry of a play's task list: a task or a block of tasks. */
export type Step = Task | Block;

export function isBlock(step: Step): step is Block {
  return 'block' in step;
}

export interface Play {
  name: string;
  /** group name, host name, "all", or a pattern (see src/inventory/pattern.ts) */
  hosts: string;
  /** play vars and vars_files (in that order of precedence), as defaults under the inventory's vars; the public roles' defaults under them and their vars over them */
  vars: Record<string, unknown>;
  /** every task, blocks flattened, in document order (blocks' rescue and always sections included) */
  tasks: Task[];
  /** the task list as written: tasks and blocks */
  steps: Step[];
  handlers: Task[];
  become: boolean;
  tags: string[];
  /** rolling batches (`serial`): the play runs to its end, handlers included, on one batch before the next starts */
  serial?: BatchSize[];
  /** percentage of a batch's hosts that may fail without calling off the later batches (default 0 with `serial`) */
  maxFailPercentage?: number;
  /** the `when` of each import_playbook that brought the play in (already and-ed into each task's `when`) */
  importWhen?: string[];
  /** playbook file and its directory (relative template/src paths resolve from the project's templates/ then here) */
  file: string;
  pos: SourcePos;
}

/** Every task of a list of steps, blocks flattened, in document order. */
export function flattenSteps(steps: Step[]): Task[] {
  return steps.flatMap((s) => (isBlock(s) ? [...flattenSteps(s.block), ...flattenSteps(s.rescue), ...flattenSteps(s.always)] : [s]));
}

/** The names a task binds for the host's later tasks: its `register`, and the variables of a `set_fact`. */
export function boundNames(task: Task): string[] {
  return [...(task.register ? [task.register] : []), ...(task.module === 'set_fact' ? Object.keys(setFactVariables(task.params)) : [])];
}
