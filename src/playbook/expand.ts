/**
 * The one task walk: what a task becomes on one host. The runner (real facts), offline
 * validation (placeholder facts) and the golden harness all expand tasks through here, so
 * `loop`, `when` and parameter rendering mean the same everywhere.
 *
 * Order, per task and host: evaluate `loop` (once), then for each item bind `loop_var`,
 * evaluate `when` (so `when: "item.tls"` works), render the parameters and check them
 * against the module's schema and its offline `validate`.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { ConfigError } from '../errors.js';
import type { HostFacts } from '../facts/types.js';
import type { Inventory } from '../inventory/types.js';
import { lockFileOf } from '../inventory/lock-file.js';
import { getModule } from '../modules/index.js';
import type { Module, ModuleContext } from '../modules/types.js';
import { describeFound, validateParams } from '../schema/validate-value.js';
import { positionIn } from '../yaml/positions.js';
import { evaluate, type Where } from './expression.js';
import { renderParams, renderString, renderTemplateFile, resolveTemplatePath } from './render.js';
import { hostScope } from './scope.js';
import type { Play, Task } from './types.js';

/** One host in one play: everything a task's expansion depends on. */
export interface HostPlay {
  inventory: Inventory;
  play: Play;
  host: string;
  /** gathered facts, or placeholderFacts() (playbook/placeholder-facts.ts) offline */
  facts: HostFacts;
  /** names layered over the host's vars for expressions and templates (secret(); registered results) */
  scopeExtra: Record<string, unknown>;
  /** the run's id (ModuleContext.runId): a fixed word offline, where nothing runs */
  runId: string;
  /** how many times -v was given (ModuleContext.verbosity); 0 offline */
  verbosity?: number;
  /** module registry; the real one unless a test brings its own */
  modules?: (name: string) => Module | undefined;
  /** laptop files built before the run connects (offline validation accepts them as sources) */
  pending?: ReadonlySet<string>;
}

/** One loop item of a task on one host (a task without `loop` has exactly one). */
export interface TaskInstance {
  task: Task;
  module: Module;
  /** the loop element; undefined when the task does not loop */
  item?: unknown;
  /** "[<item name>] " for loop items, "" otherwise: the prefix of change titles and reasons */
  label: string;
  /** set when `when` was falsy for this item: the reason shown for the skip */
  skipped?: string;
  /** the parameters rendered for this host and item ({} when skipped) */
  params: Record<string, unknown>;
  /** the scope the parameters were rendered with (host vars, facts, extra, loop variables) */
  scope: Record<string, unknown>;
  /** the names bound for this loop item (loopVarsOf); {} without loop */
  loopVars: Record<string, unknown>;
  /** what the module's facts() and plan() get */
  ctx: ModuleContext;
  /** problems with the rendered parameters; an instance with errors must not be planned */
  errors: ConfigError[];
}

/** Where a task's key (`when`, `loop`, the module's parameters...) is written, evaluated for `host`. */
export function taskWhere(task: Task, key: string, host: string): Where {
  const keyPath = key ? `${task.keyPath}.${key}` : task.keyPath;
  return { pos: positionIn(task.pos.file, keyPath, 'value', task.pos), keyPath, host };
}

/**
 * Whether `--tags` / `--skip-tags` select a task (its tags hold its play's and blocks' too), as in
 * Ansible: "all" selects everything; tasks tagged "always" run unless skipped by name; tasks tagged
 * "never" run only when one of their tags is asked for; `--skip-tags` wins.
 */
export function taskSelected(task: Task, tags?: string[], skipTags?: string[]): boolean {
  if (skipTags?.some((tag) => task.tags.includes(tag))) return false;
  const asked = tags && tags.length > 0 ? tags : undefined;
  if (task.tags.includes('never') && !asked?.some((tag) => tag !== 'all' && task.tags.includes(tag))) return false;
  if (!asked || asked.includes('all')) return true;
  return task.tags.includes('always') || task.tags.some((tag) => asked.includes(tag));
}

export interface TaskSelection {
  tags?: string[];
  skipTags?: string[];
  startAtTask?: string;
}

/**
 * The tasks a run works through: those `--tags`/`--skip-tags` select, from the first task named
 * `--start-at-task` on (the tasks of earlier plays, and the earlier tasks of its play, are left out).
 * Handlers are not tasks here: they run when notified.
 */
export function taskFilter(plays: Play[], sel: TaskSelection): (task: Task) => boolean {
  const before = new Set<Task>();
  if (sel.startAtTask !== undefined) {
    const all = plays.flatMap((p) => p.tasks);
    const start = all.findIndex((t) => t.name === sel.startAtTask);
    if (start > 0) all.slice(0, start).forEach((t) => before.add(t));
  }
  return (task) => !before.has(task) && taskSelected(task, sel.tags, sel.skipTags);
}

/** The scope of a host in a play (for a task: with its role's variables): play vars < inventory vars, facts, then scopeExtra. */
export function playScope(hp: HostPlay, task?: Task): Record<string, unknown> {
  return hostScope(hp.inventory, hp.host, hp.facts, task?.vars ?? hp.play.vars, hp.scopeExtra);
}

/** Sees the names an expansion looks up in its scope (see playbook/expansions.ts); `view` wraps a scope so they are seen. */
export interface ScopeWatch {
  view(scope: Record<string, unknown>, except?: string): Record<string, unknown>;
}

/**
 * Expands `task` for the host: its instances in loop order. Throws a ConfigError when `loop`
 * or a `when` cannot be evaluated, or `loop` is not a list; parameter problems are collected
 * per instance in `errors`. `scope` defaults to playScope(hp). `watch` sees every name the
 * task's `loop`, `when` and parameters look up (the loop variable excepted).
 */
export function expandTask(task: Task, hp: HostPlay, scope: Record<string, unknown> = playScope(hp, task), watch?: ScopeWatch): TaskInstance[] {
  const module = (hp.modules ?? getModule)(task.module);
  if (!module) throw new ConfigError(task.pos, task.keyPath, `unknown module "${task.module}"`);
  const seen = (s: Record<string, unknown>) => (watch ? watch.view(s, task.loop === undefined ? undefined : task.loopVar) : s);
  const items = task.loop === undefined ? [undefined] : loopItems(task, watch ? watch.view(scope) : scope, hp.host);
  const paramsAt = taskWhere(task, task.module, hp.host);
  return items.map((item, index) => {
    const loopVars = task.loop === undefined ? {} : loopVarsOf(task, items, index);
    const itemScope = itemScopeOf(scope, loopVars);
    const label = task.loop === undefined ? '' : `[${task.loopControl.label === undefined ? itemLabel(item, task.loopVar, index) : renderString(task.loopControl.label, seen(itemScope), taskWhere(task, 'loop_control.label', hp.host))}] `;
    const instance: TaskInstance = { task, module, item, label, params: {}, scope: itemScope, loopVars, ctx: contextOf(hp, itemScope, task), errors: [] };
    if (task.when !== undefined && !evaluate(task.when, seen(itemScope), taskWhere(task, 'when', hp.host))) {
      return { ...instance, skipped: `when: ${task.when}` };
    }
    const params = textWhereText(module, task.params, renderParams(task.params, seen(itemScope), paramsAt) as Record<string, unknown>);
    const localDir = localDirOf(task, hp.play, params.src);
    instance.ctx = contextOf(hp, itemScope, task, params.src);
    const errors = validateParams(module, params, { ...paramsAt, localDir });
    if (errors.length === 0) {
      for (const [relPath, message] of module.validate?.(params, { localDir, pending: hp.pending }) ?? []) {
        const at = taskWhere(task, relPath ? `${task.module}.${relPath}` : task.module, hp.host);
        errors.push(new ConfigError(at.pos, at.keyPath, `${message} (for host ${hp.host})`));
      }
    }
    return { ...instance, params, errors };
  });
}

/**
 * A string parameter written as one `<%= expr %>` takes the number or boolean it yields as text,
 * as Ansible's str parameters do (`content: "{{ probe.rc }}"`); a literal number is still an error.
 */
function textWhereText(module: Module, raw: Record<string, unknown>, rendered: Record<string, unknown>): Record<string, unknown> {
  const out = { ...rendered };
  for (const [name, spec] of Object.entries(module.params)) {
    const value = out[name];
    if (spec.type === 'string' && (typeof value === 'number' || typeof value === 'boolean') && typeof raw[name] === 'string') out[name] = String(value);
  }
  return out;
}

/** The scope of one loop item: the host play's scope with the item's loop variables bound (the scope itself without `loop`). */
export function itemScopeOf(scope: Record<string, unknown>, loopVars: Record<string, unknown>): Record<string, unknown> {
  return Object.keys(loopVars).length === 0 ? scope : { ...scope, ...loopVars };
}

/**
 * What a loop item binds, as in Ansible: the loop variable (`loop_var`, default `item`) and
 * `ansible_loop_var`; with loop_control's `index_var`, that name (0-based) and `ansible_index_var`;
 * with `extended`, `ansible_loop` (allitems, index, index0, revindex, revindex0, first, last,
 * length, previtem, nextitem).
 */
export function loopVarsOf(task: Task, items: unknown[], index: number): Record<string, unknown> {
  const { indexVar, extended } = task.loopControl;
  const n = items.length;
  return {
    [task.loopVar]: items[index],
    ansible_loop_var: task.loopVar,
    ...(indexVar ? { [indexVar]: index, ansible_index_var: indexVar } : {}),
    ...(extended
      ? {
          ansible_loop: {
            allitems: items, index: index + 1, index0: index, revindex: n - index, revindex0: n - index - 1,
            first: index === 0, last: index === n - 1, length: n,
            ...(index > 0 ? { previtem: items[index - 1] } : {}),
            ...(index < n - 1 ? { nextitem: items[index + 1] } : {}),
          },
        }
      : {}),
  };
}

/**
 * What a module's facts() and plan() get for one instance: the host's facts, and templates rendered
 * with the item's scope. `src` is the instance's rendered `src` parameter (where its local file is).
 */
export function contextOf(hp: HostPlay, itemScope: Record<string, unknown>, task: Task, src?: unknown): ModuleContext {
  return {
    host: hp.host,
    facts: hp.facts,
    evaluate: (expr) => evaluate(expr, itemScope, taskWhere(task, task.module, hp.host)),
    localDir: localDirOf(task, hp.play, src),
    runId: hp.runId,
    become: task.become ?? hp.play.become,
    verbosity: hp.verbosity ?? 0,
    lockFile: lockFileOf(hp.inventory.hosts.get(hp.host) ?? { vars: {} }),
    renderTemplate: (file, extra) => renderTemplateFile(resolveTemplatePath(file, hp.play.file, task.role?.dir), { ...itemScope, ...extra }),
  };
}

/**
 * The directory a relative local `src` (copy, unarchive, binary, docker_image) resolves from: the
 * playbook's; for a role's task, the role's `files/` then the role itself when `src` is there, as in Ansible.
 */
export function localDirOf(task: Task, play: Play, src: unknown): string {
  const playDir = dirname(play.file);
  if (!task.role || typeof src !== 'string' || isAbsolute(src)) return playDir;
  return [join(task.role.dir, 'files'), task.role.dir].find((dir) => existsSync(join(dir, src))) ?? playDir;
}

function loopItems(task: Task, scope: Record<string, unknown>, host: string): unknown[] {
  const at = taskWhere(task, 'loop', host);
  const list = evaluate(task.loop!, scope, at);
  if (!Array.isArray(list)) throw new ConfigError(at.pos, at.keyPath, `loop must yield a list, got ${describeFound(list)} (for host ${host})`);
  return list;
}

/** Keys whose value names a loop item better than its JSON would (`policy` for the ACL items). */
const LABEL_KEYS = ['name', 'policy', 'id', 'key', 'path', 'dest'];
const MAX_LABEL = 40;

/** A short name for a loop item: a naming key of a map, the item itself when scalar, else its position. */
function itemLabel(item: unknown, loopVar: string, index: number): string {
  if (item && typeof item === 'object' && !Array.isArray(item)) {
    const key = LABEL_KEYS.find((k) => ['string', 'number'].includes(typeof (item as Record<string, unknown>)[k]));
    if (key) return String((item as Record<string, unknown>)[key]);
  } else if (['string', 'number', 'boolean'].includes(typeof item)) {
    const text = String(item);
    return text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text;
  }
  return `${loopVar} ${index + 1}`;
}
