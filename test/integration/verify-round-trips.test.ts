/**
 * verify reads each host in one fact batch, in the round trip that connects, and an LB once
 * more after the requests through it (which backends served them). Counted from real sshd's own
 * log (logins it accepted, channels it opened), as runner-round-trips.test.ts counts a run. Before
 * verify read through facts it opened a channel per command: 13 on an nginx LB with two apps.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

const CHANNEL = /server_input_channel_open: ctype session/g;
const LOGIN = /Accepted publickey for root/g;
const DISCONNECTED = /Disconnected from user root/;
const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;

describe('round trips of verify against real sshd', () => {
  let dir: string;
  let servers: Sshd[];
  let inventory: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-verify-round-trips-'));
    const first = await startSshd({ extraConfig: ['LogLevel DEBUG1'] });
    servers = [first, ...(await Promise.all([1, 2].map(() => startSshd({ extraConfig: ['LogLevel DEBUG1'], clientKeyPath: first.clientKeyPath }))))];
    writeFileSync(join(dir, 'known_hosts'), servers.map((s) => readFileSync(s.knownHostsFile, 'utf8')).join(''));
    const [lb1, lb2, web1] = servers.map((s) => s.port);
    inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      `all:
  vars:
    ssh: { user: root, key: ${first.clientKeyPath}, known_hosts: ${join(dir, 'known_hosts')} }
    apps:
      - { name: demo, server_name: [demo.test] }
      - { name: shop, server_name: [shop.test], balance: ip_hash }
  children:
    lb:
      hosts:
        lb1: { address: 127.0.0.1, port: ${lb1} }
        lb2: { address: 127.0.0.1, port: ${lb2}, vars: { load_balancer: haproxy } }
    web:
      hosts:
        web1: { address: 127.0.0.1, port: ${web1}, private_address: 127.0.0.2 }
`,
    );
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('is one login per host, one channel on a web node and two on an LB (nginx or haproxy): its facts, then what served the requests', async () => {
    const logs = servers.map((s) => s.log().length);
    // nothing of the stack runs here: the checks fail, but every one of them reads its facts
    const r = await runCli(['verify', inventory, '--output', 'json', '--requests', '2']);
    assert.equal(r.code, 5, r.stdout + r.stderr);
    const checks = JSON.parse(r.stdout) as Array<{ check: string; host?: string; app?: string; detail: string }>;
    const spread = checks.filter((c) => c.check === 'spread over backends').map((c) => `${c.host} ${c.app}`);
    assert.deepEqual(spread, ['lb1 demo', 'lb2 demo', 'lb1 shop', 'lb2 shop'], r.stdout);
    assert.match(checks.find((c) => c.check === 'spread over backends' && c.host === 'lb1')!.detail, /demo\.access\.log/, 'the access log was read after the requests');
    // sshd logs a connection's end after the CLI is gone: wait for that line on every host
    const deadline = Date.now() + 10_000;
    while (!servers.every((s, i) => DISCONNECTED.test(s.log().slice(logs[i]))) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const expected = { lb1: 2, lb2: 2, web1: 1 };
    Object.entries(expected).forEach(([name, channels], i) => {
      const log = servers[i]!.log().slice(logs[i]);
      assert.equal(count(log, LOGIN), 1, `${name}: logins\n${log}`);
      assert.equal(count(log, CHANNEL), channels, `${name}: channels\n${log}`);
    });
  });
});
