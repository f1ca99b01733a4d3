import type { Field, Schema } from './types.js';

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function defaultOf(schema: Schema): unknown {
  return (schema as { default?: unknown }).default;
}

/** `value` with the schema's defaults filled in, recursively (maps, and map items of lists such as apps). */
function fill(value: unknown, schema: Schema): unknown {
  if (value === undefined || value === null) {
    const dflt = defaultOf(schema);
    if (dflt !== undefined) return structuredClone(dflt);
    // a map whose fields have defaults exists even when unset (consul.version...)
    if (schema.type === 'map' && Object.values(schema.fields).some((field) => fill(undefined, field) !== undefined)) return fill({}, schema);
    return value;
  }
  if (schema.type === 'map' && isPlainMap(value)) {
    const out: Record<string, unknown> = { ...value };
    for (const [key, field] of Object.entries(schema.fields)) {
      const filled = fill(value[key], field);
      if (filled !== undefined) out[key] = filled;
    }
    return out;
  }
  if (schema.type === 'list' && Array.isArray(value)) return value.map((item) => fill(item, schema.items));
  return value;
}

/** `vars` with every known variable's default filled in, deeply (map fields, map items of lists). */
export function applyDefaults(vars: Record<string, unknown>, fields: Record<string, Field>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...vars };
  for (const [name, field] of Object.entries(fields)) {
    const filled = fill(vars[name], field);
    if (filled !== undefined) out[name] = filled;
  }
  return out;
}
