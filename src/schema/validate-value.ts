import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, type SourcePos } from '../errors.js';
import { expandHome } from '../paths.js';
import { joinPath } from '../yaml/path.js';
import { positionIn } from '../yaml/positions.js';
import { aliasTargets, fieldNameOf, namesGivenTwice } from './aliases.js';
import { closest, didYouMean } from './did-you-mean.js';
import type { Field, Schema } from './types.js';

/** Where a value being validated sits: its key path and how to find positions of paths in its file. */
export interface At {
  path: string;
  locate(path: string, part?: 'key' | 'value'): SourcePos;
  /** directory relative localFile paths resolve against (default: the directory of the value's file) */
  baseDir?: string;
  /** appended to every message, e.g. " (after rendering for host web1)" */
  note?: string;
}

/** An At for a value in a loaded YAML file (positions remembered by src/yaml/load-yaml.ts). */
export function atFile(file: string, path: string, fallback?: SourcePos): At {
  return { path, locate: (p, part) => positionIn(file, p, part, fallback) };
}

export function atPath(at: At, key: string | number): At {
  return { ...at, path: joinPath(at.path, key) };
}

/** Validates `value` against `schema`; returns every mismatch found (empty when valid). */
export function validateValue(value: unknown, schema: Schema, at: At): ConfigError[] {
  const errors: ConfigError[] = [];
  check(value, schema, at, errors);
  return errors;
}

/** Where the parameters of one task are: `keyPath` is the path of the module's parameter map, e.g. plays.0.tasks.3.template. */
export interface ParamsWhere {
  pos: SourcePos;
  keyPath: string;
  /** the host the parameters were rendered for */
  host?: string;
  localDir?: string;
}

/** Validates (rendered) module parameters: types, required params, unknown params (with did-you-mean). */
export interface ParamsSchema {
  params: Record<string, Field>;
  /** the schema of parameters not in `params`; absent: they are errors */
  additionalParams?: Field;
}

export function validateParams(module: ParamsSchema, params: unknown, where: ParamsWhere): ConfigError[] {
  const at: At = {
    ...atFile(where.pos.file, where.keyPath, where.pos),
    baseDir: where.localDir,
    note: where.host ? ` (after rendering for host ${where.host})` : undefined,
  };
  return validateValue(params ?? {}, { type: 'map', fields: module.params, ...(module.additionalParams ? { additional: module.additionalParams } : {}) }, at);
}

function fail(errors: ConfigError[], at: At, detail: string, part: 'key' | 'value' = 'value'): void {
  errors.push(new ConfigError(at.locate(at.path, part), at.path, detail + (at.note ?? '')));
}

export function isTemplated(value: unknown): boolean {
  return typeof value === 'string' && value.includes('<%');
}

export function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How a found value reads in a message: "twenty-two" quoted, numbers bare, "a list", "a map". */
export function describeFound(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (an empty value)';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return String(value);
}

export function describeExpected(schema: Schema): string {
  switch (schema.type) {
    case 'string':
      if (schema.enum) return `one of ${schema.enum.join(', ')}`;
      if (schema.pattern) return schema.patternHint ?? `a string matching ${schema.pattern}`;
      return 'a string';
    case 'integer':
      if (schema.min !== undefined && schema.max !== undefined) return `an integer ${schema.min}-${schema.max}`;
      if (schema.min !== undefined) return `an integer >= ${schema.min}`;
      if (schema.max !== undefined) return `an integer <= ${schema.max}`;
      return 'an integer';
    case 'boolean':
      return 'true or false';
    case 'list': {
      const item = describeExpected(schema.items);
      const simple: Record<string, string> = { 'a string': 'strings', 'an integer': 'integers', 'true or false': 'booleans', 'a map': 'maps', 'any value': 'values' };
      return simple[item] ? `a list of ${simple[item]}` : `a list, each item ${item}`;
    }
    case 'map':
      return 'a map';
    case 'oneOf':
      return schema.hint;
    case 'localFile':
      return 'a path to a local file';
    case 'mode':
      return 'a file mode as a quoted octal string like "0644"';
    case 'any':
      return 'any value';
  }
}

function kindMatches(value: unknown, schema: Schema): boolean {
  switch (schema.type) {
    case 'string':
    case 'localFile':
    case 'mode':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'list':
      return Array.isArray(value);
    case 'map':
      return isPlainMap(value);
    case 'oneOf':
      return schema.alternatives.some((alternative) => kindMatches(value, alternative));
    case 'any':
      return true;
  }
}

function check(value: unknown, schema: Schema, at: At, errors: ConfigError[]): void {
  // rendered per host later, then validated again
  if (isTemplated(value)) return;
  const mismatch = (hint = '') => fail(errors, at, `expected ${describeExpected(schema)}, got ${describeFound(value)}${hint}`);
  const before = errors.length;
  switch (schema.type) {
    case 'string': {
      if (typeof value !== 'string') {
        const quote = typeof value === 'number' || typeof value === 'boolean' ? ` (quote it: "${String(value)}")` : '';
        return mismatch(quote);
      }
      if (schema.enum && !schema.enum.includes(value)) return mismatch(didYouMean(value, schema.enum));
      if (schema.pattern && !schema.pattern.test(value)) return mismatch();
      break;
    }
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        const unquote = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? ' (write it without quotes)' : '';
        return mismatch(unquote);
      }
      if ((schema.min !== undefined && value < schema.min) || (schema.max !== undefined && value > schema.max)) return mismatch();
      break;
    }
    case 'boolean':
      if (typeof value !== 'boolean') return mismatch(typeof value === 'string' && /^(yes|no|on|off|true|false)$/i.test(value) ? ' (write true or false, unquoted)' : '');
      break;
    case 'mode':
      if (typeof value === 'number') return mismatch(` (YAML reads an unquoted mode as a decimal number; quote it, e.g. "0${value}")`);
      if (typeof value !== 'string' || !/^[0-7]{3,4}$/.test(value)) return mismatch();
      break;
    case 'localFile': {
      if (typeof value !== 'string' || value === '') return mismatch();
      const baseDir = at.baseDir ?? dirname(at.locate(at.path).file);
      const full = resolveLocalPath(value, baseDir);
      if (!existsSync(full)) return fail(errors, at, `file not found: ${full}${full !== value ? ` (from "${value}")` : ''}`);
      if (!statSync(full).isFile()) return fail(errors, at, `not a regular file: ${full}`);
      break;
    }
    case 'list': {
      if (!Array.isArray(value)) return mismatch();
      if (schema.minItems !== undefined && value.length < schema.minItems) {
        return fail(errors, at, `expected at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}, got ${value.length}`);
      }
      value.forEach((item, i) => check(item, schema.items, atPath(at, i), errors));
      if (schema.uniqueBy) checkUnique(value, schema.uniqueBy, at, errors);
      break;
    }
    case 'map': {
      if (!isPlainMap(value)) return mismatch();
      checkMap(value, schema.fields, schema.additional, at, errors);
      break;
    }
    case 'oneOf': {
      for (const alternative of schema.alternatives) {
        if (validateValue(value, alternative, at).length === 0) return runCheck(value, schema, at, errors);
      }
      // report the alternative of the same kind in detail (a list with a bad item), else the hint
      const sameKind = schema.alternatives.filter((alternative) => kindMatches(value, alternative));
      if (sameKind.length === 1) return check(value, sameKind[0], at, errors);
      return mismatch();
    }
    case 'any':
      break;
  }
  if (errors.length === before) runCheck(value, schema, at, errors);
}

function runCheck(value: unknown, schema: Schema, at: At, errors: ConfigError[]): void {
  const problem = schema.check?.(value as never);
  if (problem) fail(errors, at, problem);
}

function checkMap(value: Record<string, unknown>, fields: Record<string, Field>, additional: Schema | undefined, at: At, errors: ConfigError[]): void {
  const targets = aliasTargets(fields);
  for (const [key, field] of Object.entries(fields)) {
    const given = [key, ...(field.aliases ?? [])].find((name) => name in value) ?? key;
    if (field.required && (value[given] === undefined || value[given] === null)) {
      const keyAt = atPath(at, given);
      if (given in value) fail(errors, keyAt, `expected ${describeExpected(field)}, got nothing (an empty value)`);
      else errors.push(new ConfigError(at.locate(at.path, 'value'), keyAt.path, `missing required key \`${key}\` (${describeExpected(field)})` + (at.note ?? '')));
    }
  }
  for (const names of namesGivenTwice(value, fields)) {
    const name = fieldNameOf(names[0]!, fields, targets)!;
    const others = names.filter((n) => n !== names[1]).map((n) => `\`${n}\``).join(' and ');
    fail(errors, atPath(at, names[1]!), `\`${names[1]}\` is given with ${others}: both name the parameter \`${name}\` (aliases: ${fields[name]!.aliases!.join(', ')}); give it once`, 'key');
  }
  for (const [key, item] of Object.entries(value)) {
    const name = fieldNameOf(key, fields, targets);
    const field = name === undefined ? undefined : fields[name];
    if (field) {
      if (item === null) continue; // `key:` with no value = unset (required keys were reported above)
      check(item, field, atPath(at, key), errors);
    } else if (additional) {
      check(item, additional, atPath(at, key), errors);
    } else {
      const known = Object.keys(fields);
      const hint = closest(key, [...known, ...targets.keys()]) ? didYouMean(key, [...known, ...targets.keys()]) : known.length <= 12 ? ` (expected one of: ${known.join(', ')})` : '';
      fail(errors, atPath(at, key), `unknown key \`${key}\`${hint}`, 'key');
    }
  }
}

function checkUnique(items: unknown[], field: string, at: At, errors: ConfigError[]): void {
  const seen = new Map<unknown, number>();
  items.forEach((item, i) => {
    if (!isPlainMap(item) || item[field] === undefined) return;
    const first = seen.get(item[field]);
    if (first !== undefined) fail(errors, atPath(atPath(at, i), field), `duplicate ${field} ${describeFound(item[field])} (also at ${joinPath(at.path, first)})`);
    else seen.set(item[field], i);
  });
}

/** A local path as the user wrote it (`~/x`, `./x`, `/x`) made absolute against `baseDir`. */
export function resolveLocalPath(path: string, baseDir: string): string {
  const expanded = expandHome(path);
  return isAbsolute(expanded) ? expanded : resolve(baseDir, expanded);
}

/** Returns a copy of `value` with every localFile field (per `schema`) made absolute against `baseDir`. */
export function resolveLocalFiles(value: unknown, schema: Schema, baseDir: string): unknown {
  if (isTemplated(value)) return value;
  switch (schema.type) {
    case 'localFile':
      return typeof value === 'string' && value !== '' ? resolveLocalPath(value, baseDir) : value;
    case 'list':
      return Array.isArray(value) ? value.map((item) => resolveLocalFiles(item, schema.items, baseDir)) : value;
    case 'map': {
      if (!isPlainMap(value)) return value;
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        const field = schema.fields[fieldNameOf(key, schema.fields) ?? key] ?? schema.additional;
        out[key] = field ? resolveLocalFiles(item, field, baseDir) : item;
      }
      return out;
    }
    case 'oneOf': {
      const match = schema.alternatives.find((alternative) => validateValue(value, alternative, { path: '', locate: () => ({ file: baseDir + '/x' }), baseDir }).length === 0);
      return match ? resolveLocalFiles(value, match, baseDir) : value;
    }
    default:
      return value;
  }
}
