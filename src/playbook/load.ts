import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { ConfigError, ConfigErrors, type SourcePos } from '../errors.js';
import { RESERVED_VAR_NAMES } from '../inventory/vars-schema.js';
import type { Module } from '../modules/types.js';
import { closest, didYouMean } from '../schema/did-you-mean.js';
import type { Field, Schema } from '../schema/types.js';
import { atFile, atPath, isPlainMap, validateParams, validateValue, type At } from '../schema/validate.js';
import { loadYamlFile } from '../yaml/load.js';
import { PERCENT, type BatchSize } from '../runner/batches.js';
import { expressionSyntaxError } from './expression.js';
import type { Play, Task } from './types.js';

export type ModuleLookup = (name: string) => Module | undefined;

/** Module names of the contract; used for "did you mean" on unknown module keys. */
export const MODULE_NAMES = ['package', 'file', 'copy', 'template', 'service', 'systemd_unit', 'docker_container', 'docker_image', 'binary', 'command', 'shell', 'wait_for'];

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

const playFields: Record<string, Field> = {
  name: { type: 'string' },
  hosts: { ...stringList, hint: 'a host pattern (a group, a host, all, or a pattern like web:&prod)', required: true },
  vars: { type: 'map', fields: {}, additional: { type: 'any' } },
  tasks: { type: 'list', items: { type: 'any' } },
  handlers: { type: 'list', items: { type: 'any' } },
  become: { type: 'boolean' },
  tags: stringList,
  serial: {
    type: 'oneOf',
    alternatives: [batchSize, { type: 'list', items: batchSize, minItems: 1 }],
    hint: 'a batch size: a number of hosts, a percentage like "30%", or a list of them like [1, "50%"]',
  },
  max_fail_percentage: { type: 'integer', min: 0, max: 100 },
};

const taskFields: Record<string, Field> = {
  name: { type: 'string' },
  when: { type: 'oneOf', alternatives: [{ type: 'string' }, { type: 'boolean' }], hint: 'a JavaScript expression (a string) or true/false' },
  loop: { type: 'oneOf', alternatives: [{ type: 'string' }, { type: 'list', items: { type: 'any' } }], hint: 'a list, or a JavaScript expression yielding a list' },
  loop_var: { type: 'string', pattern: IDENTIFIER, patternHint: 'a JavaScript identifier like item or app' },
  notify: stringList,
  tags: stringList,
  become: { type: 'boolean' },
};

const importFields: Record<string, Field> = {
  import_playbook: { type: 'string', required: true },
  when: taskFields.when,
};

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
    if (when !== undefined) for (const play of plays.slice(first)) for (const task of play.tasks) task.when = task.when === undefined ? when : `(${when}) && (${task.when})`;
  };
  for (const file of files) {
    const full = resolve(file);
    if (!existsSync(full)) errors.push(new ConfigError({ file: full }, '', 'playbook file not found'));
    else loadFile(full, [full]);
  }
  if (errors.length > 0) throw new ConfigErrors(errors);
  return plays;
}

function readPlay(entry: unknown, at: At, file: string, modules: ModuleLookup, known: string[], errors: ConfigError[]): Play | undefined {
  const shape = validateValue(entry, { type: 'map', fields: playFields }, at);
  errors.push(...shape);
  if (!isPlainMap(entry)) return undefined;
  const vars = isPlainMap(entry.vars) ? entry.vars : {};
  for (const name of Object.keys(vars)) {
    if ((RESERVED_VAR_NAMES as readonly string[]).includes(name)) {
      const varAt = atPath(atPath(at, 'vars'), name);
      errors.push(new ConfigError(varAt.locate(varAt.path, 'key'), varAt.path, `\`${name}\` is a reserved name in templates and expressions; rename this variable`));
    }
  }
  const tags = toList(entry.tags);
  const handlers = readTasks(entry.handlers, atPath(at, 'handlers'), modules, known, errors, undefined, tags);
  const handlerNames = new Map<string, Task>();
  for (const handler of handlers) {
    const nameAt = atFile(file, `${handler.keyPath}.name`, handler.pos);
    if (!hasName(entry.handlers, handler.keyPath)) {
      errors.push(new ConfigError(handler.pos, handler.keyPath, 'a handler needs a `name` (tasks notify it by name)'));
    } else if (handlerNames.has(handler.name)) {
      errors.push(new ConfigError(nameAt.locate(nameAt.path), nameAt.path, `duplicate handler name ${JSON.stringify(handler.name)} (also at ${handlerNames.get(handler.name)!.keyPath})`));
    }
    handlerNames.set(handler.name, handler);
  }
  const tasks = readTasks(entry.tasks, atPath(at, 'tasks'), modules, known, errors, handlerNames, tags);
  const hosts = Array.isArray(entry.hosts) ? entry.hosts.join(',') : typeof entry.hosts === 'string' ? entry.hosts : '';
  const play: Play = {
    name: typeof entry.name === 'string' ? entry.name : hosts,
    hosts,
    vars,
    tasks,
    handlers,
    become: typeof entry.become === 'boolean' ? entry.become : true,
    tags,
    serial: readSerial(entry.serial),
    maxFailPercentage: typeof entry.max_fail_percentage === 'number' ? entry.max_fail_percentage : undefined,
    file,
    pos: at.locate(at.path),
  };
  playKeyPaths.set(play, at.path);
  return play;
}

function readSerial(value: unknown): BatchSize[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = Array.isArray(value) ? value : [value];
  return list.filter((v): v is BatchSize => typeof v === 'number' || (typeof v === 'string' && PERCENT.test(v)));
}

function hasName(list: unknown, keyPath: string): boolean {
  const index = Number(keyPath.split('.').pop());
  return Array.isArray(list) && isPlainMap(list[index]) && typeof list[index].name === 'string';
}

function readTasks(
  list: unknown,
  at: At,
  modules: ModuleLookup,
  known: string[],
  errors: ConfigError[],
  handlers: Map<string, Task> | undefined,
  playTags: string[],
): Task[] {
  if (!Array.isArray(list)) return [];
  const tasks: Task[] = [];
  list.forEach((entry, i) => {
    const task = readTask(entry, atPath(at, i), modules, known, errors, handlers, playTags);
    if (task) tasks.push(task);
  });
  return tasks;
}

function readTask(
  entry: unknown,
  at: At,
  modules: ModuleLookup,
  known: string[],
  errors: ConfigError[],
  handlers: Map<string, Task> | undefined,
  playTags: string[],
): Task | undefined {
  const pos: SourcePos = at.locate(at.path);
  const isHandler = handlers === undefined;
  if (!isPlainMap(entry)) {
    errors.push(new ConfigError(pos, at.path, `expected a ${isHandler ? 'handler' : 'task'} (a map with a module key like \`package:\`), got ${entry === null ? 'nothing' : Array.isArray(entry) ? 'a list' : JSON.stringify(entry)}`));
    return undefined;
  }
  const moduleKeys: string[] = [];
  const taskKeys: Record<string, unknown> = {};
  let bad = false;
  for (const [key, value] of Object.entries(entry)) {
    if (key in taskFields) taskKeys[key] = value;
    else if (modules(key)) moduleKeys.push(key);
    else {
      bad = true;
      const keyAt = atPath(at, key);
      const taskKeyTypo = closest(key, Object.keys(taskFields));
      const detail = taskKeyTypo
        ? `unknown task key \`${key}\`; did you mean \`${taskKeyTypo}\`?`
        : `unknown module \`${key}\`${didYouMean(key, known) || ` (modules: ${known.join(', ')}; task keys: ${Object.keys(taskFields).join(', ')})`}`;
      errors.push(new ConfigError(keyAt.locate(keyAt.path, 'key'), keyAt.path, detail));
    }
  }
  const before = errors.length;
  errors.push(...validateValue(taskKeys, { type: 'map', fields: taskFields }, at));
  if (moduleKeys.length === 0) {
    if (!bad) errors.push(new ConfigError(pos, at.path, `a ${isHandler ? 'handler' : 'task'} needs exactly one module key (one of: ${known.join(', ')})`));
    return undefined;
  }
  if (moduleKeys.length > 1) {
    const secondAt = atPath(at, moduleKeys[1]);
    errors.push(new ConfigError(secondAt.locate(secondAt.path, 'key'), secondAt.path, `a task runs exactly one module, found ${moduleKeys.map((k) => `\`${k}\``).join(' and ')}; split it into separate tasks`));
    return undefined;
  }
  const moduleKey = moduleKeys[0];
  const module = modules(moduleKey)!;
  const paramsAt = atPath(at, moduleKey);
  let params = entry[moduleKey] ?? {};
  if (!isPlainMap(params)) {
    errors.push(new ConfigError(paramsAt.locate(paramsAt.path), paramsAt.path, `expected a map of parameters for module \`${moduleKey}\`, got ${Array.isArray(params) ? 'a list' : JSON.stringify(params)}`));
    params = {};
  } else {
    errors.push(...validateParams(module, params, { pos: paramsAt.locate(paramsAt.path), keyPath: paramsAt.path }));
  }
  let when: string | undefined;
  if (typeof taskKeys.when === 'boolean') when = String(taskKeys.when);
  else if (typeof taskKeys.when === 'string') {
    when = taskKeys.when;
    checkExpression(when, atPath(at, 'when'), errors);
  }
  let loop: string | undefined;
  if (Array.isArray(taskKeys.loop)) loop = JSON.stringify(taskKeys.loop);
  else if (typeof taskKeys.loop === 'string') {
    loop = taskKeys.loop;
    checkExpression(loop, atPath(at, 'loop'), errors);
  }
  const notify = toList(taskKeys.notify);
  if (handlers && errors.length === before) {
    const notifyAt = atPath(at, 'notify');
    notify.forEach((name, i) => {
      if (handlers.has(name)) return;
      const itemAt = Array.isArray(taskKeys.notify) ? atPath(notifyAt, i) : notifyAt;
      const hint = didYouMean(name, handlers.keys()) || (handlers.size > 0 ? ` (handlers of this play: ${[...handlers.keys()].join(', ')})` : ' (this play has no handlers)');
      errors.push(new ConfigError(itemAt.locate(itemAt.path), itemAt.path, `notify names no handler of this play: ${JSON.stringify(name)}${hint}`));
    });
  }
  return {
    name: typeof taskKeys.name === 'string' ? taskKeys.name : moduleKey,
    module: moduleKey,
    params: params as Record<string, unknown>,
    when,
    loop,
    loopVar: typeof taskKeys.loop_var === 'string' ? taskKeys.loop_var : 'item',
    notify,
    tags: [...new Set([...playTags, ...toList(taskKeys.tags)])],
    become: typeof taskKeys.become === 'boolean' ? taskKeys.become : undefined,
    pos,
    keyPath: at.path,
  };
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
