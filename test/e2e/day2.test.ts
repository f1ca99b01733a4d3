/**
 * Day-2 operations on the local lab, each done as docs/day-2.md tells a user: edit
 * the inventory (or grow the lab), re-run, while a client sends requests through lb1 to an app
 * that is not being changed. None of them may fail. The lab starts small (1 LB, 2 web nodes) on
 * the consul and consul-template releases before the pinned ones, and grows; the scenarios run
 * in order on it. Traffic goes only to the lab's containers.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { parse, parseDocument } from 'yaml';
import { labAppsPlaybook, labDownCommand, labUpCommand, type LabUpOptions } from '../../src/lab/commands.js';
import { DEMO_APP_IMAGE } from '../../src/lab/app-image.js';
import { docker } from '../../src/lab/docker-engine.js';
import { ensureReleaseArtifacts } from '../../src/lab/artifacts.js';
import { ensureLabCertificate } from '../../src/lab/inventory.js';
import { CONSUL_TEMPLATE_VERSION, CONSUL_VERSION, PREVIOUS_CONSUL_TEMPLATE_VERSION, PREVIOUS_CONSUL_VERSION } from '../../src/lab/versions.js';
import { defaultPlaybook } from '../../src/paths.js';
import { events, failureReport, runCli, slowestTasks, type CliResult } from '../helpers/cli.js';
import { onNode } from '../helpers/lab.js';
import { expectVerifyPassing } from '../helpers/lab-verify.js';
import { leaderSampler } from '../helpers/leader-sampler.js';
import { LB_PUBLIC, get, steadyLoad, upstream, waitFor } from '../helpers/traffic.js';
import { haltAllLoads } from '../helpers/running-loads.js';

const openssl = (...args: string[]) => promisify(execFile)('openssl', args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PRIVATE = { web1: '172.30.20.51', web2: '172.30.20.52', web3: '172.30.20.53' };
const PUBLIC = { lb1: LB_PUBLIC, lb2: '172.30.10.12', lb3: '172.30.10.13' };

const apply = (inventory: string, ...args: string[]) => runCli([inventory, '--playbook', defaultPlaybook, '--playbook', labAppsPlaybook, ...args]);

/** A container of an app, run as docs/stack.md "Adding an app" says: published port, SERVICE_NAME, a health check. */
const runApp = (name: string, app: string) =>
  `docker run -d --name ${name} -p 80 -e APP_NAME=${app} -e SERVICE_NAME=${app} -e SERVICE_CHECK_HTTP=/health -e SERVICE_CHECK_INTERVAL=1s -e SERVICE_CHECK_TIMEOUT=1s ${DEMO_APP_IMAGE}`;

function editInventory(inventory: string, edit: (doc: ReturnType<typeof parseDocument>) => void): void {
  const doc = parseDocument(readFileSync(inventory, 'utf8'));
  edit(doc);
  writeFileSync(inventory, doc.toString());
}

/** The certificate an LB serves for a TLS server name, as its SHA-256 fingerprint. */
function servedFingerprint(serverName: string, address = LB_PUBLIC): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: address, port: 443, servername: serverName, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate()!.fingerprint256);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

/** Consul's members as a server sees them: name -> serf status (1 alive, 3 left, 4 failed). */
async function members(lb = 'lb1'): Promise<Record<string, number>> {
  const json = await onNode(lb, 'curl -fsS -H @/etc/consul/management.header http://127.0.0.1:8500/v1/agent/members');
  return Object.fromEntries((JSON.parse(json) as Array<{ Name: string; Status: number }>).map((m) => [m.Name, m.Status]));
}

async function raftVoters(lb = 'lb1'): Promise<string[]> {
  const json = await onNode(lb, 'curl -fsS --max-time 2 -H @/etc/consul/management.header http://127.0.0.1:8500/v1/operator/raft/configuration');
  return (JSON.parse(json) as { Servers: Array<{ Node: string; Voter: boolean }> }).Servers.filter((s) => s.Voter).map((s) => s.Node).sort();
}

const nginxMaster = () => onNode('lb1', 'cat /run/nginx.pid');

describe('day-2 operations on the local lab, each under load', { timeout: 75 * 60_000 }, () => {
  afterEach(haltAllLoads);
  let inventory: string;
  /** The lab as the scenarios grew it; `lab up` writes the inventory anew, so the suite's own edits are made again after it. */
  const lab: LabUpOptions = { lb: 1, web: 2 };
  let pinned = true;

  const pinVersions = () =>
    editInventory(inventory, (doc) => {
      doc.setIn(['all', 'vars', 'consul', 'version'], PREVIOUS_CONSUL_VERSION);
      doc.setIn(['all', 'vars', 'consul_template', 'version'], PREVIOUS_CONSUL_TEMPLATE_VERSION);
    });
  const labUp = async (counts: { lb: number; web: number }) => {
    Object.assign(lab, counts);
    inventory = await labUpCommand(lab);
    if (pinned) pinVersions();
  };

  /**
   * Runs `change` (a re-run) while 3 clients send requests for `host` through lb1, prints the
   * scenario's run time and request counts, and fails on any failed request.
   */
  async function underLoad(scenario: string, host: string, change: () => Promise<CliResult>, opts: { tls?: boolean } = {}): Promise<CliResult> {
    const load = steadyLoad(host, 3, { tls: opts.tls });
    await sleep(500);
    const t0 = Date.now();
    const res = await change();
    const ms = Date.now() - t0;
    await sleep(500);
    const { total, failed } = await load.stop();
    const slowest = res.stdout.trimStart().startsWith('{') ? slowestTasks(res.stdout) : '';
    console.log(`# ${scenario}: run ${(ms / 1000).toFixed(1)} s; ${total} requests for ${host} through lb1, ${failed.length} failed${slowest ? `; slowest tasks ${slowest}` : ''}`);
    assert.equal(res.code, 0, res.stdout.slice(-5000) + res.stderr);
    assert.ok(total > 10, `only ${total} requests were made`);
    assert.deepEqual(failed, [], `${failed.length} of ${total} requests failed`);
    return res;
  }

  before(async () => {
    await labDownCommand();
    await ensureReleaseArtifacts(true);
    await labUp({ lb: 1, web: 2 });
  });
  after(async () => {
    if (!process.env.BOOTSTRAP_KEEP_LAB) await labDownCommand();
  });

  it('0. the small lab bootstraps on the previous releases and verify passes', async () => {
    const t = Date.now();
    const first = await apply(inventory, '--output', 'json');
    assert.equal(first.code, 0, failureReport(first.stdout) + first.stderr);
    console.log(`# first bootstrap ${((Date.now() - t) / 1000).toFixed(1)} s; slowest tasks ${slowestTasks(first.stdout)}`);
    await expectVerifyPassing(inventory, 120_000);
    assert.match(await onNode('lb1', '/usr/local/bin/consul-template -version 2>&1'), new RegExp(`v${PREVIOUS_CONSUL_TEMPLATE_VERSION.replace(/\./g, '\\.')}`));
    assert.equal(await onNode('lb1', 'consul version | head -n 1'), `Consul v${PREVIOUS_CONSUL_VERSION}`);
  });

  it('1. adding an HTTP app and a TLS app: served once their containers run; removing them: 404 and no file of theirs left', async () => {
    const dir = dirname(inventory);
    const cert = await ensureLabCertificate(dir, 'shop.lab.test');
    const pid = await nginxMaster();
    editInventory(inventory, (doc) => {
      doc.addIn(['all', 'vars', 'apps'], { name: 'blog', server_name: ['blog.lab.test'] });
      doc.addIn(['all', 'vars', 'apps'], { name: 'shop', server_name: ['shop.lab.test'], tls: { cert: 'tls/shop.lab.test.crt', key: 'tls/shop.lab.test.key' } });
    });
    await underLoad('add an HTTP and a TLS app', 'demo.lab.test', () => apply(inventory, '--output', 'json'));
    assert.equal(await nginxMaster(), pid, 'nginx reloaded, not restarted');
    assert.match(await onNode('lb1', 'ls /etc/nginx/conf.d/'), /blog\.conf[\s\S]*shop\.conf/);
    await onNode('web1', runApp('blog-1', 'blog'));
    await onNode('web2', runApp('shop-1', 'shop'));
    const blog = await waitFor('blog served', () => get('blog.lab.test').catch(() => undefined), (a) => a?.status === 200 && a.body.includes('app=blog'));
    const shop = await waitFor('shop served over TLS', () => get('shop.lab.test', { tls: true }).catch(() => undefined), (a) => a?.status === 200 && a.body.includes('app=shop'));
    assert.equal((await get('shop.lab.test')).status, 301);
    assert.equal(await servedFingerprint('shop.lab.test'), new X509Certificate(readFileSync(cert.cert)).fingerprint256);
    console.log(`# new apps served ${blog.ms} ms (HTTP) and ${shop.ms} ms (TLS) after their containers were started`);

    // a renewal: new key and certificate in the same files
    await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '90', '-subj', '/CN=shop.lab.test', '-addext', 'subjectAltName=DNS:shop.lab.test', '-keyout', cert.key, '-out', cert.cert);
    const renewed = new X509Certificate(readFileSync(cert.cert)).fingerprint256;
    const res = await underLoad('replace the TLS app\'s certificate and key', 'demo.lab.test', () => apply(inventory, '--output', 'json'));
    const changed = events(res.stdout).filter((e) => e.type === 'task:result' && e.status === 'changed').map((e) => `${e.host} ${e.task}`);
    assert.deepEqual(changed.sort(), ['lb1 TLS certificate per app', 'lb1 TLS key per app', 'lb1 reload nginx'].sort());
    assert.equal(await servedFingerprint('shop.lab.test'), renewed);
    assert.equal(await nginxMaster(), pid, 'nginx reloaded, not restarted');

    editInventory(inventory, (doc) => {
      const apps = doc.getIn(['all', 'vars', 'apps']) as { items: Array<{ get(k: string): unknown }> };
      apps.items = apps.items.filter((a) => !['blog', 'shop'].includes(a.get('name') as string));
    });
    await underLoad('remove both apps', 'demo.lab.test', () => apply(inventory, '--output', 'json'));
    const leftovers = () => onNode('lb1', 'ls /etc/nginx/conf.d/ /etc/consul-template/templates/ /etc/nginx/tls/; grep -l "blog\\|shop" /etc/consul-template/config.hcl || true');
    assert.doesNotMatch(await leftovers(), /blog|shop/);
    assert.equal((await get('blog.lab.test')).status, 404);
    assert.equal((await get('shop.lab.test')).status, 404);
    // their containers going away changes consul; a consul-template still holding their templates would render them again
    await onNode('web1', 'docker rm -f blog-1');
    await onNode('web2', 'docker rm -f shop-1');
    await waitFor('blog and shop gone from consul', () => onNode('lb1', 'curl -fsS -H @/etc/consul/management.header http://127.0.0.1:8500/v1/catalog/services'), (s) => !/"blog"|"shop"/.test(s));
    await sleep(6000); // consul-template's wait max is 5 s: any render the change caused has happened
    assert.doesNotMatch(await leftovers(), /blog|shop/);
  });

  it('2. changing an app\'s balance and keepalive reloads nginx and nothing else', async () => {
    const pid = await nginxMaster();
    const ctPid = await onNode('lb1', 'systemctl show -p MainPID --value consul-template');
    editInventory(inventory, (doc) => {
      doc.setIn(['all', 'vars', 'apps', 0, 'balance'], 'least_conn');
      doc.setIn(['all', 'vars', 'apps', 0, 'keepalive'], 16);
    });
    const res = await underLoad('change balance and keepalive', 'secure.lab.test', () => apply(inventory, '--output', 'json'), { tls: true });
    const changed = events(res.stdout).filter((e) => e.type === 'task:result' && e.status === 'changed').map((e) => `${e.host} ${e.task}`);
    assert.deepEqual(changed.sort(), ['lb1 consul-template template per app', 'lb1 consul-template reads its new templates and configuration'].sort());
    await waitFor('least_conn and keepalive 16 in demo.conf', () => onNode('lb1', 'cat /etc/nginx/conf.d/demo.conf'), (c) => c.includes('least_conn;') && /keepalive 16;/.test(c));
    assert.equal(await nginxMaster(), pid, 'nginx reloaded, not restarted');
    assert.equal(await onNode('lb1', 'systemctl show -p MainPID --value consul-template'), ctPid, 'consul-template reloaded, not restarted');
  });

  it('3. a third web node: one re-run, and its registrator registers its containers, which are served', async () => {
    await labUp({ lb: 1, web: 3 });
    await underLoad('add web3', 'demo.lab.test', () => apply(inventory, '--output', 'json'));
    const served = await waitFor('web3 in the demo upstream', () => upstream('demo'), (u) => u.includes(`${PRIVATE.web3}:8081`));
    assert.deepEqual(served.value, [`${PRIVATE.web1}:8081`, `${PRIVATE.web2}:8081`, `${PRIVATE.web3}:8081`]);
    const id = await onNode('web3', runApp('extra-1', 'demo'));
    await waitFor('web3\'s extra container answers through the LB', async () => {
      for (let i = 0; i < 12; i++) if ((await get('demo.lab.test')).body.includes(`host=${id.slice(0, 12)}`)) return true;
      return false;
    }, (ok) => ok);
    assert.match(await onNode('lb1', 'curl -fsS -H @/etc/consul/management.header http://127.0.0.1:8500/v1/catalog/service/demo'), /"ServiceID":"web3:extra-1:80"/);
  });

  it('4. retiring web3 (bootstrap retire --limit web3): out of every upstream first, then registrator stops and consul leaves; out of the inventory, verify passes', async () => {
    const res = await underLoad('retire web3', 'demo.lab.test', () => runCli(['retire', inventory, '--limit', 'web3']));
    assert.doesNotMatch(res.stdout, /changed\s+(lb1|web1|web2)\b/, 'only web3 changes');
    assert.deepEqual(await upstream('demo'), [`${PRIVATE.web1}:8081`, `${PRIVATE.web2}:8081`]);
    assert.equal((await members()).web3, 3, 'web3 left the cluster (serf status 3), not failed');
    assert.equal(await onNode('web3', 'systemctl is-active registrator consul || true'), 'inactive\ninactive');
    assert.equal(await onNode('web3', 'systemctl is-enabled registrator consul || true'), 'disabled\ndisabled');
    // the host is gone, and so is it from the inventory
    await docker(['rm', '-f', '-v', 'bootstrap-lab-web3']);
    await labUp({ lb: 1, web: 2 });
    const again = await apply(inventory);
    assert.equal(again.code, 0, again.stdout.slice(-4000));
    assert.match(again.stdout, /No changes: 3 host\(s\)/);
    await expectVerifyPassing(inventory, 60_000);
  });

  it('5. a blank replacement of web2 under the same name converges in one run, and verify passes', async () => {
    await docker(['rm', '-f', '-v', 'bootstrap-lab-web2']);
    await waitFor('web2 out of the upstream', () => upstream('demo'), (u) => !u.includes(`${PRIVATE.web2}:8081`), 60_000);
    await labUp(lab);
    await underLoad('blank web2 replaced', 'demo.lab.test', () => apply(inventory, '--output', 'json'));
    await waitFor('web2 back in the upstream', () => upstream('demo'), (u) => u.includes(`${PRIVATE.web2}:8081`), 60_000);
    await expectVerifyPassing(inventory, 90_000);
  });

  it('6. a blank replacement of the only LB (the only consul server) converges in one run, and verify passes', async () => {
    await docker(['rm', '-f', '-v', 'bootstrap-lab-lb1']);
    await labUp(lab);
    const t0 = Date.now();
    const res = await apply(inventory, '--output', 'json');
    console.log(`# blank lb1 replaced: run ${((Date.now() - t0) / 1000).toFixed(1)} s (no load: it is the only LB); slowest tasks ${slowestTasks(res.stdout)}`);
    assert.equal(res.code, 0, res.stdout.slice(-5000));
    await expectVerifyPassing(inventory, 120_000);
  });

  it('7. growing from 1 LB to 3 on the live stack: 3 voters and a leader, every LB serves, lb1 serves throughout', async () => {
    await labUp({ lb: 3, web: 2 });
    await underLoad('grow to 3 LBs', 'demo.lab.test', () => apply(inventory, '--output', 'json'));
    const voters = await waitFor('3 raft voters', () => raftVoters().catch(() => []), (v) => v.length === 3, 120_000);
    assert.deepEqual(voters.value, ['lb1', 'lb2', 'lb3']);
    for (const address of Object.values(PUBLIC)) assert.equal((await get('demo.lab.test', { address })).status, 200, `${address} serves demo`);
    await expectVerifyPassing(inventory, 120_000);
  });

  it('8. then 5 consul servers (consul_servers: the 3 LBs and both web nodes): 5 voters and a leader', async () => {
    editInventory(inventory, (doc) => {
      doc.setIn(['all', 'children', 'consul_servers'], { hosts: { lb1: null, lb2: null, lb3: null, web1: null, web2: null } });
    });
    await underLoad('grow to 5 consul servers', 'demo.lab.test', () => apply(inventory, '--output', 'json'));
    const voters = await waitFor('5 raft voters', () => raftVoters().catch(() => []), (v) => v.length === 5, 120_000);
    assert.deepEqual(voters.value, ['lb1', 'lb2', 'lb3', 'web1', 'web2']);
    assert.match(await onNode('lb1', 'curl -s http://127.0.0.1:8500/v1/status/leader'), /:8300/);
    await expectVerifyPassing(inventory, 120_000);
  });

  it('9. upgrading consul and consul-template, servers one at a time under load: no request fails, leadership is handed over, verify passes', async () => {
    const multiplier = (parse(readFileSync(inventory, 'utf8')).all.vars.consul_raft_multiplier as number | undefined) ?? 1;
    const electionTimeoutMs = 1000 * multiplier;
    pinned = false;
    editInventory(inventory, (doc) => {
      doc.deleteIn(['all', 'vars', 'consul', 'version']);
      doc.deleteIn(['all', 'vars', 'consul_template', 'version']);
    });
    const servers = ['lb1', 'lb2', 'lb3', 'web1', 'web2'];
    const sampler = leaderSampler(servers, 900);
    let sampled: ReturnType<ReturnType<typeof leaderSampler>['stop']> | undefined;
    try {
      await underLoad('upgrade consul and consul-template', 'demo.lab.test', () => apply(inventory, '--output', 'json'));
    } finally {
      sampled = sampler.stop();
    }
    console.log(`# upgrade: longest leaderless ${sampled.longestLeaderlessMs} ms (election timeout ${electionTimeoutMs} ms, ${sampled.samples} samples, leaders seen ${sampled.leaders.join(', ')})`);
    assert.ok(sampled.samples > 30, 'the sampler sampled');
    // a leader that leaves hands leadership over; without a leader for two election timeouts, no handover happened
    assert.ok(sampled.longestLeaderlessMs < 2 * electionTimeoutMs, `no leader for ${sampled.longestLeaderlessMs} ms`);
    for (const node of servers) {
      assert.equal(await onNode(node, 'consul version | head -n 1'), `Consul v${CONSUL_VERSION}`, `${node} runs the new consul`);
      if (!node.startsWith('lb')) continue;
      assert.match(await onNode(node, '/usr/local/bin/consul-template -version 2>&1'), new RegExp(`v${CONSUL_TEMPLATE_VERSION.replace(/\./g, '\\.')}`), `${node} runs the new consul-template`);
      assert.equal(await onNode(node, 'systemctl is-active consul-template'), 'active');
    }
    await expectVerifyPassing(inventory, 120_000);
  });
});
