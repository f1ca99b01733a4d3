/**
 * Parameter aliases: a map field may be written under another name (`dest:` for lineinfile's
 * `path`), as Ansible's modules allow. Validation accepts an alias as its field and refuses a
 * field given twice; loading then writes every alias under its field's own name.
 */
import type { Field } from './types.js';

/** The field each alias stands for. */
export function aliasTargets(fields: Record<string, Field>): Map<string, string> {
  const targets = new Map<string, string>();
  for (const [name, field] of Object.entries(fields)) for (const alias of field.aliases ?? []) targets.set(alias, name);
  return targets;
}

/** The field name `key` is written for: itself, or the field it is an alias of (undefined when neither). */
export function fieldNameOf(key: string, fields: Record<string, Field>, targets = aliasTargets(fields)): string | undefined {
  return Object.prototype.hasOwnProperty.call(fields, key) ? key : targets.get(key);
}

/** For each field given under more than one of its names: those names, in the order written. */
export function namesGivenTwice(value: Record<string, unknown>, fields: Record<string, Field>): string[][] {
  const targets = aliasTargets(fields);
  if (targets.size === 0) return [];
  const written = new Map<string, string[]>();
  for (const key of Object.keys(value)) {
    const name = fieldNameOf(key, fields, targets);
    if (name !== undefined) written.set(name, [...(written.get(name) ?? []), key]);
  }
  return [...written.values()].filter((keys) => keys.length > 1);
}

/** `value` with each alias written as its field's name: [the map, [alias, field name] pairs renamed]. */
export function withFieldNames(value: Record<string, unknown>, fields: Record<string, Field>): [Record<string, unknown>, Array<[string, string]>] {
  const targets = aliasTargets(fields);
  const renamed: Array<[string, string]> = [];
  if (targets.size === 0) return [value, renamed];
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const name = fieldNameOf(key, fields, targets) ?? key;
    if (name !== key) renamed.push([key, name]);
    out[name] = item;
  }
  return [out, renamed];
}
