/**
 * The schema language of src/schema/types.ts as JSON Schema (draft-07), for editors: what a value
 * may be, with its description, as validate.ts checks it, minus what only code can check (a
 * `check` function, a local file's existence). As in validate.ts, a string holding EJS (`<%`) is
 * accepted anywhere, since it is rendered per host and checked then, and a map key written with
 * no value (`key:`) leaves it unset.
 */
import type { Field, Schema } from './types.js';

export type JsonSchema = Record<string, unknown>;

/** Where editor schemas keep the shared definitions. */
export const EJS_REF = '#/definitions/ejs';
export const EJS_DEFINITION: JsonSchema = { type: 'string', pattern: '<%', description: 'EJS (<%= ... %>), rendered for each host and checked then' };

/** `schema` as JSON Schema; `refs` replaces a schema (by identity) with a reference, for recursive or shared parts. */
export function toJsonSchema(schema: Schema, refs: Map<Schema, string> = new Map()): JsonSchema {
  const ref = refs.get(schema);
  if (ref) return { $ref: ref };
  const out = bare(schema, refs);
  if (schema.description) out.description = schema.description;
  const dflt = (schema as { default?: unknown }).default;
  if (dflt !== undefined) out.default = dflt;
  return templatable(schema) ? { anyOf: [out, { $ref: EJS_REF }], ...(out.description ? { description: out.description } : {}) } : out;
}

/** Whether an EJS string is not already accepted by the schema itself (a plain string is). */
function templatable(schema: Schema): boolean {
  if (schema.type === 'any') return false;
  if (schema.type === 'string') return schema.pattern !== undefined || schema.enum !== undefined;
  return schema.type !== 'localFile';
}

function bare(schema: Schema, refs: Map<Schema, string>): JsonSchema {
  switch (schema.type) {
    case 'string':
      return { type: 'string', ...(schema.enum ? { enum: [...schema.enum] } : {}), ...(schema.pattern ? { pattern: schema.pattern.source } : {}) };
    case 'integer':
      return { type: 'integer', ...(schema.min !== undefined ? { minimum: schema.min } : {}), ...(schema.max !== undefined ? { maximum: schema.max } : {}) };
    case 'boolean':
      return { type: 'boolean' };
    case 'list':
      return { type: 'array', items: toJsonSchema(schema.items, refs), ...(schema.minItems !== undefined ? { minItems: schema.minItems } : {}) };
    case 'map':
      return mapSchema(schema.fields, schema.additional, refs);
    case 'oneOf':
      return { anyOf: schema.alternatives.map((alternative) => toJsonSchema(alternative, refs)), description: schema.hint };
    case 'localFile':
      return { type: 'string', minLength: 1, description: 'a path to a local file' };
    case 'mode':
      return { type: 'string', pattern: '^[0-7]{3,4}$', description: 'a file mode as a quoted octal string like "0644"' };
    case 'any':
      return {};
  }
}

/** A map of `fields` (required ones required; a key with no value allowed), other keys as `additional` says (refused without it). */
export function mapSchema(fields: Record<string, Field>, additional: Schema | undefined, refs: Map<Schema, string> = new Map()): JsonSchema {
  const required = Object.entries(fields).filter(([, field]) => field.required && !field.aliases?.length).map(([key]) => key);
  // a required field with aliases is there under any of its names
  const requiredAnyName = Object.entries(fields)
    .filter(([, field]) => field.required && field.aliases?.length)
    .map(([key, field]) => ({ anyOf: [key, ...field.aliases!].map((name) => ({ required: [name] })) }));
  const properties = Object.entries(fields).flatMap(([key, field]) => {
    const schema = fieldSchema(field, refs);
    return [[key, schema], ...(field.aliases ?? []).map((alias) => [alias, { ...schema, description: `alias of ${key}${schema.description ? `: ${String(schema.description)}` : ''}` }])];
  });
  return {
    type: 'object',
    properties: Object.fromEntries(properties),
    ...(required.length > 0 ? { required } : {}),
    ...(requiredAnyName.length > 0 ? { allOf: requiredAnyName } : {}),
    additionalProperties: additional ? toJsonSchema(additional, refs) : false,
  };
}

/** A map field: its schema, or nothing (`key:` unsets an optional key). */
export function fieldSchema(field: Field, refs: Map<Schema, string> = new Map()): JsonSchema {
  const schema = toJsonSchema(field, refs);
  if (field.required || field.type === 'any') return schema;
  return { anyOf: [...(Array.isArray(schema.anyOf) && Object.keys(schema).every((k) => k === 'anyOf' || k === 'description') ? schema.anyOf : [schema]), { type: 'null' }], ...(schema.description ? { description: schema.description } : {}) };
}
