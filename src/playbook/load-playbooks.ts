import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { ConfigError, ConfigErrors, type SourcePos } from '../errors.js';
import { RESERVED_VAR_NAMES } from '../inventory/vars-schema.js';
import type { Module } from '../modules/types.js';
import { closest, didYouMean } from '../schema/did-you-mean.js';
import { withFieldNames } from '../schema/aliases.js';
import type { Field, Schema } from '../schema/types.js';
import { atFile, atPath, isPlainMap, validateParams, validateValue, type At } from '../schema/validate-value.js';
import { loadYamlFile } from '../yaml/load-yaml.js';
import { joinPath } from '../yaml/path.js';
import { rememberWrittenAt } from '../yaml/positions.js';
import { PERCENT, type BatchSize } from './batch-size.js';
import { expressionSyntaxError } from './expression.js';
import { flattenSteps, type Block, type Play, type RoleInstance, type Step, type Task } from './types.js';
import { checkRegisterOrder } from './register-order.js';
import { PlayRoles, publicLayers, type RoleHow, type RoleUseContext } from './role-uses.js';
import { readRoleEntry, roleTaskParams } from './roles.js';

export type ModuleLookup = (name: string) => Module | undefined;

/** Module names of the contract; used for "did you mean" on unknown module keys. */
export const MODULE_NAMES = ['package', 'file', 'copy', 'template', 'service', 'systemd_unit', 'docker_container', 'docker_image', 'binary', 'command', 'shell', 'wait_for', 'debug', 'set_fact', 'assert', 'fail', 'stat', 'lineinfile', 'blockinfile', 'group', 'user', 'get_url', 'systemd', 'systemd_service', 'apt_repository', 'deb822_repository', 'unarchive', 'consul_acl_policy', 'consul_acl_token'];

const stringList: Schema = {
  type: 'oneOf',
  alternatives: [{ type: 'string' }, { type: 'list', items: { type: 'string' } }],
  hint: 'a string or a list of strings',
};

const batchSize: Schema = {
  type: 'oneOf',
  alternatives: [
    { type: 'integer', min: 1 },
    { type: 'string', pattern: /^([1-9]\d?|100)%$/, patternHint: 'a percentage from 1% to 100%' },
  ],
  hint: 'a number of hosts (1 or more) or a percentage of the play\'s hosts like "30%"',
};

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export const playFields: Record<string, Field> = {
  name: { type: 'string' },
  hosts: { ...stringList, hint: 'a host pattern (a group, a host, all, or a pattern like web:&prod)', required: true },
  vars: { type: 'map', fields: {}, additional: { type: 'any' } },
  vars_files: { ...stringList, hint: 'a YAML file of variables, or a list of them (relative to the playbook)' },
  pre_tasks: { type: 'list', items: { type: 'any' }, description: 'tasks run before the roles (the handlers they notify run right after them)' },
  roles: { type: 'list', items: { type: 'any' }, description: 'roles run before the tasks: a name, or { role: NAME, vars, when, tags }' },
  tasks: { type: 'list', items: { type: 'any' } },
  post_tasks: { type: 'list', items: { type: 'any' }, description: 'tasks run after the tasks and their handlers' },
  handlers: { type: 'list', items: { type: 'any' } },
  become: { type: 'boolean' },
  tags: stringList,
  serial: {
    type: 'oneOf',
    alternatives: [batchSize, { type: 'list', items: batchSize, minItems: 1 }],
    hint: 'a batch size: a number of hosts, a percentage like "30%", or a list of them like [1, "50%"]',
  },
  max_fail_percentage: { type: 'integer', min: 0, max: 100 },
  // accepted as written for Ansible; either way the first round trip gathers the facts the play's tasks need
  gather_facts: { type: 'boolean' },
};

const expression: Schema = { type: 'oneOf', alternatives: [{ type: 'string' }, { type: 'boolean' }], hint: 'a JavaScript expression (a string) or true/false' };

export const taskFields: Record<string, Field> = {
  name: { type: 'string' },
  when: expression,
  loop: { type: 'oneOf', alternatives: [{ type: 'string' }, { type: 'list', items: { type: 'any' } }], hint: 'a list, or a JavaScript expression yielding a list' },
  loop_var: { type: 'string', pattern: IDENTIFIER, patternHint: 'a JavaScript identifier like item or app' },
  loop_control: {
    type: 'map',
    fields: {
      loop_var: { type: 'string', pattern: IDENTIFIER, patternHint: 'a JavaScript identifier like item or app' },
      index_var: { type: 'string', pattern: IDENTIFIER, patternHint: 'a JavaScript identifier like idx' },
      label: { type: 'string', description: 'what the output shows for each item (EJS)' },
      pause: { type: 'integer', min: 0, description: 'seconds to wait between items' },
      extended: { type: 'boolean', description: 'bind ansible_loop (index, index0, first, last, length, previtem, nextitem...)' },
    },
  },
  notify: stringList,
  tags: stringList,
  become: { type: 'boolean' },
  register: { type: 'string', pattern: IDENTIFIER, patternHint: 'a JavaScript identifier like result or leader' },
  changed_when: expression,
  failed_when: expression,
  ignore_errors: { type: 'boolean' },
  until: { type: 'string' },
  retries: { type: 'integer', min: 0 },
  delay: { type: 'integer', min: 0 },
  run_once: { type: 'boolean' },
  delegate_to: { type: 'string' },
  listen: stringList,
  sensitive: { type: 'boolean' },
  timeout: { type: 'integer', min: 1 },
};

/** Ansible's task keywords this tool has no such key for, so they are named as task keys, not taken for modules; with what to write instead. */
const ANSIBLE_TASK_KEYS: Record<string, string> = {
  with_items: 'use `loop`',
  with_list: 'use `loop`',
  with_dict: 'use `loop` over an expression such as `Object.entries(d)`',
  no_log: 'use `sensitive: true`',
  args: 'give the parameters under the module key',
  action: 'give the module as the key',
  local_action: '',
  environment: 'set variables in the command itself (`shell`, or `argv: [env, NAME=value, ...]`)',
  async: '',
  poll: '',
  vars: 'set variables on the play, the inventory or with -e',
  check_mode: '',
  diff: '',
  throttle: '',
  any_errors_fatal: '',
  delegate_facts: '',
  become_user: '',
  become_method: '',
  remote_user: 'set the host\'s `user` in the inventory',
  connection: '',
  ignore_unreachable: '',
  module_defaults: '',
  collections: '',
  debugger: '',
};

export const importFields: Record<string, Field> = {
  import_playbook: { type: 'string', required: true },
  when: taskFields.when,
};

/** Keys of a `block:` entry; when/become/tags/notify pass down to its tasks. */
export const blockFields: Record<string, Field> = {
  name: { type: 'string' },
  block: { type: 'list', items: { type: 'any' }, required: true },
  rescue: { type: 'list', items: { type: 'any' } },
  always: { type: 'list', items: { type: 'any' } },
  when: taskFields.when,
  become: { type: 'boolean' },
  tags: stringList,
  notify: stringList,
};

/** What a block passes down to the tasks inside it. */
interface Inherited {
  when: string[];
  become?: boolean;
  tags: string[];
  notify: string[];
  /** the file the steps are read from, and the task files that imported it (for cycles) */
  file: string;
  chain: string[];
  /** the role the steps belong to, and the role directories that led to it (for cycles) */
  role?: RoleInstance;
  roleChain: string[];
}

/** What reading a play's tasks (not its handlers) carries: notify targets, checked once every handler is known, and the play's roles. */
interface TaskContext {
  notifies: Array<{ raw: unknown; names: string[]; at: At }>;
  roles: PlayRoles;
}

/** `- include_role: { name: ROLE, tasks_from... }` (or import_role) with the keys passed to the role's tasks. */
export const roleTaskFields = (key: string): Record<string, Field> => ({
  [key]: { type: 'map', fields: roleTaskParams, required: true },
  name: { type: 'string' },
  vars: { type: 'map', fields: {}, additional: { type: 'any' }, description: 'variables of the role\'s tasks, over its defaults and vars' },
  when: expression,
  tags: stringList,
  become: { type: 'boolean' },
});

/** `- import_tasks: FILE` (or include_tasks, also as `{ file: FILE }`) with the keys passed to its tasks. */
const taskFileTarget: Schema = {
  type: 'oneOf',
  alternatives: [{ type: 'string' }, { type: 'map', fields: { file: { type: 'string', required: true } } }],
  hint: 'a task file (relative to the file that names it), or { file: ... }',
};
export const importTasksFields = (key: string): Record<string, Field> => ({
  [key]: { ...taskFileTarget, required: true },
  name: { type: 'string' },
  when: expression,
  tags: stringList,
  become: { type: 'boolean' },
});

const playKeyPaths = new WeakMap<Play, string>();

/** Key path of a loaded play in its file, e.g. "plays.2". */
export function playKeyPath(play: Play): string {
  return playKeyPaths.get(play) ?? 'plays';
}

/**
 * Loads playbooks (YAML lists of plays or `- import_playbook: other.yml`), validating every play and
 * task against the modules' parameter schemas. Throws ConfigErrors with every problem found.
 */
export function loadPlaybooks(files: string[], modules: ModuleLookup, moduleNames: string[] = MODULE_NAMES): Play[] {
  const errors: ConfigError[] = [];
  const plays: Play[] = [];
  const known = moduleNames.filter((name) => modules(name) !== undefined);
  const loadFile = (file: string, importChain: string[]): void => {
    let value: unknown;
    try {
      value = loadYamlFile(file, 'plays').value;
    } catch (err) {
      if (err instanceof ConfigError) return void errors.push(err);
      throw err;
    }
    const at = atFile(file, 'plays');
    if (value === null || value === undefined) return void errors.push(new ConfigError({ file }, '', 'the playbook is empty; expected a list of plays (- hosts: ...)'));
    if (!Array.isArray(value)) return void errors.push(new ConfigError(at.locate('plays'), '', `expected a list of plays (- hosts: ...), got ${isPlainMap(value) ? 'a map' : JSON.stringify(value)}`));
    value.forEach((entry, i) => {
      const entryAt = atPath(at, i);
      if (isPlainMap(entry) && 'import_playbook' in entry) return importPlaybook(file, entry, entryAt, importChain);
      const play = readPlay(entry, entryAt, file, modules, known, errors);
      if (play) plays.push(play);
    });
  };
  const importPlaybook = (file: string, entry: Record<string, unknown>, at: At, importChain: string[]): void => {
    const shape = validateValue(entry, { type: 'map', fields: importFields }, at);
    errors.push(...shape);
    const target = entry.import_playbook;
    if (typeof target !== 'string' || shape.length > 0) return;
    const when = entry.when === undefined ? undefined : String(entry.when);
    if (typeof entry.when === 'string') checkExpression(entry.when, atPath(at, 'when'), errors);
    const targetAt = atPath(at, 'import_playbook');
    const full = resolve(dirname(file), target);
    if (importChain.includes(full)) {
      const chain = [...importChain.slice(importChain.indexOf(full)), full].map((f) => relative(process.cwd(), f) || f);
      return void errors.push(new ConfigError(targetAt.locate(targetAt.path), targetAt.path, `import cycle: ${chain.join(' -> ')}`));
    }
    if (!existsSync(full)) return void errors.push(new ConfigError(targetAt.locate(targetAt.path), targetAt.path, `imported playbook not found: ${full}`));
    const first = plays.length;
    loadFile(full, [...importChain, full]);
    // as in Ansible: the import's condition applies to every task of the imported plays (handlers run only when notified)
    if (when === undefined) return;
    for (const play of plays.slice(first)) {
      play.importWhen = [when, ...(play.importWhen ?? [])];
      for (const task of play.tasks) task.when = task.when === undefined ? when : `(${when}) && (${task.when})`;
    }
  };
  for (const file of files) {
    const full = resolve(file);
    if (!existsSync(full)) errors.push(new ConfigError({ file: full }, '', 'playbook file not found'));
    else loadFile(full, [full]);
  }
  if (errors.length === 0) errors.push(...checkRegisterOrder(plays));
  if (errors.length > 0) throw new ConfigErrors(errors);
  return plays;
}

function readPlay(entry: unknown, at: At, file: string, modules: ModuleLookup, known: string[], errors: ConfigError[]): Play | undefined {
  const shape = validateValue(entry, { type: 'map', fields: playFields }, at);
  errors.push(...shape);
  if (!isPlainMap(entry)) return undefined;
  const vars = { ...(isPlainMap(entry.vars) ? entry.vars : {}), ...readVarsFiles(entry.vars_files, atPath(at, 'vars_files'), file, errors) };
  for (const name of Object.keys(isPlainMap(entry.vars) ? entry.vars : {})) {
    if ((RESERVED_VAR_NAMES as readonly string[]).includes(name)) {
      const varAt = atPath(atPath(at, 'vars'), name);
      errors.push(new ConfigError(varAt.locate(varAt.path, 'key'), varAt.path, `\`${name}\` is a reserved name in templates and expressions; rename this variable`));
    }
  }
  const tags = toList(entry.tags);
  const top: Inherited = { when: [], tags, notify: [], file, chain: [file], roleChain: [] };
  const roleInherited = (taskFile: string, use: RoleUseContext): Inherited => ({
    when: use.when, tags: use.tags, become: use.become, notify: [], file: taskFile, chain: [taskFile], role: use.role, roleChain: use.chain,
  });
  const roles: PlayRoles = new PlayRoles(file, errors, {
    tasks: (taskFile, use) => readTaskList(taskFile, modules, known, errors, ctx, roleInherited(taskFile, use)),
    handlers: (handlerFile, use) => readTaskList(handlerFile, modules, known, errors, undefined, roleInherited(handlerFile, use)).filter((s): s is Task => !('block' in s)),
  });
  const ctx: TaskContext = { notifies: [], roles };
  const playHandlers = readSteps(entry.handlers, atPath(at, 'handlers'), modules, known, errors, undefined, top).filter((s): s is Task => !('block' in s));
  const section = (key: string) => readSteps(entry[key], atPath(at, key), modules, known, errors, ctx, top);
  const preTasks = section('pre_tasks');
  const roleSteps: Step[] = [];
  if (Array.isArray(entry.roles)) {
    entry.roles.forEach((item, i) => {
      const use = readRoleEntry(item, atPath(atPath(at, 'roles'), i), errors);
      if (use) roleSteps.push(...roles.use(use, 'roles', { when: [], tags, chain: [] }).steps);
    });
  }
  const mainTasks = section('tasks');
  const postTasks = section('post_tasks');
  // as in Ansible, the handlers notified by pre_tasks run before the roles, and those of the roles and tasks before post_tasks
  const flush = (key: string): Step[] => [implicitFlush(at, key, tags)];
  const steps = [
    ...preTasks, ...(preTasks.length > 0 ? flush('pre_tasks') : []),
    ...roleSteps, ...mainTasks, ...(postTasks.length > 0 ? flush('post_tasks') : []),
    ...postTasks,
  ];
  const handlers = [...roles.handlers, ...playHandlers];
  const handlerNames = new Map<string, Task>();
  const topics = new Set<string>();
  for (const handler of handlers) {
    const nameAt = atFile(handler.pos.file, `${handler.keyPath}.name`, handler.pos);
    if (!handler.role && !hasName(entry.handlers, handler.keyPath)) {
      errors.push(new ConfigError(handler.pos, handler.keyPath, 'a handler needs a `name` (tasks notify it by name)'));
    } else if (handlerNames.has(handler.name)) {
      errors.push(new ConfigError(nameAt.locate(nameAt.path), nameAt.path, `duplicate handler name ${JSON.stringify(handler.name)} (also at ${handlerNames.get(handler.name)!.keyPath})`));
    }
    handlerNames.set(handler.name, handler);
    handler.listen.forEach((t) => topics.add(t));
  }
  const notifiable = new Set([...handlerNames.keys(), ...topics]);
  for (const { raw, names, at: notifyAt } of ctx.notifies) checkNotify(raw, names, notifyAt, notifiable, errors);
  const hosts = Array.isArray(entry.hosts) ? entry.hosts.join(',') : typeof entry.hosts === 'string' ? entry.hosts : '';
  const play: Play = {
    name: typeof entry.name === 'string' ? entry.name : hosts,
    hosts,
    vars,
    tasks: flattenSteps(steps),
    steps,
    handlers,
    become: typeof entry.become === 'boolean' ? entry.become : true,
    tags,
    serial: readSerial(entry.serial),
    maxFailPercentage: typeof entry.max_fail_percentage === 'number' ? entry.max_fail_percentage : undefined,
    file,
    pos: at.locate(at.path),
  };
  layerRoleVars(play, roles);
  playKeyPaths.set(play, at.path);
  return play;
}

/**
 * The variables each task sees, as Ansible's precedence orders them (README: Roles): the public
 * roles' defaults < the task's own role's defaults < the play's vars < the public roles' vars <
 * its own role's vars and parameters. One object per role use, so scopes stay comparable by identity.
 */
function layerRoleVars(play: Play, roles: PlayRoles): void {
  if (roles.uses.length === 0) return;
  const shared = publicLayers(roles);
  const own = play.vars;
  play.vars = { ...shared.defaults, ...own, ...shared.vars };
  const byRole = new Map<RoleInstance, Record<string, unknown>>();
  for (const task of [...play.tasks, ...play.handlers]) {
    if (!task.role) continue;
    let vars = byRole.get(task.role);
    if (!vars) byRole.set(task.role, (vars = { ...shared.defaults, ...task.role.defaults, ...own, ...shared.vars, ...task.role.vars }));
    task.vars = vars;
  }
}

/** The `meta: flush_handlers` Ansible runs after pre_tasks and after the roles and tasks. */
function implicitFlush(at: At, key: string, tags: string[]): Task {
  const keyAt = atPath(at, key);
  return {
    name: 'meta: flush_handlers', module: 'meta', params: {}, loopVar: 'item', loopControl: { extended: false }, notify: [],
    tags: [...new Set([...tags, 'always'])], ignoreErrors: false, runOnce: false, listen: [], meta: 'flush_handlers', sensitive: false, implicit: true,
    pos: keyAt.locate(keyAt.path, 'key'), keyPath: keyAt.path,
  };
}

/** A YAML file of tasks, parsed: its list and where it is, or undefined (empty, or an error pushed). */
function loadTaskFile(file: string, errors: ConfigError[]): { tasks: unknown[]; fileAt: At } | undefined {
  let value: unknown;
  try {
    value = loadYamlFile(file, 'tasks').value;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    errors.push(err);
    return undefined;
  }
  if (value === null || value === undefined) return undefined;
  const fileAt = atFile(file, 'tasks');
  if (!Array.isArray(value)) {
    errors.push(new ConfigError(fileAt.locate('tasks'), '', `expected a list of tasks, got ${isPlainMap(value) ? 'a map' : JSON.stringify(value)}`));
    return undefined;
  }
  return { tasks: value, fileAt };
}

/** A YAML file of tasks (a role's tasks or handlers file), read as import_tasks reads one. */
function readTaskList(file: string, modules: ModuleLookup, known: string[], errors: ConfigError[], ctx: TaskContext | undefined, inherited: Inherited): Step[] {
  const loaded = loadTaskFile(file, errors);
  return loaded ? readSteps(loaded.tasks, loaded.fileAt, modules, known, errors, ctx, inherited) : [];
}

/**
 * `include_role` / `import_role`: the role's tasks (tasks_from), read when the playbook loads,
 * with the entry's when, tags, become and vars passed to them; its handlers join the play's.
 */
function readRoleTask(entry: Record<string, unknown>, at: At, errors: ConfigError[], ctx: TaskContext | undefined, outer: Inherited): Step[] {
  const key = 'import_role' in entry ? 'import_role' : 'include_role';
  const shape = validateValue(entry, { type: 'map', fields: roleTaskFields(key) }, at);
  errors.push(...shape);
  if (shape.length > 0) return [];
  if (!ctx) {
    const keyAt = atPath(at, key);
    errors.push(new ConfigError(keyAt.locate(keyAt.path, 'key'), keyAt.path, `\`${key}\` is for tasks, not handlers`));
    return [];
  }
  const params = entry[key] as Record<string, string>;
  const when = readCondition(entry.when, atPath(at, 'when'), errors);
  const how: RoleHow = key;
  return ctx.roles.use(
    {
      name: params.name!,
      vars: isPlainMap(entry.vars) ? entry.vars : {},
      tags: toList(entry.tags),
      become: typeof entry.become === 'boolean' ? entry.become : undefined,
      nameAt: atPath(atPath(at, key), 'name'),
      from: { tasks: params.tasks_from ?? 'main', vars: params.vars_from ?? 'main', defaults: params.defaults_from ?? 'main', handlers: params.handlers_from ?? 'main' },
      ...(when === undefined ? {} : { when }),
    },
    how,
    { when: outer.when, tags: outer.tags, become: outer.become, chain: outer.roleChain },
  ).steps;
}

function readSerial(value: unknown): BatchSize[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = Array.isArray(value) ? value : [value];
  return list.filter((v): v is BatchSize => typeof v === 'number' || (typeof v === 'string' && PERCENT.test(v)));
}

/** `vars_files`, relative to the playbook: YAML maps merged in order over the play's `vars`. */
function readVarsFiles(value: unknown, at: At, playbook: string, errors: ConfigError[]): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  list.forEach((rel, i) => {
    if (typeof rel !== 'string') return;
    const itemAt = Array.isArray(value) ? atPath(at, i) : at;
    const full = resolve(dirname(playbook), rel);
    if (!existsSync(full)) return void errors.push(new ConfigError(itemAt.locate(itemAt.path), itemAt.path, `vars file not found: ${full}`));
    try {
      const { value: vars } = loadYamlFile(full);
      if (vars === null || vars === undefined) return;
      if (!isPlainMap(vars)) return void errors.push(new ConfigError({ file: full, line: 1, col: 1 }, '', `expected a map of variables, got ${Array.isArray(vars) ? 'a list' : JSON.stringify(vars)}`));
      for (const name of Object.keys(vars)) {
        if (!(RESERVED_VAR_NAMES as readonly string[]).includes(name)) continue;
        const varAt = atFile(full, name);
        errors.push(new ConfigError(varAt.locate(name, 'key'), name, `\`${name}\` is a reserved name in templates and expressions; rename this variable`));
      }
      Object.assign(merged, vars);
    } catch (err) {
      if (err instanceof ConfigError) errors.push(err);
      else throw err;
    }
  });
  return merged;
}

function hasName(list: unknown, keyPath: string): boolean {
  const index = Number(keyPath.split('.').pop());
  return Array.isArray(list) && isPlainMap(list[index]) && typeof list[index].name === 'string';
}

/** `notifiable` is undefined for the handler list (handlers cannot be blocks or notify). */
function readSteps(
  list: unknown,
  at: At,
  modules: ModuleLookup,
  known: string[],
  errors: ConfigError[],
  notifiable: TaskContext | undefined,
  inherited: Inherited,
): Step[] {
  if (!Array.isArray(list)) return [];
  const steps: Step[] = [];
  list.forEach((entry, i) => {
    const entryAt = atPath(at, i);
    if (isPlainMap(entry) && ('import_tasks' in entry || 'include_tasks' in entry)) {
      steps.push(...readTaskFile(entry, entryAt, modules, known, errors, notifiable, inherited));
      return;
    }
    if (isPlainMap(entry) && ('import_role' in entry || 'include_role' in entry)) {
      steps.push(...readRoleTask(entry, entryAt, errors, notifiable, inherited));
      return;
    }
    const step = notifiable && isPlainMap(entry) && 'block' in entry
      ? readBlock(entry, entryAt, modules, known, errors, notifiable, inherited)
      : readTask(entry, entryAt, modules, known, errors, notifiable, inherited);
    if (step) steps.push(step);
  });
  return steps;
}

/**
 * `import_tasks` / `include_tasks`: the tasks of another file, read when the playbook loads (both
 * are static here), with the entry's `when`, `tags` and `become` passed to each, as an import does.
 */
function readTaskFile(
  entry: Record<string, unknown>,
  at: At,
  modules: ModuleLookup,
  known: string[],
  errors: ConfigError[],
  notifiable: TaskContext | undefined,
  outer: Inherited,
): Step[] {
  const key = 'import_tasks' in entry ? 'import_tasks' : 'include_tasks';
  const shape = validateValue(entry, { type: 'map', fields: importTasksFields(key) }, at);
  errors.push(...shape);
  const raw = entry[key];
  const target = typeof raw === 'string' ? raw : isPlainMap(raw) && typeof raw.file === 'string' ? raw.file : undefined;
  if (target === undefined || shape.length > 0) return [];
  const targetAt = atPath(at, key);
  const full = resolve(dirname(outer.file), target);
  if (outer.chain.includes(full)) {
    const chain = [...outer.chain.slice(outer.chain.indexOf(full)), full].map((f) => relative(process.cwd(), f) || f);
    errors.push(new ConfigError(targetAt.locate(targetAt.path), targetAt.path, `task file import cycle: ${chain.join(' -> ')}`));
    return [];
  }
  if (!existsSync(full)) {
    errors.push(new ConfigError(targetAt.locate(targetAt.path), targetAt.path, `task file not found: ${full}`));
    return [];
  }
  const loaded = loadTaskFile(full, errors);
  if (!loaded) return [];
  const when = readCondition(entry.when, atPath(at, 'when'), errors);
  const inner: Inherited = {
    ...outer,
    when: when === undefined ? outer.when : [...outer.when, when],
    become: typeof entry.become === 'boolean' ? entry.become : outer.become,
    tags: [...new Set([...outer.tags, ...toList(entry.tags)])],
    file: full,
    chain: [...outer.chain, full],
  };
  return readSteps(loaded.tasks, loaded.fileAt, modules, known, errors, notifiable, inner);
}

function readBlock(
  entry: Record<string, unknown>,
  at: At,
  modules: ModuleLookup,
  known: string[],
  errors: ConfigError[],
  notifiable: TaskContext,
  outer: Inherited,
): Block {
  errors.push(...validateValue(entry, { type: 'map', fields: blockFields }, at));
  const when = readCondition(entry.when, atPath(at, 'when'), errors);
  const notify = toList(entry.notify);
  notifiable.notifies.push({ raw: entry.notify, names: notify, at: atPath(at, 'notify') });
  const inner: Inherited = {
    ...outer,
    when: when === undefined ? outer.when : [...outer.when, when],
    become: typeof entry.become === 'boolean' ? entry.become : outer.become,
    tags: [...new Set([...outer.tags, ...toList(entry.tags)])],
    notify: [...new Set([...outer.notify, ...notify])],
  };
  const section = (key: 'block' | 'rescue' | 'always') => readSteps(entry[key], atPath(at, key), modules, known, errors, notifiable, inner);
  return {
    name: typeof entry.name === 'string' ? entry.name : undefined,
    block: section('block'),
    rescue: section('rescue'),
    always: section('always'),
    pos: at.locate(at.path),
    keyPath: at.path,
  };
}

/** A task's keys sorted into module keys and task keys; an unknown key is an error at its key. */
function splitTaskKeys(entry: Record<string, unknown>, at: At, modules: ModuleLookup, known: string[], isHandler: boolean, errors: ConfigError[]) {
  const moduleKeys: string[] = [];
  const taskKeys: Record<string, unknown> = {};
  const keyNames = [...Object.keys(taskFields), ...(isHandler ? [] : ['block'])];
  let bad = false;
  for (const [key, value] of Object.entries(entry)) {
    if (key in taskFields) taskKeys[key] = value;
    else if (modules(key) || key === 'meta') moduleKeys.push(key);
    else {
      bad = true;
      const keyAt = atPath(at, key);
      const taskKeyTypo = closest(key, keyNames);
      const detail = key in ANSIBLE_TASK_KEYS
        ? `task key \`${key}\` is Ansible's and not supported here${ANSIBLE_TASK_KEYS[key] ? `: ${ANSIBLE_TASK_KEYS[key]}` : ''} (docs/playbooks.md: Coming from Ansible)`
        : taskKeyTypo
        ? `unknown task key \`${key}\`; did you mean \`${taskKeyTypo}\`?`
        : `unknown module \`${key}\`${didYouMean(key, known) || ` (modules: ${known.join(', ')}; task keys: ${keyNames.join(', ')})`}`;
      errors.push(new ConfigError(keyAt.locate(keyAt.path, 'key'), keyAt.path, detail));
    }
  }
  return { moduleKeys, taskKeys, bad };
}

/** The module's parameters, validated against its schema (`meta: flush_handlers` has none). */
function readModuleParams(entry: Record<string, unknown>, moduleKey: string, at: At, modules: ModuleLookup, isHandler: boolean, errors: ConfigError[]): { params: Record<string, unknown>; meta: Task['meta'] } {
  const paramsAt = atPath(at, moduleKey);
  const params = entry[moduleKey] ?? {};
  if (moduleKey === 'meta') {
    if (params !== 'flush_handlers') errors.push(new ConfigError(paramsAt.locate(paramsAt.path), paramsAt.path, `expected \`flush_handlers\` (the only meta action supported), got ${JSON.stringify(params)}`));
    if (isHandler) errors.push(new ConfigError(paramsAt.locate(paramsAt.path, 'key'), paramsAt.path, '`meta` is for tasks, not handlers'));
    return { params: {}, meta: 'flush_handlers' };
  }
  if (!isPlainMap(params)) {
    errors.push(new ConfigError(paramsAt.locate(paramsAt.path), paramsAt.path, `expected a map of parameters for module \`${moduleKey}\`, got ${Array.isArray(params) ? 'a list' : JSON.stringify(params)}`));
    return { params: {}, meta: undefined };
  }
  const module = modules(moduleKey)!;
  const pos = paramsAt.locate(paramsAt.path);
  errors.push(...validateParams(module, params, { pos, keyPath: paramsAt.path }));
  // aliases are written under their parameter's name from here on; errors found later still point where the user wrote them
  const [named, renamed] = withFieldNames(params, module.params);
  for (const [alias, name] of renamed) rememberWrittenAt(pos.file, joinPath(paramsAt.path, name), joinPath(paramsAt.path, alias));
  return { params: named, meta: undefined };
}

/** `loop`, `loop_control` and the `loop_var` alias. */
function readLoop(taskKeys: Record<string, unknown>, at: At, errors: ConfigError[]): Pick<Task, 'loop' | 'loopVar' | 'loopControl'> {
  let loop: string | undefined;
  if (Array.isArray(taskKeys.loop)) loop = JSON.stringify(taskKeys.loop);
  else if (typeof taskKeys.loop === 'string') {
    loop = taskKeys.loop;
    checkExpression(loop, atPath(at, 'loop'), errors);
  }
  const control = isPlainMap(taskKeys.loop_control) ? taskKeys.loop_control : {};
  if (taskKeys.loop_control !== undefined && taskKeys.loop === undefined) keyError(at, 'loop_control', '`loop_control` needs `loop` (the list to run the task over)', errors);
  if (taskKeys.loop_var !== undefined && control.loop_var !== undefined) keyError(at, 'loop_var', 'give the loop variable once: `loop_var` here is an alias of `loop_control.loop_var`', errors);
  return {
    loop,
    loopVar: typeof control.loop_var === 'string' ? control.loop_var : typeof taskKeys.loop_var === 'string' ? taskKeys.loop_var : 'item',
    loopControl: {
      indexVar: typeof control.index_var === 'string' ? control.index_var : undefined,
      label: typeof control.label === 'string' ? control.label : undefined,
      pause: typeof control.pause === 'number' ? control.pause : undefined,
      extended: control.extended === true,
    },
  };
}

/** An error at a task key itself (not its value). */
function keyError(at: At, key: string, message: string, errors: ConfigError[]): void {
  const keyAt = atPath(at, key);
  errors.push(new ConfigError(keyAt.locate(keyAt.path, 'key'), keyAt.path, message));
}

/** The checks of keys that need another key, or a name that is free: until/retries/delay, register, listen. */
function checkKeyPairs(taskKeys: Record<string, unknown>, at: At, isHandler: boolean, errors: ConfigError[]): { until?: string; register?: string } {
  const until = typeof taskKeys.until === 'string' ? taskKeys.until : undefined;
  if (until !== undefined) checkExpression(until, atPath(at, 'until'), errors);
  for (const key of ['retries', 'delay'] as const) {
    if (taskKeys[key] !== undefined && until === undefined) keyError(at, key, `\`${key}\` needs \`until\` (the condition to retry on)`, errors);
  }
  const register = typeof taskKeys.register === 'string' ? taskKeys.register : undefined;
  if (register && (RESERVED_VAR_NAMES as readonly string[]).includes(register)) {
    const regAt = atPath(at, 'register');
    errors.push(new ConfigError(regAt.locate(regAt.path), regAt.path, `\`${register}\` is a reserved name in templates and expressions; register under another name`));
  }
  if (!isHandler && taskKeys.listen !== undefined) keyError(at, 'listen', '`listen` is for handlers; tasks `notify` a handler name or a listen topic', errors);
  return { until, register };
}

function readTask(
  entry: unknown,
  at: At,
  modules: ModuleLookup,
  known: string[],
  errors: ConfigError[],
  notifiable: TaskContext | undefined,
  inherited: Inherited,
): Task | undefined {
  const pos: SourcePos = at.locate(at.path);
  const isHandler = notifiable === undefined;
  if (!isPlainMap(entry)) {
    errors.push(new ConfigError(pos, at.path, `expected a ${isHandler ? 'handler' : 'task'} (a map with a module key like \`package:\`), got ${entry === null ? 'nothing' : Array.isArray(entry) ? 'a list' : JSON.stringify(entry)}`));
    return undefined;
  }
  const { moduleKeys, taskKeys, bad } = splitTaskKeys(entry, at, modules, known, isHandler, errors);
  const before = errors.length;
  errors.push(...validateValue(taskKeys, { type: 'map', fields: taskFields }, at));
  if (moduleKeys.length === 0) {
    if (!bad) errors.push(new ConfigError(pos, at.path, `a ${isHandler ? 'handler' : 'task'} needs exactly one module key (one of: ${known.join(', ')}), or \`meta: flush_handlers\`${isHandler ? '' : ', or `block:`'}`));
    return undefined;
  }
  if (moduleKeys.length > 1) {
    const secondAt = atPath(at, moduleKeys[1]);
    errors.push(new ConfigError(secondAt.locate(secondAt.path, 'key'), secondAt.path, `a task runs exactly one module, found ${moduleKeys.map((k) => `\`${k}\``).join(' and ')}; split it into separate tasks`));
    return undefined;
  }
  const moduleKey = moduleKeys[0]!;
  const { params, meta } = readModuleParams(entry, moduleKey, at, modules, isHandler, errors);
  const ownWhen = readCondition(taskKeys.when, atPath(at, 'when'), errors);
  const conditions = ownWhen === undefined ? inherited.when : [...inherited.when, ownWhen];
  const loop = readLoop(taskKeys, at, errors);
  const { until, register } = checkKeyPairs(taskKeys, at, isHandler, errors);
  const ownNotify = toList(taskKeys.notify);
  if (notifiable && errors.length === before) notifiable.notifies.push({ raw: taskKeys.notify, names: ownNotify, at: atPath(at, 'notify') });
  return {
    name: typeof taskKeys.name === 'string' ? taskKeys.name : moduleKey === 'meta' ? 'meta: flush_handlers' : moduleKey,
    module: moduleKey,
    params,
    when: conditions.length === 0 ? undefined : conditions.length === 1 ? conditions[0] : conditions.map((c) => `(${c})`).join(' && '),
    ...loop,
    notify: [...new Set([...inherited.notify, ...ownNotify])],
    tags: [...new Set([...inherited.tags, ...toList(taskKeys.tags)])],
    become: typeof taskKeys.become === 'boolean' ? taskKeys.become : inherited.become,
    register,
    changedWhen: readCondition(taskKeys.changed_when, atPath(at, 'changed_when'), errors),
    failedWhen: readCondition(taskKeys.failed_when, atPath(at, 'failed_when'), errors),
    ignoreErrors: taskKeys.ignore_errors === true,
    until,
    retries: typeof taskKeys.retries === 'number' ? taskKeys.retries : undefined,
    delay: typeof taskKeys.delay === 'number' ? taskKeys.delay : undefined,
    runOnce: taskKeys.run_once === true,
    delegateTo: typeof taskKeys.delegate_to === 'string' ? taskKeys.delegate_to : undefined,
    listen: toList(taskKeys.listen),
    meta,
    sensitive: taskKeys.sensitive === true,
    timeout: typeof taskKeys.timeout === 'number' ? taskKeys.timeout : undefined,
    ...(inherited.role ? { role: inherited.role } : {}),
    pos,
    keyPath: at.path,
  };
}

/** A when / changed_when / failed_when value: an expression string (syntax-checked) or a boolean, as an expression. */
function readCondition(value: unknown, at: At, errors: ConfigError[]): string | undefined {
  if (typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return undefined;
  checkExpression(value, at, errors);
  return value;
}

function checkNotify(raw: unknown, names: string[], at: At, notifiable: Set<string>, errors: ConfigError[]): void {
  names.forEach((name, i) => {
    if (notifiable.has(name)) return;
    const itemAt = Array.isArray(raw) ? atPath(at, i) : at;
    const hint = didYouMean(name, notifiable) || (notifiable.size > 0 ? ` (handlers and listen topics of this play: ${[...notifiable].join(', ')})` : ' (this play has no handlers)');
    errors.push(new ConfigError(itemAt.locate(itemAt.path), itemAt.path, `notify names no handler of this play: ${JSON.stringify(name)}${hint}`));
  });
}

function checkExpression(expr: string, at: At, errors: ConfigError[]): void {
  const problem = expressionSyntaxError(expr);
  if (problem) errors.push(new ConfigError(at.locate(at.path), at.path, `not a valid JavaScript expression: ${problem} (in ${JSON.stringify(expr)})`));
}

function toList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}
