import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { ConfigError, ConfigErrors, type SourcePos } from '../errors.js';
import { closest, didYouMean } from '../schema/did-you-mean.js';
import { atFile, atPath, isPlainMap, resolveLocalFiles, validateValue, type At } from '../schema/validate-value.js';
import { loadYamlFile } from '../yaml/load-yaml.js';
import { mergeAll } from '../yaml/merge.js';
import { joinPath } from '../yaml/path.js';
import { positionIn } from '../yaml/positions.js';
import type { Host, Inventory, SshSettings } from './types.js';
import { applyDefaults } from '../schema/defaults.js';
import type { Field } from '../schema/types.js';
import type { InventoryRules } from './rules.js';
import { groupFields, hostFields, RESERVED_VAR_NAMES } from './vars-schema.js';

const GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const HOST_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const YAML_EXT = new Set(['.yml', '.yaml']);

/** One map of variables from one place (inventory group/host vars, a group_vars or host_vars file). */
interface VarSource {
  file: string;
  /** key path of the vars map in that file */
  base: string;
  vars: Record<string, unknown>;
}

interface GroupDecl {
  name: string;
  children: Set<string>;
  /** hosts listed directly under this group */
  hosts: Set<string>;
  vars: VarSource[];
  pos: SourcePos;
  path: string;
}

interface HostDecl {
  path: string;
  pos: SourcePos;
  entry: Record<string, unknown>;
}

/** What one read of an inventory file works with: where it is, the variables it knows, and every problem found so far. */
interface Reading {
  file: string;
  dir: string;
  known: Record<string, Field>;
  errors: ConfigError[];
}

/** The inventory's groups and host entries as declared, before any merging. */
interface Declarations {
  groups: Map<string, GroupDecl>;
  hostDecls: Map<string, HostDecl[]>;
}

/**
 * Reads, merges and validates an inventory and the group_vars/ and host_vars/ beside it, by the
 * `rules` of the layer above (the variables it knows, what it fills in). Throws ConfigErrors with
 * every problem found.
 */
export function readInventory(inventoryFile: string, rules: InventoryRules): Inventory {
  const file = resolve(inventoryFile);
  const reading: Reading = { file, dir: dirname(file), known: rules.vars, errors: [] };
  const doc = readDocument(file);
  const declared = readDeclarations(doc, reading);
  checkDeclarations(declared, reading);
  const groupVarsFiles = readVarsDir(join(reading.dir, 'group_vars'), new Set(declared.groups.keys()), 'group', reading.known, reading.errors);
  const hostVarsFiles = readVarsDir(join(reading.dir, 'host_vars'), new Set(declared.hostDecls.keys()), 'host', reading.known, reading.errors);
  if (reading.errors.length > 0) throw new ConfigErrors(reading.errors);
  const members = transitiveHosts(declared.groups);
  const { hosts, hostSources } = mergeHosts(declared, members, { groupVarsFiles, hostVarsFiles }, reading);
  if (reading.errors.length > 0) throw new ConfigErrors(reading.errors);
  const inventory = inventoryOf(declared, members, hosts, hostSources, reading);
  rules.complete(inventory);
  return inventory;
}

/** The inventory file's YAML: a map (with `all:` at the top, checked later). */
function readDocument(file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = loadYamlFile(file).value;
  } catch (err) {
    throw err instanceof ConfigError ? new ConfigErrors([err]) : err;
  }
  if (doc === null || doc === undefined) {
    throw new ConfigErrors([new ConfigError({ file }, '', 'the inventory is empty; expected a map with `all:` at the top (see all.children.<group>.hosts)')]);
  }
  if (!isPlainMap(doc)) throw new ConfigErrors([new ConfigError(atFile(file, '').locate(''), '', `expected a map with \`all:\` at the top, got ${Array.isArray(doc) ? 'a list' : JSON.stringify(doc)}`)]);
  return doc;
}

/** Every group (from `all` down through children) and host entry, each shape-checked where it stands. */
function readDeclarations(doc: Record<string, unknown>, reading: Reading): Declarations {
  const { file, dir, known, errors } = reading;
  const groups = new Map<string, GroupDecl>();
  const hostDecls = new Map<string, HostDecl[]>();

  const readGroup = (name: string, body: unknown, at: At, parent: string | undefined): void => {
    const pos = at.locate(at.path, 'key');
    let group = groups.get(name);
    if (!group) {
      group = { name, children: new Set(), hosts: new Set(), vars: [], pos, path: at.path };
      groups.set(name, group);
    }
    if (parent !== undefined) groups.get(parent)!.children.add(name);
    if (body === null || body === undefined) return; // a reference to a group defined elsewhere
    const shapeErrors = validateValue(body, { type: 'map', fields: groupFields }, at);
    errors.push(...shapeErrors);
    if (!isPlainMap(body)) return;
    if (isPlainMap(body.vars)) {
      const varsAt = atPath(at, 'vars');
      errors.push(...validateVars(body.vars, varsAt, known));
      group.vars.push({ file, base: varsAt.path, vars: resolveVarFiles(body.vars, dir, known) });
    }
    if (isPlainMap(body.hosts)) {
      for (const [hostName, entry] of Object.entries(body.hosts)) {
        const hostAt = atPath(atPath(at, 'hosts'), hostName);
        if (!HOST_NAME.test(hostName)) {
          errors.push(new ConfigError(hostAt.locate(hostAt.path, 'key'), hostAt.path, `invalid host name ${JSON.stringify(hostName)}: use letters, digits, _, - and .`));
          continue;
        }
        group.hosts.add(hostName);
        readHost(hostName, entry, hostAt);
      }
    }
    if (isPlainMap(body.children)) {
      for (const [childName, childBody] of Object.entries(body.children)) {
        const childAt = atPath(atPath(at, 'children'), childName);
        if (childName === 'all' || childName === 'ungrouped') {
          errors.push(new ConfigError(childAt.locate(childAt.path, 'key'), childAt.path, `\`${childName}\` is a built-in group and cannot be a child group`));
        } else if (!GROUP_NAME.test(childName)) {
          errors.push(new ConfigError(childAt.locate(childAt.path, 'key'), childAt.path, `invalid group name ${JSON.stringify(childName)}: use letters, digits, _ and -, starting with a letter or _`));
        } else {
          readGroup(childName, childBody, childAt, name);
        }
      }
    }
  };

  const readHost = (name: string, entry: unknown, at: At): void => {
    const pos = at.locate(at.path, 'key');
    const body = entry === null || entry === undefined ? {} : entry;
    errors.push(...validateValue(body, { type: 'map', fields: hostFields }, at));
    if (!isPlainMap(body)) return;
    for (const [canonical, alias] of [['address', 'ansible_host'], ['port', 'ansible_port'], ['user', 'ansible_user']] as const) {
      if (body[canonical] !== undefined && body[alias] !== undefined) {
        const aliasAt = atPath(at, alias);
        errors.push(new ConfigError(aliasAt.locate(aliasAt.path, 'key'), aliasAt.path, `set either \`${canonical}\` or its alias \`${alias}\`, not both`));
      }
    }
    if (isPlainMap(body.vars)) errors.push(...validateVars(body.vars, atPath(at, 'vars'), known));
    const decls = hostDecls.get(name) ?? [];
    decls.push({ path: at.path, pos, entry: body });
    hostDecls.set(name, decls);
  };

  for (const key of Object.keys(doc)) {
    if (key !== 'all') {
      const at = atFile(file, key);
      const detail = closest(key, ['all']) ? `unknown top-level key \`${key}\`${didYouMean(key, ['all'])}` : `unknown top-level key \`${key}\`: expected \`all\` (groups go under all.children)`;
      errors.push(new ConfigError(at.locate(key, 'key'), key, detail));
    }
  }
  if (!('all' in doc) && errors.length === 0) errors.push(new ConfigError(atFile(file, '').locate(''), '', 'missing `all:` at the top of the inventory'));
  readGroup('all', doc.all, atFile(file, 'all'), undefined);
  return { groups, hostDecls };
}

/** Problems only the whole picture shows: hosts in no group, a name both group and host, group cycles, no host at all. */
function checkDeclarations({ groups, hostDecls }: Declarations, reading: Reading): void {
  const { errors } = reading;
  // hosts listed directly under all.hosts must also be in some group: plays target groups
  const all = groups.get('all')!;
  const inChildGroup = new Set<string>();
  for (const group of groups.values()) if (group.name !== 'all') for (const host of group.hosts) inChildGroup.add(host);
  for (const host of all.hosts) {
    if (!inChildGroup.has(host)) {
      const decl = hostDecls.get(host)![0];
      errors.push(new ConfigError(decl.pos, decl.path, `host \`${host}\` is in no group; declare it under all.children.<group>.hosts (plays target groups)`));
    }
  }
  for (const name of groups.keys()) {
    if (hostDecls.has(name)) {
      const group = groups.get(name)!;
      errors.push(new ConfigError(group.pos, group.path, `\`${name}\` is both a group and a host name; host patterns would be ambiguous`));
    }
  }
  errors.push(...findGroupCycles(groups));
  if (hostDecls.size === 0 && errors.length === 0) errors.push(new ConfigError(atFile(reading.file, '').locate('all', 'key'), 'all', 'the inventory declares no hosts (expected all.children.<group>.hosts.<name>)'));
}

/**
 * Each host with its variables merged, lowest first: its groups' vars by depth (all < parent <
 * child, then by name), each group's group_vars/ file after its inline vars, the host's own vars,
 * then host_vars/; the known variables' defaults under all of them. A host without an address is an error.
 */
function mergeHosts(
  { groups, hostDecls }: Declarations,
  members: Map<string, Set<string>>,
  files: { groupVarsFiles: Map<string, VarSource[]>; hostVarsFiles: Map<string, VarSource[]> },
  reading: Reading,
): { hosts: Map<string, Host>; hostSources: Map<string, VarSource[]> } {
  const { file, dir, known, errors } = reading;
  const { groupVarsFiles, hostVarsFiles } = files;
  const depth = groupDepths(groups);
  const hosts = new Map<string, Host>();
  const hostSources = new Map<string, VarSource[]>();
  for (const [name, decls] of hostDecls) {
    const hostGroups = [...groups.keys()]
      .filter((group) => members.get(group)!.has(name))
      .sort((a, b) => depth.get(a)! - depth.get(b)! || (a < b ? -1 : a > b ? 1 : 0));
    const sources: VarSource[] = [];
    for (const group of hostGroups) sources.push(...groups.get(group)!.vars, ...(groupVarsFiles.get(group) ?? []));
    for (const decl of decls) {
      if (isPlainMap(decl.entry.vars)) sources.push({ file, base: joinPath(decl.path, 'vars'), vars: resolveVarFiles(decl.entry.vars, dir, known) });
    }
    sources.push(...(hostVarsFiles.get(name) ?? []));
    const vars = applyDefaults(mergeAll(sources.map((source) => source.vars)), known);
    const entry = Object.assign({}, ...decls.map((decl) => decl.entry)) as Record<string, unknown>;
    const address = (entry.address ?? entry.ansible_host) as string | undefined;
    if (address === undefined) {
      errors.push(new ConfigError(decls[0].pos, decls[0].path, `host \`${name}\` has no \`address\` (the IP or DNS name to connect to; \`ansible_host\` is accepted too)`));
      continue;
    }
    const ssh = (isPlainMap(vars.ssh) ? vars.ssh : {}) as SshSettings;
    hosts.set(name, {
      name,
      address,
      port: (entry.port ?? entry.ansible_port ?? ssh.port) as number | undefined,
      user: (entry.user ?? entry.ansible_user ?? ssh.user) as string | undefined,
      privateAddress: entry.private_address as string | undefined,
      key: ssh.key,
      groups: hostGroups,
      vars,
      pos: decls[0].pos,
    });
    hostSources.set(name, sources);
  }
  return { hosts, hostSources };
}

/** The inventory: hosts, each group's hosts in inventory order, and where each host's variable was set (for error messages). */
function inventoryOf(
  { groups, hostDecls }: Declarations,
  members: Map<string, Set<string>>,
  hosts: Map<string, Host>,
  hostSources: Map<string, VarSource[]>,
  { file, dir }: Reading,
): Inventory {
  const groupHosts = new Map<string, string[]>();
  const hostOrder = [...hosts.keys()];
  for (const group of groups.keys()) groupHosts.set(group, hostOrder.filter((host) => members.get(group)!.has(host)));
  groupHosts.set('ungrouped', []);

  return {
    file,
    dir,
    hosts,
    groups: groupHosts,
    locate(hostName: string, varPath: string) {
      const host = hosts.get(hostName);
      const decl = hostDecls.get(hostName)?.[0];
      if (!host || !decl) return { pos: { file }, keyPath: '' };
      if (varPath === '') return { pos: host.pos, keyPath: decl.path };
      const source = ownerOf(hostSources.get(hostName) ?? [], varPath.split('.'));
      if (!source) return { pos: host.pos, keyPath: decl.path };
      const keyPath = joinPath(source.base, varPath);
      return { pos: positionIn(source.file, keyPath, 'value', host.pos), keyPath };
    },
    locateGroup(name: string) {
      const group = groups.get(name);
      return group && { pos: group.pos, keyPath: group.path };
    },
  };
}

/** Known vars are validated; unknown names are the user's own, unless they look like a typo of a known one. */
export function validateVars(vars: Record<string, unknown>, at: At, knownVars: Record<string, Field>): ConfigError[] {
  const errors: ConfigError[] = [];
  const known = Object.keys(knownVars);
  for (const [name, value] of Object.entries(vars)) {
    const varAt = atPath(at, name);
    const field = Object.prototype.hasOwnProperty.call(knownVars, name) ? knownVars[name] : undefined;
    if (field) {
      if (value !== null) errors.push(...validateValue(value, field, varAt));
    } else if ((RESERVED_VAR_NAMES as readonly string[]).includes(name)) {
      errors.push(new ConfigError(varAt.locate(varAt.path, 'key'), varAt.path, `\`${name}\` is a reserved name in templates and expressions; rename this variable`));
    } else {
      const typo = closest(name, known, 2);
      if (typo) errors.push(new ConfigError(varAt.locate(varAt.path, 'key'), varAt.path, `unknown variable \`${name}\`; did you mean \`${typo}\`?`));
    }
  }
  return errors;
}

export function resolveVarFiles(vars: Record<string, unknown>, baseDir: string, knownVars: Record<string, Field>): Record<string, unknown> {
  return resolveLocalFiles(vars, { type: 'map', fields: knownVars, additional: { type: 'any' } }, baseDir) as Record<string, unknown>;
}

/**
 * group_vars/<name>.yml, group_vars/<name>.yaml and group_vars/<name>/*.yml (same for host_vars),
 * validated as vars. Returns the sources per group/host name, in file-name order.
 */
function readVarsDir(varsDir: string, names: Set<string>, kind: 'group' | 'host', known: Record<string, Field>, errors: ConfigError[]): Map<string, VarSource[]> {
  const out = new Map<string, VarSource[]>();
  if (!existsSync(varsDir) || !statSync(varsDir).isDirectory()) return out;
  for (const entry of readdirSync(varsDir).sort()) {
    const full = join(varsDir, entry);
    const isDir = statSync(full).isDirectory();
    if (!isDir && !YAML_EXT.has(extname(entry))) continue;
    const name = isDir ? entry : basename(entry, extname(entry));
    if (!names.has(name)) {
      errors.push(new ConfigError({ file: full }, '', `${kind}_vars for unknown ${kind} \`${name}\`${didYouMean(name, names) || ` (the inventory has no ${kind} of that name)`}`));
      continue;
    }
    const files = isDir ? readdirSync(full).filter((f) => YAML_EXT.has(extname(f))).sort().map((f) => join(full, f)) : [full];
    for (const varsFile of files) {
      try {
        const { value } = loadYamlFile(varsFile);
        if (value === null || value === undefined) continue;
        if (!isPlainMap(value)) {
          errors.push(new ConfigError(positionIn(varsFile, ''), '', `expected a map of variables, got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`));
          continue;
        }
        const varErrors = validateVars(value, atFile(varsFile, ''), known);
        errors.push(...varErrors);
        const sources = out.get(name) ?? [];
        sources.push({ file: varsFile, base: '', vars: resolveVarFiles(value, dirname(varsFile), known) });
        out.set(name, sources);
      } catch (err) {
        if (err instanceof ConfigError) errors.push(err);
        else throw err;
      }
    }
  }
  return out;
}

function findGroupCycles(groups: Map<string, GroupDecl>): ConfigError[] {
  const errors: ConfigError[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      const group = groups.get(name)!;
      errors.push(new ConfigError(group.pos, group.path, `group cycle: ${cycle.join(' -> ')}`));
      return;
    }
    state.set(name, 'visiting');
    for (const child of groups.get(name)?.children ?? []) visit(child, [...trail, name]);
    state.set(name, 'done');
  };
  for (const name of groups.keys()) visit(name, []);
  return errors;
}

/** Longest distance from `all`: deeper (more specific) groups override shallower ones. */
function groupDepths(groups: Map<string, GroupDecl>): Map<string, number> {
  const depth = new Map<string, number>([['all', 0]]);
  const walk = (name: string, d: number): void => {
    for (const child of groups.get(name)?.children ?? []) {
      if ((depth.get(child) ?? -1) < d + 1) {
        depth.set(child, d + 1);
        walk(child, d + 1);
      }
    }
  };
  walk('all', 0);
  for (const name of groups.keys()) if (!depth.has(name)) depth.set(name, 1);
  return depth;
}

function transitiveHosts(groups: Map<string, GroupDecl>): Map<string, Set<string>> {
  const memo = new Map<string, Set<string>>();
  const collect = (name: string): Set<string> => {
    const cached = memo.get(name);
    if (cached) return cached;
    const set = new Set(groups.get(name)?.hosts ?? []);
    memo.set(name, set);
    for (const child of groups.get(name)?.children ?? []) for (const host of collect(child)) set.add(host);
    return set;
  };
  for (const name of groups.keys()) collect(name);
  return memo;
}

/** The highest-precedence source that set the value at `segments` (maps merge, so a deeper key may come from a lower source). */
function ownerOf(sources: VarSource[], segments: string[]): VarSource | undefined {
  for (let i = sources.length - 1; i >= 0; i--) {
    let node: unknown = sources[i].vars;
    let depth = 0;
    while (depth < segments.length && node !== null && typeof node === 'object' && segments[depth] in (node as object)) {
      node = (node as Record<string, unknown>)[segments[depth]];
      depth++;
    }
    if (depth === segments.length) return sources[i];
    // a list or scalar here replaces everything below it from lower sources
    if (depth > 0 && !isPlainMap(node)) return sources[i];
  }
  return undefined;
}
