/**
 * The roles of one play, resolved when the playbook loads, as Ansible resolves them: a use of a
 * role brings its meta dependencies' tasks first, then its own; a dependency or `roles:` entry
 * already used in the play with the same parameters (vars, when, tags) is not used again (unless
 * its meta says allow_duplicates), while include_role and import_role always run the role. Each
 * use is a RoleInstance whose tasks see its defaults and vars layered as Ansible's variable
 * precedence says (playbook/role-vars.ts composes them with the play's).
 */
import { basename, relative } from 'node:path';
import { ConfigError } from '../errors.js';
import type { At } from '../schema/validate-value.js';
import { findRole, readRoleEntry, readRoleMeta, readRoleVars, roleCandidates, roleFile, type RoleEntry } from './roles.js';
import { isBlock, type RoleInstance, type Step, type Task } from './types.js';

/** How a role came into the play. */
export type RoleHow = 'roles' | 'dependency' | 'import_role' | 'include_role';

/** A role's files, read once per play and set of from-files. */
interface RoleData {
  dir: string;
  name: string;
  defaults: Record<string, unknown>;
  vars: Record<string, unknown>;
  allowDuplicates: boolean;
  dependencies: Array<{ value: unknown; at: At }>;
}

/** What load.ts reads for a role: the steps of a task file and the handlers of a handler file, for a role use. */
export interface RoleReader {
  tasks(file: string, use: RoleUseContext): Step[];
  handlers(file: string, use: RoleUseContext): Task[];
}

/** What the tasks of one use of a role inherit: its condition and tags (and its parents'), its role and the role chain (for cycles). */
export interface RoleUseContext {
  when: string[];
  tags: string[];
  become?: boolean;
  role: RoleInstance;
  /** role directories from the outermost use to this one */
  chain: string[];
}

/** The layers of one use: Ansible's _default_vars, _role_vars and the vars keyword, and every dependency's use. */
interface UseLayers {
  data: RoleData;
  keywordVars: Record<string, unknown>;
  deps: UseLayers[];
}

export class PlayRoles {
  /** every use of a role, in the order their tasks run (dependencies before the role) */
  readonly uses: Array<{ instance: RoleInstance; how: RoleHow; exported: { defaults: Record<string, unknown>; vars: Record<string, unknown> } }> = [];
  /** handlers of every role used, each role's once, in the order the roles were first used */
  readonly handlers: Task[] = [];
  private readonly data = new Map<string, RoleData>();
  private readonly done = new Set<string>();
  private readonly handlersRead = new Set<string>();

  constructor(
    private readonly playbook: string,
    private readonly errors: ConfigError[],
    private readonly reader: RoleReader,
  ) {}

  /**
   * The steps of one use of a role (its dependencies' first). `outer` is what the use's place
   * passes down (a play's tags; a task's block conditions), `parents` the uses it is a dependency of.
   */
  use(entry: RoleEntry, how: RoleHow, outer: Omit<RoleUseContext, 'role'>, parents: UseLayers[] = []): { steps: Step[]; layers?: UseLayers } {
    const found = this.find(entry, outer.chain);
    if (!found) return { steps: [] };
    const data = this.read(found, entry);
    const layers: UseLayers = { data, keywordVars: entry.vars, deps: [] };
    const key = JSON.stringify([found, entry.vars, entry.when ?? null, [...entry.tags].sort(), entry.from, how === 'roles' || how === 'dependency']);
    const inner = {
      when: entry.when === undefined ? outer.when : [...outer.when, entry.when],
      tags: [...new Set([...outer.tags, ...entry.tags])],
      become: entry.become ?? outer.become,
      chain: [...outer.chain, found],
    };
    const steps: Step[] = [];
    for (const dep of data.dependencies) {
      const depEntry = readRoleEntry(dep.value, dep.at, this.errors);
      if (!depEntry) continue;
      const used = this.use(depEntry, 'dependency', inner, [...parents, layers]);
      if (used.layers) layers.deps.push(used.layers);
      steps.push(...used.steps);
    }
    const dedup = (how === 'roles' || how === 'dependency') && !data.allowDuplicates;
    if (dedup && this.done.has(key)) return { steps: [], layers };
    this.done.add(key);
    const instance: RoleInstance = {
      name: data.name,
      dir: found,
      defaults: { ...defaultsOf(layers), ...parents.reduce((acc, p) => ({ ...acc, ...p.data.defaults }), {}), ...data.defaults },
      vars: {
        ...parents.reduce((acc, p) => ({ ...acc, ...p.keywordVars, ...p.data.vars }), {}),
        ...layers.deps.reduce((acc, d) => ({ ...acc, ...exportsOf(d) }), {}),
        ...data.vars,
        ...entry.vars,
        role_name: data.name,
        role_path: found,
      },
      public: how !== 'include_role',
    };
    this.uses.push({ instance, how, exported: { defaults: { ...defaultsOf(layers), ...data.defaults }, vars: exportsOf(layers) } });
    const use: RoleUseContext = { ...inner, role: instance };
    const tasksFile = roleFile(found, 'tasks', entry.from.tasks);
    if (tasksFile) steps.push(...prefixed(this.reader.tasks(tasksFile, use), instance));
    else if (entry.from.tasks !== 'main') this.missing(entry.nameAt, `the role ${data.name} has no tasks/${entry.from.tasks}.yml (in ${found})`);
    const handlersKey = `${found}\n${entry.from.handlers}`;
    const handlersFile = roleFile(found, 'handlers', entry.from.handlers);
    if (handlersFile && !this.handlersRead.has(handlersKey)) {
      this.handlersRead.add(handlersKey);
      for (const handler of this.reader.handlers(handlersFile, use)) {
        // as in Ansible, notify may name a role's handler plainly or as "role : handler"
        handler.listen = [...new Set([handler.name, ...handler.listen])];
        handler.name = `${data.name} : ${handler.name}`;
        this.handlers.push(handler);
      }
    }
    return { steps, layers };
  }

  private find(entry: RoleEntry, chain: string[]): string | undefined {
    const candidates = roleCandidates(entry.name, this.playbook, chain.at(-1));
    const found = findRole(candidates);
    if (!found) {
      this.missing(entry.nameAt, `role not found: ${JSON.stringify(entry.name)} (looked for ${candidates.join(', ')})`);
      return undefined;
    }
    if (chain.includes(found)) {
      const names = [...chain.slice(chain.indexOf(found)), found].map((dir) => relative(process.cwd(), dir) || dir);
      this.missing(entry.nameAt, `role dependency cycle: ${names.join(' -> ')}`);
      return undefined;
    }
    return found;
  }

  private read(dir: string, entry: RoleEntry): RoleData {
    const key = `${dir}\n${entry.from.vars}\n${entry.from.defaults}`;
    let data = this.data.get(key);
    if (data) return data;
    for (const [section, base] of [['vars', entry.from.vars], ['defaults', entry.from.defaults]] as const) {
      if (base !== 'main' && !roleFile(dir, section, base)) this.missing(entry.nameAt, `the role ${basename(dir)} has no ${section}/${base}.yml (in ${dir})`);
    }
    const meta = readRoleMeta(dir, this.errors);
    data = {
      dir,
      name: basename(dir),
      defaults: readRoleVars(dir, 'defaults', entry.from.defaults, this.errors),
      vars: readRoleVars(dir, 'vars', entry.from.vars, this.errors),
      allowDuplicates: meta.allowDuplicates,
      dependencies: meta.dependencies,
    };
    this.data.set(key, data);
    return data;
  }

  private missing(at: At, detail: string): void {
    this.errors.push(new ConfigError(at.locate(at.path), at.path, detail));
  }
}

/** Ansible's get_default_vars() of a use without its parents: every dependency's, then its own. */
function defaultsOf(layers: UseLayers): Record<string, unknown> {
  return layers.deps.reduce((acc, d) => ({ ...acc, ...defaultsOf(d), ...d.data.defaults }), {} as Record<string, unknown>);
}

/** Ansible's get_vars(only_exports=True): the vars/ of its dependencies, then its own (not the vars keyword). */
function exportsOf(layers: UseLayers): Record<string, unknown> {
  return { ...layers.deps.reduce((acc, d) => ({ ...acc, ...exportsOf(d) }), {} as Record<string, unknown>), ...layers.data.vars };
}

/** Public roles' layers as the play's other tasks see them: every public use's defaults (under the play's vars) and exported vars (over them). */
export function publicLayers(roles: PlayRoles): { defaults: Record<string, unknown>; vars: Record<string, unknown> } {
  const defaults: Record<string, unknown> = {};
  const vars: Record<string, unknown> = {};
  for (const { instance, how, exported } of roles.uses) {
    if (!instance.public || how === 'dependency') continue;
    Object.assign(defaults, exported.defaults);
    Object.assign(vars, exported.vars);
  }
  return { defaults, vars };
}

/** Task names as Ansible shows a role's tasks: "role : name" (the tasks of a role it includes have their own role's). */
function prefixed(steps: Step[], role: RoleInstance): Step[] {
  for (const step of steps) {
    if (isBlock(step)) prefixed([...step.block, ...step.rescue, ...step.always], role);
    else if (step.role === role) step.name = `${role.name} : ${step.name}`;
  }
  return steps;
}
