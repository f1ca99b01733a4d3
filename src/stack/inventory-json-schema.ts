/**
 * The JSON Schema of an inventory for editors (schema/inventory.schema.json), made from the same
 * group, host and variable schemas loadInventory validates with (the stack's variables included).
 */
import { EJS_DEFINITION, mapSchema, type JsonSchema } from '../schema/json-schema.js';
import { groupFields, hostFields } from '../inventory/vars-schema.js';
import { knownVarsSchema } from './inventory.js';

const ref = (to: string): JsonSchema => ({ $ref: to });
const orNull = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: 'null' }] });

export function inventoryJsonSchema(): JsonSchema {
  const vars = { title: 'variables', ...mapSchema(knownVarsSchema, { type: 'any' }) };
  const host = mapSchema(hostFields, undefined);
  (host.properties as Record<string, JsonSchema>).vars = orNull(ref('#/definitions/vars'));
  const group = mapSchema(groupFields, undefined);
  const properties = group.properties as Record<string, JsonSchema>;
  properties.vars = orNull(ref('#/definitions/vars'));
  properties.hosts = orNull({ type: 'object', additionalProperties: orNull(ref('#/definitions/host')), description: 'hosts by name' });
  properties.children = orNull({ type: 'object', additionalProperties: orNull(ref('#/definitions/group')), description: 'child groups by name' });
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'bootstrap inventory',
    description: 'Groups, hosts and their variables under `all:` (README: Inventory format)',
    type: 'object',
    properties: { all: ref('#/definitions/group') },
    required: ['all'],
    additionalProperties: false,
    definitions: { ejs: EJS_DEFINITION, vars, host: { title: 'host', ...host }, group: { title: 'group', ...group } },
  };
}
