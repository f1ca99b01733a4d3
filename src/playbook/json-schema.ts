/**
 * JSON Schemas of playbooks and task files for editors (schema/playbook.schema.json,
 * schema/tasks.schema.json), made from the same play, task and module parameter schemas
 * loadPlaybooks validates with.
 */
import { getModule } from '../modules/index.js';
import { EJS_DEFINITION, fieldSchema, mapSchema, type JsonSchema } from '../schema/json-schema.js';
import type { Field } from '../schema/types.js';
import { blockFields, importFields, importTasksFields, MODULE_NAMES, playFields, roleTaskFields, taskFields } from './load-playbooks.js';
import { roleEntrySchema } from './roles.js';

const TASK = '#/definitions/task';
const ref = (to: string): JsonSchema => ({ $ref: to });
const taskList = (description?: string): JsonSchema => ({ type: 'array', items: ref(TASK), ...(description ? { description } : {}) });

/** A map of fields where some are given as JSON Schema already (lists of tasks, role entries). */
function withOverrides(fields: Record<string, Field>, overrides: Record<string, JsonSchema>, title: string): JsonSchema {
  const schema = mapSchema(fields, undefined);
  const properties = schema.properties as Record<string, JsonSchema>;
  for (const [key, value] of Object.entries(overrides)) {
    const description = fields[key]?.description;
    properties[key] = fields[key]?.required ? { ...value, ...(description ? { description } : {}) } : { anyOf: [value, { type: 'null' }], ...(description ? { description } : {}) };
  }
  return { title, ...schema };
}

/** The task keys (when, loop, register...), each once, referenced by every kind of task. */
function taskKeyDefinitions(): Record<string, JsonSchema> {
  return Object.fromEntries(Object.entries(taskFields).map(([key, field]) => [`task.${key}`, fieldSchema(field)]));
}
const taskKeyRefs = (): Record<string, JsonSchema> => Object.fromEntries(Object.keys(taskFields).map((key) => [key, ref(`#/definitions/task.${key}`)]));

/** A task running `module`: the task keys, and the module's parameters under its name. */
function moduleTask(name: string): JsonSchema {
  return {
    type: 'object',
    title: `${name} task`,
    properties: { ...taskKeyRefs(), [name]: ref(`#/definitions/module.${name}`) },
    required: [name],
    additionalProperties: false,
  };
}

function definitions(): Record<string, JsonSchema> {
  const names = MODULE_NAMES.filter((name) => getModule(name));
  const moduleParams = Object.fromEntries(names.map((name) => {
    const module = getModule(name)!;
    const params = mapSchema(module.params, module.additionalParams);
    const required = Array.isArray(params.required) && params.required.length > 0;
    return [`module.${name}`, required ? params : { anyOf: [params, { type: 'null' }] }];
  }));
  const task: JsonSchema = {
    anyOf: [
      ...names.map(moduleTask),
      { type: 'object', title: 'meta task', properties: { ...taskKeyRefs(), meta: { const: 'flush_handlers' } }, required: ['meta'], additionalProperties: false },
      withOverrides(blockFields, { block: taskList(), rescue: taskList(), always: taskList() }, 'block'),
      ...['import_tasks', 'include_tasks'].map((key) => ({ title: key, ...mapSchema(importTasksFields(key), undefined) })),
      ...['import_role', 'include_role'].map((key) => ({ title: key, ...mapSchema(roleTaskFields(key), undefined) })),
    ],
  };
  const play = withOverrides(
    playFields,
    {
      tasks: taskList(),
      pre_tasks: taskList(playFields.pre_tasks!.description),
      post_tasks: taskList(playFields.post_tasks!.description),
      handlers: taskList(),
      roles: { type: 'array', items: ref('#/definitions/role') },
    },
    'play',
  );
  return {
    ejs: EJS_DEFINITION,
    ...taskKeyDefinitions(),
    ...moduleParams,
    task,
    role: fieldSchema({ ...roleEntrySchema, required: true }),
    play,
    import_playbook: { title: 'import_playbook', ...mapSchema(importFields, undefined) },
  };
}

/** A playbook: a list of plays and import_playbook entries. */
export function playbookJsonSchema(): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'bootstrap playbook',
    description: 'A list of plays (README: Playbooks and modules)',
    type: 'array',
    items: { anyOf: [ref('#/definitions/play'), ref('#/definitions/import_playbook')] },
    definitions: definitions(),
  };
}

/** A task file: what import_tasks, include_tasks and a role's tasks/ and handlers/ hold. */
export function tasksJsonSchema(): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'bootstrap task file',
    description: 'A list of tasks: a role\'s tasks/main.yml or handlers/main.yml, or a file for import_tasks (README: Roles)',
    type: 'array',
    items: ref(TASK),
    definitions: definitions(),
  };
}
