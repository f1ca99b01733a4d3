import { OFFLINE_RUN_ID } from '../host/run-id.js';
import { ConfigError } from '../errors.js';
import { placeholderFactsOf } from '../playbook/placeholder-facts.js';
import { selectHosts, unknownPatternTerms } from '../inventory/pattern.js';
import type { Inventory } from '../inventory/types.js';
import { missingGroups } from '../stack/needed-groups.js';
import { bundledPlaybooks } from '../paths.js';
import type { Module } from '../modules/types.js';
import { closest, didYouMean } from '../schema/did-you-mean.js';
import { taskFilter, taskWhere } from '../playbook/expand.js';
import { Expansions } from '../playbook/expansions.js';
import { unproduced, Unproduced } from '../playbook/expression.js';
import { playKeyPath } from '../playbook/load-playbooks.js';
import { renderTemplateFile, templateCandidates } from '../playbook/render.js';
import { boundNames, type Play, type Task } from '../playbook/types.js';
import { existsSync } from 'node:fs';
import { placeholderConsulPki } from '../stack/consul-pki.js';
import { positionIn } from '../yaml/positions.js';

export interface RunToValidate {
  inventory: Inventory;
  plays: Play[];
  modules: (name: string) => Module | undefined;
  limit?: string;
  tags?: string[];
  /** names templates see besides vars, as in the run (e.g. artifacts); secret() is stood in for */
  scopeExtra?: Record<string, unknown>;
  /** laptop files the run builds before it connects: accepted as sources although absent */
  pending?: ReadonlySet<string>;
  skipTags?: string[];
  /** --start-at-task: the name of the task to start at */
  startAtTask?: string;
  /** the run's task walk memo: what validation expands, the run reuses where it comes out the same */
  expansions?: Expansions;
}

/** Parameters of these modules name EJS templates to render on the laptop. */
const TEMPLATE_PARAMS: Record<string, string[]> = {
  template: ['src'],
  service: ['unit_src', 'upstart_src'],
  systemd_unit: ['unit_src', 'upstart_src'],
};

/** Stands in for the secret store: validation must not create secrets (nor the Consul CA: placeholderConsulPki). */
function placeholderSecret(name: string, kind: string): string {
  return kind === 'uuid' ? '00000000-0000-4000-8000-000000000000' : Buffer.alloc(32).toString('base64');
}

/** Everything about a run that can be checked without connecting. Returns every problem found (deduplicated). */
export function validateRun({ inventory, plays, modules, limit, tags, skipTags, startAtTask, scopeExtra = {}, pending, expansions = new Expansions() }: RunToValidate): ConfigError[] {
  const errors: ConfigError[] = [];
  const seen = new Set<string>();
  const add = (err: ConfigError) => {
    if (seen.has(err.message)) return;
    seen.add(err.message);
    errors.push(err);
  };
  let limited: Set<string> | undefined;
  if (limit !== undefined) {
    limited = new Set(selectHosts(inventory, limit));
    if (limited.size === 0) add(limitMatchesNothing(inventory, limit));
  }
  const known = new Set(plays.flatMap((play) => play.tasks.flatMap((task) => task.tags)));
  for (const [option, list] of [['--tags', tags], ['--skip-tags', skipTags]] as const) {
    for (const tag of list ?? []) {
      if (tag === 'all' || known.has(tag)) continue;
      const typo = closest(tag, known);
      add(new ConfigError({ file: option }, '', `no task has the tag ${JSON.stringify(tag)}${typo ? `; did you mean \`${typo}\`?` : known.size > 0 ? ` (tags: ${[...known].sort().join(', ')})` : ''}`));
    }
  }
  if (startAtTask !== undefined && !plays.some((play) => play.tasks.some((task) => task.name === startAtTask))) {
    const typo = closest(startAtTask, plays.flatMap((play) => play.tasks.map((task) => task.name)));
    add(new ConfigError({ file: '--start-at-task' }, '', `no task is named ${JSON.stringify(startAtTask)}${typo ? `; did you mean ${JSON.stringify(typo)}?` : ''}`));
  }
  const selected = taskFilter(plays, { tags, skipTags, startAtTask });
  registeringTasks = plays.flatMap((p) => [...p.tasks, ...p.handlers]).filter((t) => boundNames(t).length > 0);
  // a group the bundled plays run on that the inventory lacks is the inventory's problem: said there,
  // once (a user who never opened the playbooks could not tell from their hosts: lines)
  const bundled = plays.filter((play) => play.file.startsWith(bundledPlaybooks));
  const missing = missingGroups(inventory, bundled.map((play) => ({ pattern: play.hosts, by: { play: play.name } })));
  missing.errors.forEach(add);
  for (const play of plays) {
    const matched = selectHosts(inventory, play.hosts);
    if (matched.length === 0 && bundled.includes(play) && missing.explained.has(play.hosts)) continue;
    // every term names a group or host and the exclusions leave none (the consul clients play where
    // every host is a server): the play has nothing to do, which is no mistake; it is skipped
    if (matched.length === 0 && play.hosts.includes('!') && unknownPatternTerms(inventory, play.hosts).length === 0) continue;
    if (matched.length === 0) {
      const path = `${playKeyPath(play)}.hosts`;
      add(new ConfigError(positionIn(play.file, path, 'value', play.pos), path, `hosts pattern ${JSON.stringify(play.hosts)} matches no host${describeUnknownTerms(inventory, play.hosts)}`));
      continue;
    }
    const targeted = limited ? matched.filter((host) => limited!.has(host)) : matched;
    const tasks = [...play.tasks.filter(selected), ...play.handlers];
    for (const task of tasks) {
      if (task.delegateTo !== undefined && !task.delegateTo.includes('<%') && !inventory.hosts.has(task.delegateTo)) {
        const path = `${task.keyPath}.delegate_to`;
        add(new ConfigError(positionIn(task.pos.file, path, 'value', task.pos), path, `delegate_to names no host of the inventory: ${JSON.stringify(task.delegateTo)}${didYouMean(task.delegateTo, inventory.hosts.keys())}`));
      }
      if (!modules(task.module)) continue; // reported by loadPlaybooks (and `meta` runs no module)
      for (const host of targeted) {
        try {
          validateTaskForHost(inventory, play, task, modules, host, add, { scopeExtra, pending, expansions });
        } catch (err) {
          if (err instanceof ConfigError) add(err);
          else throw err;
        }
      }
    }
  }
  return errors;
}

/** A --limit that selects no host: bad input, with the pattern's unknown terms and their likely spelling. */
export function limitMatchesNothing(inventory: Inventory, limit: string): ConfigError {
  return new ConfigError({ file: '--limit' }, '', `${JSON.stringify(limit)} matches no host${describeUnknownTerms(inventory, limit)}`);
}

function describeUnknownTerms(inv: Inventory, pattern: string): string {
  const unknown = unknownPatternTerms(inv, pattern);
  if (unknown.length === 0) return '';
  return `: ${unknown.map(({ term, suggestion }) => `\`${term}\` is neither a group nor a host${suggestion ? ` (did you mean \`${suggestion}\`?)` : ''}`).join('; ')}`;
}

const placeholders = new WeakMap<Play, Record<string, unknown>>();

/**
 * Offline, every registered name stands for a result that does not exist yet: reading it stops the
 * checks of that task (loadPlaybooks already refused names read before their task registers them).
 */
function registeredPlaceholders(play: Play): Record<string, unknown> {
  let found = placeholders.get(play);
  if (!found) {
    found = {};
    for (const task of registeringTasks) for (const name of boundNames(task)) found[name] = unproduced(task.name);
    placeholders.set(play, found);
  }
  return found;
}
let registeringTasks: Task[] = [];

function validateTaskForHost(
  inv: Inventory,
  play: Play,
  task: Task,
  modules: RunToValidate['modules'],
  host: string,
  add: (err: ConfigError) => void,
  extra: { scopeExtra: Record<string, unknown>; pending?: ReadonlySet<string>; expansions: Expansions },
): void {
  const scopeExtra = { ...extra.scopeExtra, ...registeredPlaceholders(play), secret: placeholderSecret, consul_pki: placeholderConsulPki() };
  let instances;
  try {
    instances = extra.expansions.expand(task, { inventory: inv, play, host, facts: placeholderFactsOf(inv, host), runId: OFFLINE_RUN_ID, scopeExtra, modules, pending: extra.pending });
  } catch (err) {
    if (err instanceof Unproduced) return; // reads a registered value: only known when the run gets there
    throw err;
  }
  for (const { module, params, scope, errors, skipped } of instances) {
    if (skipped) continue;
    errors.forEach(add);
    if (errors.length > 0) continue;
    for (const param of TEMPLATE_PARAMS[module.name] ?? TEMPLATE_PARAMS[task.module] ?? []) {
      const src = params[param];
      if (typeof src !== 'string') continue;
      const where = taskWhere(task, `${task.module}.${param}`, host);
      const candidates = templateCandidates(src, play.file, task.role?.dir);
      const path = candidates.find((candidate) => existsSync(candidate));
      if (!path) {
        add(new ConfigError(where.pos, where.keyPath, `template not found: looked for ${candidates.join(' and ')}`));
        continue;
      }
      const extraVars = module.name === 'template' && typeof params.vars === 'object' && params.vars !== null ? (params.vars as Record<string, unknown>) : {};
      try {
        renderTemplateFile(path, { ...scope, ...extraVars }, where);
      } catch (err) {
        if (err instanceof Unproduced) continue;
        if (err instanceof ConfigError) add(err);
        else throw err;
      }
    }
  }
}
