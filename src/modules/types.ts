import type { ArgvCommand } from '../argv.js';
import type { Fact, FactReader, HostFacts } from '../facts/types.js';
import type { Field } from '../schema/types.js';

/** A before/after view of one file a change writes. null means absent. */
export interface FileDiff {
  path: string;
  before: string | null;
  after: string | null;
  /** content not shown (binary, too large, or secret) */
  hidden?: 'binary' | 'secret' | 'large';
  /**
   * The before text is not read yet (before is ''): planning needs only hashes, so the content
   * is fetched from the host, in one more round trip, only when the run shows diffs.
   */
  beforeUnread?: true;
}

/** One thing that must happen on the host, with the commands that make it so. */
export interface Change {
  title: string;
  commands: ArgvCommand[];
  diff?: FileDiff;
  /**
   * Seconds each group of these commands may run, when the module knows better than the run's
   * --command-timeout (an apt install, a wait with its own deadline). A task's `timeout:` wins.
   */
  timeout?: number;
  /**
   * Runs whenever the task is applied (never in check mode) without making the task changed:
   * what Ansible runs every time and does not count (systemd's daemon_reexec). An ok task names
   * it in its reason; alone, it does not notify handlers.
   */
  uncounted?: true;
}

/** What a module decided: nothing to do (with why), or changes. */
export interface Plan {
  changes: Change[];
  /** Why nothing needs to change, e.g. "nginx 1.22.1 installed". Shown for ok outcomes. */
  reason?: string;
  /** What `register` binds besides changed/failed and the commands' output, e.g. stat's `stat`, debug's `msg`. */
  result?: Record<string, unknown>;
  /** The module skips the task, as Ansible reports it (unarchive's `creates`): shown and counted as skipped, with `reason`. */
  skipped?: true;
  /** Variables the task sets for the host's later tasks (set_fact), over its other variables. */
  vars?: Record<string, unknown>;
}

/** Module parameters are declared in the shared schema language (src/schema/types.ts). */
export type ParamSpec = Field;

export interface ModuleContext {
  host: string;
  facts: HostFacts;
  /** Renders an EJS template file (resolved like `src` paths) with this host's scope plus `extra`. */
  renderTemplate(src: string, extra?: Record<string, unknown>): string;
  /** Evaluates a JavaScript expression over the task's scope (debug's `var`, assert's `that`); errors name the task's module key. */
  evaluate(expr: string): unknown;
  /** Directory that relative local paths (src:, template:) resolve against: the playbook's dir, or the inventory's for inventory-provided paths. */
  localDir: string;
  /**
   * A short id of this run (host/run-id.ts). Temporary files on the host carry it, so two runs
   * (even on one host, despite the host lock) never write the same temp path.
   */
  runId: string;
  /** the task runs with `become` (its facts and commands as root): facts that depend on the user (systemd's user scope) are asked per user */
  become?: boolean;
  /** how many times the run's -v was given (-vv: 2; absent: 0): debug's `verbosity` compares with it */
  verbosity?: number;
  /** the host's lock file (inventory/lock-file.ts): the run it names as holder is alive, and its temp files are kept */
  lockFile: string;
}

export interface ValidateContext {
  localDir: string;
  /** laptop files built before the run connects: absent now, but valid sources */
  pending?: ReadonlySet<string>;
}

/**
 * A module only plans: parameters + facts in, changes out. It never runs anything.
 * `facts` lists what it needs read from the host; `plan` turns their values into changes.
 * Check mode is "stop after plan".
 */
export interface Module<P = Record<string, unknown>> {
  name: string;
  params: Record<string, ParamSpec>;
  /** The schema of parameters not in `params` (set_fact's variables); absent: they are errors. */
  additionalParams?: ParamSpec;
  /** Offline checks beyond types (a local file exists, mutually exclusive params...). Return problems as [keyPath relative to the task's params, message]. */
  validate?(params: P, ctx: ValidateContext): Array<[string, string]>;
  facts(params: P, ctx: ModuleContext): Fact<unknown>[];
  plan(params: P, read: FactReader, ctx: ModuleContext): Plan | Promise<Plan>;
}
