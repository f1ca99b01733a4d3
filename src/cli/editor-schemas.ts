/**
 * The JSON Schemas published in schema/ for editors (README: Editor support), each generated
 * from the schemas the CLI validates with. `npm run schema` writes them; a unit test fails when
 * a committed file differs from a fresh generation.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inventoryJsonSchema } from '../stack/inventory-json-schema.js';
import { packageRoot } from '../paths.js';
import { playbookJsonSchema, tasksJsonSchema } from '../playbook/json-schema.js';

/** File name under schema/ -> its text. */
export function editorSchemas(): Record<string, string> {
  const text = (schema: unknown) => `${JSON.stringify(schema, null, 2)}\n`;
  return {
    'inventory.schema.json': text(inventoryJsonSchema()),
    'playbook.schema.json': text(playbookJsonSchema()),
    'tasks.schema.json': text(tasksJsonSchema()),
  };
}

export function writeEditorSchemas(dir = join(packageRoot, 'schema')): string[] {
  return Object.entries(editorSchemas()).map(([name, text]) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  });
}
