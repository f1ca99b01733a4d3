import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigErrors } from '../../src/errors.js';
import { loadRun } from '../../src/cli/load-run.js';
import { defaultPlaybook } from '../../src/paths.js';
import { consulServers } from '../../src/stack/topology.js';

function inventory(groups: Record<string, string[]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'topology-test-'));
  let n = 10;
  const body = Object.entries(groups)
    .map(([group, hosts]) => `    ${group}:\n      hosts:\n${hosts.map((h) => `        ${h}: { address: 203.0.113.${n}, private_address: 10.10.0.${n++} }`).join('\n')}\n`)
    .join('');
  const file = join(dir, 'inventory.yaml');
  writeFileSync(file, `all:\n  vars:\n    apps: [{ name: app, server_name: [app.test] }]\n  children:\n${body}`);
  return file;
}

function errorsOf(file: string): string[] {
  try {
    loadRun(file, [defaultPlaybook], {});
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, String(err));
    return err.errors.map((e) => e.message.slice(file.length));
  }
}

describe('Consul servers', () => {
  it('are the lb hosts unless the inventory has a consul_servers group', () => {
    const lbOnly = loadRun(inventory({ lb: ['lb1', 'lb2', 'lb3'], web: ['web1'] }), [defaultPlaybook], {});
    assert.deepEqual(consulServers(lbOnly.inventory), ['lb1', 'lb2', 'lb3']);
    assert.ok(lbOnly.inventory.hosts.get('lb2')!.groups.includes('consul_servers'));
    const own = loadRun(inventory({ consul_servers: ['c1', 'c2', 'c3'], lb: ['lb1', 'lb2'], web: ['web1'] }), [defaultPlaybook], {});
    assert.deepEqual(consulServers(own.inventory), ['c1', 'c2', 'c3']);
    assert.equal(own.inventory.hosts.get('lb1')!.groups.includes('consul_servers'), false, 'two LBs are fine: they are clients here');
  });

  it('1, 3 and 5 servers are accepted', () => {
    for (const n of [1, 3, 5]) assert.deepEqual(errorsOf(inventory({ lb: Array.from({ length: n }, (_, i) => `lb${i + 1}`), web: ['web1'] })), []);
  });

  it('2 and 4 servers are refused before any connection, saying why (quorum) and what to do', () => {
    assert.deepEqual(errorsOf(inventory({ lb: ['lb1', 'lb2'], web: ['web1'] })), [
      ':8:9 all.children.lb.hosts.lb2: 2 Consul servers (lb1, lb2, every host of group lb): raft needs a majority (2 of 2) to keep a leader, so 2 servers tolerate no failure, ' +
        'just like 1, with one more machine that can fail. Use an odd number (3 tolerate 1 failure, 5 tolerate 2): add or remove a host, ' +
        'or list 3 or 5 hosts in a consul_servers group (the servers, which need not be load balancers)',
    ]);
    const four = errorsOf(inventory({ consul_servers: ['c1', 'c2', 'c3', 'c4'], lb: ['lb1'], web: ['web1'] }));
    assert.equal(four.length, 1);
    assert.match(four[0]!, /all\.children\.consul_servers\.hosts\.c4: 4 Consul servers \(c1, c2, c3, c4, every host of group consul_servers\): raft needs a majority \(3 of 4\) .* 4 servers tolerate 1 failure, just like 3/);
    assert.doesNotMatch(four[0]!, /list 3 or 5 hosts in a consul_servers group/);
  });
});
