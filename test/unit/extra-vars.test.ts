import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigErrors } from '../../src/errors.js';
import { parseExtraVars } from '../../src/inventory/extra-vars.js';
import { applyExtraVars } from '../../src/stack/inventory.js';
import { loadInventory } from '../../src/stack/inventory.js';

function inventory(): ReturnType<typeof loadInventory> {
  const dir = mkdtempSync(join(tmpdir(), 'extra-vars-'));
  writeFileSync(
    join(dir, 'inventory.yml'),
    'all:\n  vars: { datacenter: dc1, greeting: hi }\n  children:\n    web:\n      hosts:\n        web1: { address: 10.0.0.11, vars: { greeting: hello } }\n',
  );
  return loadInventory(join(dir, 'inventory.yml'));
}

const messages = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, String(err));
    return err.errors.map((e) => e.message);
  }
  return [];
};

describe('-e/--extra-vars', () => {
  it('reads key=value pairs as strings, JSON objects and @files, later ones winning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'extra-vars-'));
    writeFileSync(join(dir, 'more.yaml'), 'greeting: from-file\nconsul: { version: 1.17.0 }\n');
    const layers = parseExtraVars(['greeting=hey count=3', '{"count": 4, "consul": {"source": "upload"}}', `@${join(dir, 'more.yaml')}`]);
    assert.deepEqual(layers.map((l) => l.vars), [{ greeting: 'hey', count: '3' }, { count: 4, consul: { source: 'upload' } }, { greeting: 'from-file', consul: { version: '1.17.0' } }]);
  });

  it('wins over host vars, merging maps key by key', () => {
    const inv = inventory();
    applyExtraVars(inv, parseExtraVars(['greeting=bye', '{"consul": {"version": "1.17.0"}}']));
    const vars = inv.hosts.get('web1')!.vars as Record<string, any>;
    assert.equal(vars.greeting, 'bye');
    assert.equal(vars.consul.version, '1.17.0');
    assert.equal(vars.consul.source, 'release', 'the other consul defaults stay');
  });

  it('refuses what it cannot read, and checks known variables like the inventory does', () => {
    assert.deepEqual(messages(() => parseExtraVars(['{"a": '])), ['--extra-vars: not valid JSON: Unexpected end of JSON input (in "{\\"a\\": ")']);
    assert.deepEqual(messages(() => parseExtraVars(['novalue'])), ['--extra-vars: expected key=value (key a variable name), @file.yaml, or a JSON object, got "novalue"']);
    assert.match(messages(() => parseExtraVars(['@/nonexistent.yaml']))[0]!, /--extra-vars: @\/nonexistent\.yaml: file not found/);
    assert.deepEqual(messages(() => applyExtraVars(inventory(), parseExtraVars(['nginx_default_status=444']))), [
      `--extra-vars nginx_default_status: expected an integer 200-599, got "444" (key=value gives strings; pass other types as JSON, e.g. -e '{"nginx_default_status": ...}')`,
    ]);
    assert.deepEqual(messages(() => applyExtraVars(inventory(), parseExtraVars(['inventory_hostname=x']))), ['--extra-vars inventory_hostname: `inventory_hostname` is a reserved name in templates and expressions; rename this variable']);
  });
});
