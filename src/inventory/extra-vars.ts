import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, ConfigErrors } from '../errors.js';
import { atFile, isPlainMap } from '../schema/validate-value.js';
import { loadYamlFile } from '../yaml/load-yaml.js';
import { deepMerge } from '../yaml/merge.js';
import { resolveVarFiles, validateVars } from './read-inventory.js';
import type { Inventory, SshSettings } from './types.js';
import type { Field } from '../schema/types.js';

/** One `-e/--extra-vars` argument, read: where it came from and its variables. */
export interface ExtraVars {
  /** the @file, or "--extra-vars" for key=value and JSON */
  source: string;
  vars: Record<string, unknown>;
}

const SOURCE = '--extra-vars';
const KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Reads `-e` arguments as Ansible does: `@file.yaml` (YAML or JSON), a JSON object, or `key=value ...` (values are strings). */
export function parseExtraVars(args: readonly string[]): ExtraVars[] {
  const errors: ConfigError[] = [];
  const out: ExtraVars[] = [];
  for (const arg of args) {
    try {
      out.push(parseOne(arg));
    } catch (err) {
      if (err instanceof ConfigError) errors.push(err);
      else throw err;
    }
  }
  if (errors.length) throw new ConfigErrors(errors);
  return out;
}

function parseOne(arg: string): ExtraVars {
  if (arg.startsWith('@')) {
    const file = resolve(arg.slice(1));
    if (!existsSync(file)) throw new ConfigError({ file: SOURCE }, '', `${arg}: file not found: ${file}`);
    const { value } = loadYamlFile(file);
    if (value === null || value === undefined) return { source: file, vars: {} };
    if (!isPlainMap(value)) throw new ConfigError({ file, line: 1, col: 1 }, '', `expected a map of variables, got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`);
    return { source: file, vars: value };
  }
  const text = arg.trim();
  if (text.startsWith('{') || text.startsWith('[')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new ConfigError({ file: SOURCE }, '', `not valid JSON: ${(err as Error).message} (in ${JSON.stringify(arg)})`);
    }
    if (!isPlainMap(value)) throw new ConfigError({ file: SOURCE }, '', `expected a JSON object of variables, got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`);
    return { source: SOURCE, vars: value };
  }
  const vars: Record<string, unknown> = {};
  for (const pair of text.split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq) : '';
    if (!KEY.test(key)) {
      throw new ConfigError({ file: SOURCE }, '', `expected key=value (key a variable name), @file.yaml, or a JSON object, got ${JSON.stringify(pair)}`);
    }
    vars[key] = pair.slice(eq + 1);
  }
  return { source: SOURCE, vars };
}

/**
 * Puts extra vars on top of every host's variables: the highest precedence, as in Ansible. Maps
 * merge key by key like every other layer of this tool's vars (so `-e '{"consul":{"version":"1.17.0"}}'`
 * keeps the other `consul` settings). Known variables (`knownVars`, the inventory's) are type-checked as in the inventory.
 */
export function mergeExtraVars(inventory: Inventory, layers: readonly ExtraVars[], knownVars: Record<string, Field>): void {
  const errors: ConfigError[] = [];
  const resolved = layers.map((layer) => {
    const fromFile = layer.source !== SOURCE;
    const at = fromFile ? atFile(layer.source, '') : { path: '', locate: () => ({ file: SOURCE }) };
    errors.push(
      ...validateVars(layer.vars, at, knownVars).map((e) =>
        fromFile || !/expected an? /.test(e.detail) ? e : new ConfigError(e.pos, e.keyPath, `${e.detail.replace(' (write it without quotes)', '')} (key=value gives strings; pass other types as JSON, e.g. -e '{"${e.keyPath.split('.')[0]}": ...}')`),
      ),
    );
    return resolveVarFiles(layer.vars, fromFile ? dirname(layer.source) : process.cwd(), knownVars);
  });
  if (errors.length) throw new ConfigErrors(errors);
  for (const host of inventory.hosts.values()) {
    for (const vars of resolved) {
      host.vars = deepMerge(host.vars, vars) as Record<string, unknown>;
      // the connection settings follow too: -e wins over a host's own user/port as well
      const ssh = (isPlainMap(vars.ssh) ? vars.ssh : {}) as SshSettings;
      if (ssh.user !== undefined) host.user = ssh.user;
      if (ssh.port !== undefined) host.port = ssh.port;
      if (ssh.key !== undefined) host.key = ssh.key;
    }
  }
}
