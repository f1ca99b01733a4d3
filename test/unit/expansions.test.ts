import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { HostFacts } from '../../src/facts/types.js';
import { loadInventory } from '../../src/stack/inventory.js';
import { getModule } from '../../src/modules/index.js';
import { Expansions } from '../../src/playbook/expansions.js';
import { loadPlaybooks } from '../../src/playbook/load-playbooks.js';
import { placeholderFacts } from '../../src/playbook/placeholder-facts.js';

/* The run's memo of the task walk: one expansion per task and host while what it read holds. */

const dir = mkdtempSync(join(tmpdir(), 'expansions-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function project(tasks: string) {
  writeFileSync(join(dir, 'inventory.yaml'), 'all:\n  vars:\n    root: /srv\n    sites: [shop, blog]\n  children:\n    web:\n      hosts:\n        web1: { address: 10.0.0.11 }\n');
  writeFileSync(join(dir, 'site.yml'), `- hosts: web\n  tasks:\n${tasks}`);
  const inventory = loadInventory(join(dir, 'inventory.yaml'));
  const [play] = loadPlaybooks([join(dir, 'site.yml')], getModule);
  const offline = placeholderFacts(inventory, 'web1');
  const real: HostFacts = { ...offline, hostname: 'web1.real', arch: 'arm64' };
  return { hp: { inventory, play: play!, host: 'web1', facts: offline, runId: 'r1', scopeExtra: {} }, task: play!.tasks[0]!, real };
}

describe('Expansions', () => {
  it('reuses the offline expansion of a task that reads no facts, with the real facts bound for planning', () => {
    const { hp, task, real } = project('    - file: { path: "<%= root %>/<%= item %>", state: directory }\n      loop: sites\n');
    const memo = new Expansions();
    const offline = memo.expand(task, hp);
    const run = memo.expand(task, { ...hp, facts: real });
    assert.deepEqual(memo.counts, { expanded: 1, reused: 1 });
    assert.deepEqual(run.map((i) => i.params.path), ['/srv/shop', '/srv/blog']);
    assert.deepEqual(run.map((i) => i.scope.item), ['shop', 'blog']);
    assert.equal(run[0]!.ctx.facts, real);
    assert.equal(run[0]!.scope.facts, real);
    assert.notEqual(offline[0]!.ctx, run[0]!.ctx);
  });

  it('expands again a task whose when or parameters read the facts, once they are the real ones', () => {
    const { hp, task, real } = project('    - copy: { dest: /etc/name, content: "<%= facts.hostname %>" }\n      when: facts.arch != ""\n');
    const memo = new Expansions();
    assert.equal(memo.expand(task, hp)[0]!.params.content, 'web1');
    assert.equal(memo.expand(task, { ...hp, facts: real })[0]!.params.content, 'web1.real');
    assert.equal(memo.expand(task, { ...hp, facts: real })[0]!.params.content, 'web1.real');
    assert.deepEqual(memo.counts, { expanded: 2, reused: 1 });
  });

  it('expands again after a registered value it reads changes, and also when a name it found absent appears', () => {
    const { hp, task } = project('    - copy: { dest: /etc/out, content: "<%= typeof result === \'undefined\' ? \'none\' : result.stdout %>" }\n');
    const memo = new Expansions();
    const content = (scopeExtra: Record<string, unknown>) => memo.expand(task, { ...hp, scopeExtra })[0]!.params.content;
    const first = { stdout: 'a' };
    assert.equal(content({}), 'none');
    assert.equal(content({ result: first }), 'a');
    assert.equal(content({ result: first }), 'a');
    assert.equal(content({ result: { stdout: 'b' } }), 'b');
    assert.equal(content({ other: 1, result: { stdout: 'c' } }), 'c');
    assert.deepEqual(memo.counts, { expanded: 4, reused: 1 });
  });

  it('keeps nothing for a template that enumerates its whole scope', () => {
    const { hp, task } = project('    - copy: { dest: /etc/keys, content: "n=<%= Object.keys(locals).length %>" }\n');
    const memo = new Expansions();
    memo.expand(task, hp);
    memo.expand(task, hp);
    assert.deepEqual(memo.counts, { expanded: 2, reused: 0 });
  });

  it('keeps no expansion that threw, and throws the same error again', () => {
    const { hp, task } = project('    - file: { path: "/x", state: directory }\n      loop: missing_name\n');
    const memo = new Expansions();
    assert.throws(() => memo.expand(task, hp), /undefined variable `missing_name`/);
    assert.throws(() => memo.expand(task, hp), /undefined variable `missing_name`/);
    assert.deepEqual(memo.counts, { expanded: 2, reused: 0 });
  });
});
