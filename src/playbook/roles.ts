/**
 * Roles on disk, as Ansible lays them out: `<role>/tasks/main.yml`, `handlers/main.yml`,
 * `defaults/main.yml`, `vars/main.yml`, `meta/main.yml` (dependencies), `templates/`, `files/`.
 * This file finds a role and reads its variable and meta files; playbook/load.ts turns a role's
 * uses into tasks.
 */
import { existsSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { RESERVED_VAR_NAMES } from '../inventory/vars-schema.js';
import type { Field, Schema } from '../schema/types.js';
import { atFile, atPath, isPlainMap, validateValue, type At } from '../schema/validate-value.js';
import { loadYamlFile } from '../yaml/load-yaml.js';

/** Directories (separated by `:`) searched for roles after `roles/` next to the playbook. */
export const ROLES_PATH_ENV = 'BOOTSTRAP_ROLES_PATH';

const stringList: Schema = {
  type: 'oneOf',
  alternatives: [{ type: 'string' }, { type: 'list', items: { type: 'string' } }],
  hint: 'a string or a list of strings',
};
const condition: Schema = { type: 'oneOf', alternatives: [{ type: 'string' }, { type: 'boolean' }], hint: 'a JavaScript expression (a string) or true/false' };

/** A use of a role in `roles:` or a meta dependency: its name, or a map. */
export const roleEntrySchema: Schema = {
  type: 'oneOf',
  alternatives: [
    { type: 'string' },
    {
      type: 'map',
      fields: {
        role: { type: 'string', description: 'the role: a name found in the roles path, or a path' },
        name: { type: 'string', description: 'the same as role' },
        vars: { type: 'map', fields: {}, additional: { type: 'any' }, description: 'variables of this use of the role, over its defaults and vars' },
        when: condition,
        tags: stringList,
        become: { type: 'boolean' },
      },
    },
  ],
  hint: 'a role name, or { role: NAME, vars: {...}, when, tags } (role parameters go under vars)',
};

/** The parameters of `include_role:` / `import_role:`. */
export const roleTaskParams: Record<string, Field> = {
  name: { type: 'string', required: true, description: 'the role' },
  tasks_from: { type: 'string', description: 'a file of the role\'s tasks/ instead of main.yml' },
  vars_from: { type: 'string', description: 'a file of the role\'s vars/ instead of main.yml' },
  defaults_from: { type: 'string', description: 'a file of the role\'s defaults/ instead of main.yml' },
  handlers_from: { type: 'string', description: 'a file of the role\'s handlers/ instead of main.yml' },
};

/** What one use of a role says, read from `roles:`, `dependencies:` or an include_role/import_role task. */
export interface RoleEntry {
  name: string;
  vars: Record<string, unknown>;
  when?: string;
  tags: string[];
  become?: boolean;
  /** where the role's name is written (errors about finding the role point there) */
  nameAt: At;
  from: { tasks: string; vars: string; defaults: string; handlers: string };
}

const MAIN = { tasks: 'main', vars: 'main', defaults: 'main', handlers: 'main' };

/** A `roles:` item or meta dependency as a RoleEntry (undefined when its shape is wrong: the errors say why). */
export function readRoleEntry(value: unknown, at: At, errors: ConfigError[]): RoleEntry | undefined {
  const shape = validateValue(value, roleEntrySchema, at).map((error) => {
    // Ansible takes other keys as the role's parameters; here they go under vars
    const key = error.keyPath.slice(at.path.length + 1);
    if (!isPlainMap(value) || !(key in value) || key.includes('.') || error.detail.startsWith('unknown key') === false) return error;
    return new ConfigError(error.pos, error.keyPath, `unknown key \`${key}\` of a role entry (role, vars, when, tags, become); a role's parameters go under \`vars:\` ({ role: ..., vars: { ${key}: ... } })`);
  });
  errors.push(...shape);
  if (shape.length > 0) return undefined;
  if (typeof value === 'string') return { name: value, vars: {}, tags: [], nameAt: at, from: MAIN };
  const entry = value as Record<string, unknown>;
  const key = typeof entry.role === 'string' ? 'role' : typeof entry.name === 'string' ? 'name' : undefined;
  if (!key) {
    errors.push(new ConfigError(at.locate(at.path), at.path, 'a role entry needs `role: NAME`'));
    return undefined;
  }
  return {
    name: entry[key] as string,
    vars: isPlainMap(entry.vars) ? entry.vars : {},
    when: typeof entry.when === 'boolean' ? String(entry.when) : (entry.when as string | undefined),
    tags: typeof entry.tags === 'string' ? [entry.tags] : Array.isArray(entry.tags) ? (entry.tags as string[]) : [],
    become: typeof entry.become === 'boolean' ? entry.become : undefined,
    nameAt: atPath(at, key),
    from: MAIN,
  };
}

/**
 * Where a role named `name` may be, in order: a path (a name with `/`) relative to the playbook;
 * else `roles/<name>` next to the playbook, `<name>` beside the role that depends on it, each
 * directory of BOOTSTRAP_ROLES_PATH, then `<name>` next to the playbook (Ansible's search order).
 */
export function roleCandidates(name: string, playbook: string, besideRole?: string): string[] {
  const base = dirname(playbook);
  if (name.includes('/')) return [isAbsolute(name) ? name : resolve(base, name)];
  const path = (process.env[ROLES_PATH_ENV] ?? '').split(delimiter).filter(Boolean);
  return [join(base, 'roles', name), ...(besideRole ? [join(dirname(besideRole), name)] : []), ...path.map((dir) => resolve(dir, name)), join(base, name)];
}

export function findRole(candidates: string[]): string | undefined {
  return candidates.find((dir) => existsSync(dir) && statSync(dir).isDirectory());
}

/** `<role>/<section>/<base>.yml` (or .yaml, or no extension), if there is one. */
export function roleFile(dir: string, section: string, base: string): string | undefined {
  const stem = join(dir, section, base);
  return [`${stem}.yml`, `${stem}.yaml`, stem].find((file) => existsSync(file) && statSync(file).isFile());
}

/** A role's defaults or vars file as a map (empty when the role has none). */
export function readRoleVars(dir: string, section: 'defaults' | 'vars', base: string, errors: ConfigError[]): Record<string, unknown> {
  const file = roleFile(dir, section, base);
  if (!file) return {};
  try {
    const { value } = loadYamlFile(file);
    if (value === null || value === undefined) return {};
    if (!isPlainMap(value)) {
      errors.push(new ConfigError({ file, line: 1, col: 1 }, '', `expected a map of variables, got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`));
      return {};
    }
    for (const name of Object.keys(value)) {
      if (!(RESERVED_VAR_NAMES as readonly string[]).includes(name)) continue;
      const varAt = atFile(file, name);
      errors.push(new ConfigError(varAt.locate(name, 'key'), name, `\`${name}\` is a reserved name in templates and expressions; rename this variable`));
    }
    return value;
  } catch (err) {
    if (err instanceof ConfigError) errors.push(err);
    else throw err;
    return {};
  }
}

const metaSchema: Schema = {
  type: 'map',
  fields: {
    dependencies: { type: 'list', items: { type: 'any' } },
    allow_duplicates: { type: 'boolean' },
    galaxy_info: { type: 'any' },
    argument_specs: { type: 'any' },
  },
};

export interface RoleMeta {
  /** each dependency with where it is written */
  dependencies: Array<{ value: unknown; at: At }>;
  allowDuplicates: boolean;
}

/** `meta/main.yml`: the role's dependencies (run before it) and allow_duplicates. */
export function readRoleMeta(dir: string, errors: ConfigError[]): RoleMeta {
  const file = roleFile(dir, 'meta', 'main');
  const none: RoleMeta = { dependencies: [], allowDuplicates: false };
  if (!file) return none;
  let value: unknown;
  try {
    value = loadYamlFile(file).value;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    errors.push(err);
    return none;
  }
  if (value === null || value === undefined) return none;
  const at = atFile(file, '');
  const shape = validateValue(value, metaSchema, at);
  errors.push(...shape);
  if (shape.length > 0 || !isPlainMap(value)) return none;
  const deps = Array.isArray(value.dependencies) ? value.dependencies : [];
  return {
    dependencies: deps.map((dep, i) => ({ value: dep, at: atPath(atPath(at, 'dependencies'), i) })),
    allowDuplicates: value.allow_duplicates === true,
  };
}
