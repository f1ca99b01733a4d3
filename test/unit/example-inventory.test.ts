import assert from 'node:assert/strict';
import { it } from 'node:test';
import { loadRun } from '../../src/cli/load-run.js';
import { defaultPlaybook, packageRoot } from '../../src/paths.js';

it('the example inventory validates against the bundled playbooks', () => {
  const { inventory, plays } = loadRun(`${packageRoot}inventory/example.yaml`, [defaultPlaybook], {});
  assert.deepEqual([...inventory.hosts.keys()], ['lb1', 'web1', 'web2']);
  assert.deepEqual(plays.map((p) => p.hosts), ['consul_servers:lb:web', 'consul_servers', 'consul_servers', 'lb:web:!consul_servers', 'lb', 'lb', 'lb', 'web', 'web']);
  assert.equal((inventory.hosts.get('web1')!.vars.apps as Array<{ balance: string }>)[0]!.balance, 'ip_hash');
});
