/**
 * The JSON Schemas in schema/ (README: Editor support): committed as generated, and as strict as
 * the CLI on shapes: a real JSON Schema validator (ajv) accepts every bundled playbook and
 * inventory example, and rejects every bad-input fixture, which the CLI rejects too.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import YAML from 'yaml';
import { editorSchemas } from '../../src/cli/editor-schemas.js';
import { ConfigErrors } from '../../src/errors.js';
import { loadInventory } from '../../src/stack/inventory.js';
import { getModule } from '../../src/modules/index.js';
import { loadPlaybooks } from '../../src/playbook/load-playbooks.js';
import { packageRoot } from '../../src/paths.js';

const at = (...parts: string[]) => join(packageRoot, ...parts);
const yamlFiles = (dir: string) => readdirSync(at(dir)).filter((name) => /\.ya?ml$/.test(name)).map((name) => join(dir, name));
const read = (file: string) => YAML.parse(readFileSync(at(file), 'utf8'), { merge: true });

const ajv = new Ajv({ allErrors: false, strict: false });
const validator = (name: string) => ajv.compile(JSON.parse(readFileSync(at('schema', name), 'utf8')));

describe('editor schemas', () => {
  it('the committed schema/ files are what `npm run schema` generates', () => {
    for (const [name, text] of Object.entries(editorSchemas())) {
      assert.equal(readFileSync(at('schema', name), 'utf8'), text, `schema/${name} is stale: run npm run schema`);
    }
  });

  const playbook = validator('playbook.schema.json');
  const inventory = validator('inventory.schema.json');
  const tasks = validator('tasks.schema.json');
  const accepted: Array<[string, typeof playbook]> = [
    ...yamlFiles('playbooks').map((file): [string, typeof playbook] => [file, playbook]),
    ...yamlFiles('playbooks/tasks').map((file): [string, typeof playbook] => [file, tasks]),
    ...yamlFiles('test/fixtures/config/project/playbooks').map((file): [string, typeof playbook] => [file, playbook]),
    ...yamlFiles('test/fixtures/runner/playbooks').map((file): [string, typeof playbook] => [file, playbook]),
    ['inventory/example.yaml', inventory],
    ['test/fixtures/config/project/inventory/hosts.yml', inventory],
    ['test/fixtures/config/merge/inventory.yml', inventory],
  ];
  for (const [file, validate] of accepted) {
    it(`accepts ${file}`, () => assert.ok(validate(read(file)), JSON.stringify(validate.errors?.slice(0, 3), null, 1)));
  }

  const bad = 'test/fixtures/bad-input';
  for (const file of yamlFiles(`${bad}/playbooks`)) {
    it(`rejects ${file}, as the CLI does`, () => {
      assert.equal(playbook(read(file)), false, 'the schema accepted it');
      assert.throws(() => loadPlaybooks([at(file)], getModule), ConfigErrors);
    });
  }
  for (const file of yamlFiles(`${bad}/inventories`)) {
    it(`rejects ${file}, as the CLI does`, () => {
      assert.equal(inventory(read(file)), false, 'the schema accepted it');
      assert.throws(() => loadInventory(at(file)), ConfigErrors);
    });
  }

  it('a task file: a role\'s tasks are accepted, a task with two modules is not', () => {
    assert.ok(tasks([{ name: 'conf', template: { src: 'a.ejs', dest: '/etc/a' }, notify: 'restart' }, { include_role: { name: 'x', tasks_from: 'y' } }]), JSON.stringify(tasks.errors));
    assert.equal(tasks([{ copy: { dest: '/a', content: 'a' }, file: { path: '/b' } }]), false);
  });
});
