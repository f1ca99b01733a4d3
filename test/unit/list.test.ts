import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { listRun } from '../../src/cli/commands/list.js';
import { loadRun } from '../../src/cli/load-run.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'list-test-'));
mkdirSync(join(dir, 'playbooks'));
const files: Record<string, string> = {
  'inventory.yaml': 'all:\n  children:\n    app:\n      hosts:\n        h1: { address: 10.0.0.1, vars: { role: db } }\n        h2: { address: 10.0.0.2, vars: { role: web } }\n',
  'playbooks/site.yml': [
    '- import_playbook: db.yml',
    '  when: "role === \'db\'"',
    '- import_playbook: never.yml',
    '  when: "role === \'cache\'"',
    '- import_playbook: outer.yml',
    '  when: "facts.os.id === \'debian\'"',
    '',
  ].join('\n'),
  'playbooks/db.yml': '- name: database\n  hosts: app\n  tasks:\n    - name: db package\n      package: { name: postgresql }\n',
  'playbooks/never.yml': '- name: cache\n  hosts: app\n  tasks:\n    - name: cache package\n      package: { name: redis }\n',
  // nested: the outer import's condition (facts: only the host can tell) and the inner one (vars) both hold
  'playbooks/outer.yml': '- import_playbook: inner.yml\n  when: "role === \'web\'"\n',
  'playbooks/inner.yml': '- name: web\n  hosts: app\n  tasks:\n    - name: web package\n      package: { name: nginx }\n',
};
for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
const inventory = join(dir, 'inventory.yaml');
const site = join(dir, 'playbooks/site.yml');

describe('--list-hosts / --list-tasks honour import_playbook when', () => {
  it('lists a play only on the hosts its import condition holds for, and says which are decided on the host', () => {
    const { inventory: inv, plays } = loadRun(inventory, [site], {});
    const listed = listRun(inv, plays, {}).map((p) => ({ play: p.play, hosts: p.hosts, tasks: p.tasks.map((t) => t.name), when: p.when, skippedOn: p.skippedOn, decidedOnHost: p.decidedOnHost }));
    assert.deepEqual(listed, [
      { play: 'database', hosts: ['h1'], tasks: ['db package'], when: "role === 'db'", skippedOn: ['h2'], decidedOnHost: [] },
      { play: 'cache', hosts: [], tasks: [], when: "role === 'cache'", skippedOn: ['h1', 'h2'], decidedOnHost: [] },
      { play: 'web', hosts: ['h2'], tasks: ['web package'], when: "(facts.os.id === 'debian') && (role === 'web')", skippedOn: ['h1'], decidedOnHost: ['h2'] },
    ]);
  });

  it('--limit narrows before the condition', () => {
    const { inventory: inv, plays } = loadRun(inventory, [site], { limit: 'h2' });
    assert.deepEqual(listRun(inv, plays, { limit: 'h2' }).map((p) => [p.play, p.hosts, p.tasks.length]), [['database', [], 0], ['cache', [], 0], ['web', ['h2'], 1]]);
  });

  it('the text listing says why a play is left out', async () => {
    const r = await runCli([inventory, '--playbook', site, '--list-tasks']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /play "database"\n  when: role === 'db': false on h2\n  tasks \(1\):\n    db package\n/);
    assert.match(r.stdout, /play "cache"\n  not run: when: role === 'cache' is false on every host \(h1, h2\)\n  tasks \(0\):\n/);
    assert.match(r.stdout, /play "web"\n  when: \(facts\.os\.id === 'debian'\) && \(role === 'web'\): false on h1; decided on h2 when the play runs/);
  });
});
