import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadInventory } from '../../src/stack/inventory.js';
import { getModule } from '../../src/modules/index.js';
import { expandTask } from '../../src/playbook/expand.js';
import { loadPlaybooks } from '../../src/playbook/load-playbooks.js';
import { placeholderFacts } from '../../src/playbook/placeholder-facts.js';

/* The one task walk the runner, validation and the golden harness share. */

const dir = mkdtempSync(join(tmpdir(), 'expand-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function project(tasks: string) {
  writeFileSync(
    join(dir, 'inventory.yaml'),
    'all:\n  vars:\n    sites:\n      - { name: shop, tls: true }\n      - { name: blog, tls: false }\n  children:\n    web:\n      hosts:\n        web1: { address: 10.0.0.11 }\n',
  );
  writeFileSync(join(dir, 'site.yml'), `- hosts: web\n  tasks:\n${tasks}`);
  const inventory = loadInventory(join(dir, 'inventory.yaml'));
  const [play] = loadPlaybooks([join(dir, 'site.yml')], getModule);
  return { inventory, play, host: 'web1', facts: placeholderFacts(inventory, 'web1'), runId: 'r1', scopeExtra: {} };
}

describe('expandTask', () => {
  it('binds the loop variable before evaluating when, item by item', () => {
    const hp = project('    - file: { path: "/etc/tls/<%= item.name %>", state: directory }\n      loop: sites\n      when: item.tls\n');
    const instances = expandTask(hp.play.tasks[0], hp);
    assert.deepEqual(instances.map((i) => [i.label, i.skipped, i.params.path]), [
      ['[shop] ', undefined, '/etc/tls/shop'],
      ['[blog] ', 'when: item.tls', undefined],
    ]);
  });

  it('collects parameter problems per instance, pointing at the parameter, for the host', () => {
    const hp = project('    - file: { path: "<%= item.name %>", state: directory }\n      loop: sites\n');
    const [first] = expandTask(hp.play.tasks[0], hp);
    assert.equal(first.errors.length, 1);
    assert.match(first.errors[0].message, /site\.yml:3:\d+ plays\.0\.tasks\.0\.file\.path: .*absolute.*\(after rendering for host web1\)/);
  });

  it('refuses a loop that is not a list, at the loop key', () => {
    const hp = project('    - file: { path: /x }\n      loop: sites.length\n');
    assert.throws(() => expandTask(hp.play.tasks[0], hp), /site\.yml:4:13 plays\.0\.tasks\.0\.loop: loop must yield a list, got 2 \(for host web1\)/);
  });
});
