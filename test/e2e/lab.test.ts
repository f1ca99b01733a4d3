/**
 * End to end on the local lab: fresh Debian nodes (containers booting systemd + sshd), the real
 * stack (consul and consul-template built from source, nginx and docker.io from Debian), applied
 * over SSH by the CLI, then exercised. Traffic goes only to the lab's own containers.
 *
 * registrator cannot be built here (the Go module proxy refuses github.com/gliderlabs/registrator),
 * so the lab registers the demo containers with Consul service definitions and HTTP health checks;
 * the scenarios below use Consul's health checks where registrator would deregister.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { labAppsPlaybook, labDownCommand, labUpCommand, verifyUntilPassing } from '../../src/commands/lab.js';
import { defaultPlaybook } from '../../src/paths.js';
import { allPassed, formatCheckTable } from '../../src/verify/index.js';
import { events, runCli } from '../helpers/cli.js';
import { onNode } from '../helpers/lab.js';
import { get, LB_PUBLIC, portOpen, steadyLoad, waitFor } from '../helpers/traffic.js';

const LB_PRIVATE = '172.30.20.11';
const WEB = { web1: '172.30.20.51', web2: '172.30.20.52' };

/** Backends in an app's rendered upstream (the placeholder excluded). */
async function upstream(app: string): Promise<string[]> {
  const conf = await onNode('lb1', `cat /etc/nginx/conf.d/${app}.conf`);
  return [...conf.matchAll(/^\s*server (\S+) max_fails/gm)].map((m) => m[1]!).filter((s) => s !== '127.0.0.1:65535').sort();
}

const apply = (inventory: string, ...args: string[]) => runCli([inventory, '--playbook', defaultPlaybook, '--playbook', labAppsPlaybook, ...args]);

describe('the stack on the local lab', { timeout: 40 * 60_000 }, () => {
  let inventory: string;

  before(async () => {
    await labDownCommand();
    inventory = await labUpCommand({ lb: 1, web: 2 });
  });
  after(async () => {
    if (!process.env.BOOTSTRAP_KEEP_LAB) await labDownCommand();
  });

  it('1. bootstraps fresh nodes, and verify passes: members, registrations, balancing, HTTP and TLS', async () => {
    const first = await apply(inventory);
    assert.equal(first.code, 0, first.stdout.slice(-4000) + first.stderr);
    const results = await verifyUntilPassing(inventory, 120_000);
    assert.ok(allPassed(results), formatCheckTable(results));
    const verify = await runCli(['verify', inventory]);
    assert.equal(verify.code, 0, verify.stdout);
    assert.match(verify.stdout, /consul member\s+web2\s+alive/);

    // every backend answers at least once over 20 requests, seen from here by the body they serve
    const hosts = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const a = await get('demo.lab.test');
      assert.equal(a.status, 200);
      hosts.add(/host=(\S+)/.exec(a.body)?.[1] ?? '?');
    }
    assert.equal(hosts.size, 2, `backends seen: ${[...hosts].join(', ')}`);
    const redirect = await get('secure.lab.test');
    assert.equal(redirect.status, 301);
    assert.equal(redirect.location, 'https://secure.lab.test/');
    const tls = await get('secure.lab.test', { tls: true });
    assert.equal(tls.status, 200);
    assert.match(tls.body, /app=secure/);
  });

  it('keeps consul HTTP off the public and private interfaces', async () => {
    assert.equal(await portOpen(LB_PUBLIC, 8500), false);
    assert.equal(await portOpen(LB_PRIVATE, 8500), false);
    assert.equal(await onNode('lb1', 'curl -s -o /dev/null -w %{http_code} http://127.0.0.1:8500/v1/agent/self'), '403'); // ACLs: no token, no answer
  });

  it('2. a re-run changes nothing, and --check after it has nothing to do', async () => {
    const again = await apply(inventory);
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /No changes: 3 host\(s\)/);
    const check = await apply(inventory, '--check');
    assert.equal(check.code, 0);
    assert.match(check.stdout, /No changes: 3 host\(s\)/);
  });

  it('3. a stopped instance leaves the upstream; with none left nginx stays valid and answers 502 while other apps work', async () => {
    const both = [`${WEB.web1}:8081`, `${WEB.web2}:8081`];
    assert.deepEqual(await upstream('demo'), both);
    await onNode('web1', 'docker stop -t 1 demo-1');
    const gone = await waitFor('demo upstream after stopping web1', () => upstream('demo'), (u) => u.length === 1);
    assert.deepEqual(gone.value, [`${WEB.web2}:8081`]);
    console.log(`# instance left nginx's upstream ${gone.ms} ms after its container stopped`);
    await onNode('web2', 'docker stop -t 1 demo-1');
    await waitFor('demo upstream with no instance', () => upstream('demo'), (u) => u.length === 0);
    assert.match(await onNode('lb1', 'nginx -t 2>&1'), /test is successful/);
    assert.equal((await get('demo.lab.test')).status, 502);
    assert.equal((await get('secure.lab.test', { tls: true })).status, 200);
    await onNode('web1', 'docker start demo-1');
    await onNode('web2', 'docker start demo-1');
    const back = await waitFor('demo upstream after restarting both', () => upstream('demo'), (u) => u.length === 2);
    console.log(`# restarted instances were back in nginx's upstream after ${back.ms} ms`);
    // the file is written before consul-template's command has reloaded nginx
    await waitFor('demo answering again', async () => (await get('demo.lab.test')).status, (s) => s === 200, 5000);
  });

  it('4. changing an app setting changes only the files that depend on it and reloads (not restarts) nginx', async () => {
    const pid = await onNode('lb1', 'cat /run/nginx.pid');
    const doc = parseDocument(readFileSync(inventory, 'utf8'));
    doc.setIn(['all', 'vars', 'apps', 0, 'balance'], 'least_conn');
    writeFileSync(inventory, doc.toString());
    const res = await apply(inventory, '--output', 'json');
    assert.equal(res.code, 0, res.stdout);
    const changed = events(res.stdout).filter((e) => e.type === 'task:result' && e.status === 'changed');
    assert.deepEqual(
      changed.map((e) => `${e.host} ${e.task}`).sort(),
      ['lb1 consul-template template per app', 'lb1 reload consul-template'].sort(),
    );
    await waitFor('least_conn in demo.conf', () => onNode('lb1', 'cat /etc/nginx/conf.d/demo.conf'), (c) => c.includes('least_conn;'));
    assert.equal(await onNode('lb1', 'cat /run/nginx.pid'), pid, 'the nginx master process is the same: reloaded, not restarted');
    assert.equal((await get('demo.lab.test')).status, 200);
  });

  it('5. consul restarting on the LB or dying on a web node leaves nginx serving; the stack recovers', async () => {
    const load = steadyLoad('demo.lab.test', 2);
    await onNode('lb1', 'systemctl restart consul');
    await new Promise((r) => setTimeout(r, 5000));
    await onNode('web1', 'systemctl kill -s KILL consul');
    await new Promise((r) => setTimeout(r, 5000));
    const { total, failed } = await load.stop();
    assert.deepEqual(failed, [], `${failed.length} of ${total} requests failed`);
    await waitFor('consul back on web1', () => onNode('web1', 'systemctl is-active consul || true'), (s) => s === 'active', 60_000);
    await waitFor('both demo instances back', () => upstream('demo'), (u) => u.length === 2, 90_000);
    const results = await verifyUntilPassing(inventory, 90_000);
    assert.ok(allPassed(results), formatCheckTable(results));
  });

  it('a login user that is not root works through sudo, for facts and for changes', async () => {
    await onNode(
      'web1',
      'id deploy >/dev/null 2>&1 || useradd -m -s /bin/sh deploy; install -d -m 0700 -o deploy /home/deploy/.ssh; ' +
        'install -m 0600 -o deploy /root/.ssh/authorized_keys /home/deploy/.ssh/authorized_keys; ' +
        "echo 'deploy ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/deploy; chmod 0440 /etc/sudoers.d/deploy",
    );
    const doc = parseDocument(readFileSync(inventory, 'utf8'));
    doc.setIn(['all', 'children', 'web', 'hosts', 'web1', 'user'], 'deploy');
    const asDeploy = inventory.replace(/\.yaml$/, '-deploy.yaml');
    writeFileSync(asDeploy, doc.toString());
    const facts = await runCli(['facts', asDeploy, '--limit', 'web1', '--output', 'json']);
    assert.equal(facts.code, 0, facts.stderr);
    assert.equal(JSON.parse(facts.stdout).web1.user, 'deploy');
    assert.equal(JSON.parse(facts.stdout).web1.isRoot, false);
    // root-only files (consul.hcl is 0640 root:consul) are read through sudo: nothing to do
    const same = await apply(asDeploy, '--limit', 'web1');
    assert.equal(same.code, 0, same.stdout);
    assert.match(same.stdout, /No changes: 1 host/);
    await onNode('web1', 'rm /etc/consul.d/lab-demo.hcl');
    const fixed = await apply(asDeploy, '--limit', 'web1');
    assert.equal(fixed.code, 0, fixed.stdout);
    assert.match(fixed.stdout, /changed\s+web1\s+app registered in Consul/);
    assert.equal(await onNode('web1', 'stat -c %U:%G:%a /etc/consul.d/lab-demo.hcl'), 'root:consul:640');
  });

  it('6. under steady load, stopping and starting backends fails no request', async () => {
    const load = steadyLoad('demo.lab.test', 4);
    await new Promise((r) => setTimeout(r, 2000));
    await onNode('web1', 'docker stop -t 1 demo-1');
    await waitFor('web1 out of the upstream', () => upstream('demo'), (u) => u.length === 1);
    await onNode('web1', 'docker start demo-1');
    await waitFor('web1 back in the upstream', () => upstream('demo'), (u) => u.length === 2);
    await onNode('web2', 'docker stop -t 1 demo-1');
    await waitFor('web2 out of the upstream', () => upstream('demo'), (u) => u.length === 1);
    await onNode('web2', 'docker start demo-1');
    await waitFor('web2 back in the upstream', () => upstream('demo'), (u) => u.length === 2);
    await new Promise((r) => setTimeout(r, 2000));
    const { total, failed } = await load.stop();
    console.log(`# ${total} requests under load while backends stopped and started, ${failed.length} failed`);
    assert.ok(total > 50, `only ${total} requests were made`);
    assert.deepEqual(failed, []);
  });
});
