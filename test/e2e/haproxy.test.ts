/**
 * `load_balancer: haproxy` end to end on the local lab (1 lb + 2 web): fresh nodes bootstrapped
 * with HAProxy, whose backends follow Consul's DNS; containers reaching and leaving the backend
 * without a reload; 503 while other apps keep working; no failed request under backend churn;
 * then the LB switched to nginx and back under load, with the same measurements for nginx, so
 * the two are printed side by side from one run. Traffic goes only to the lab's own containers.
 *
 * The demo apps are registered the way the lab does it (registrator when the lab inventory
 * enables it, else Consul service definitions with an HTTP check); the extra container started
 * here is registered the same way.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseDocument } from 'yaml';
import { labAppsPlaybook, labDownCommand, labUpCommand } from '../../src/lab/commands.js';
import { ensureLabCertificate } from '../../src/lab/inventory.js';
import { defaultPlaybook } from '../../src/paths.js';
import { parseServersState, pushedSlots, upServers } from '../../src/verify/parse.js';
import { failureReport, runCli, slowestTasks } from '../helpers/cli.js';
import { onNode } from '../helpers/lab.js';
import { expectVerifyPasses, expectVerifyPassing } from '../helpers/lab-verify.js';
import { get, LB_PUBLIC, steadyLoad, waitFor, type LoadResult } from '../helpers/traffic.js';
import { haltAllLoads } from '../helpers/running-loads.js';
import { acmeIssuedOnHaproxy } from '../helpers/acme-scenarios.js';

const WEB = { web1: '172.30.20.51', web2: '172.30.20.52' };
// not 8083: the lab's acme app (LAB_ACME_APP) listens there
const EXTRA_PORT = 8084;

type Lb = 'haproxy' | 'nginx';
const measured: Record<Lb, { serveMs?: number; leaveMs?: number; churn?: LoadResult }> = { haproxy: {}, nginx: {} };
const switches: Array<{ to: Lb; load: LoadResult; runMs: number }> = [];

/** Instances the LB balances demo over right now: haproxy's servers up in its runtime API, nginx's rendered upstream. */
async function backends(lb: Lb, app = 'demo'): Promise<string[]> {
  if (lb === 'haproxy') {
    const state = await onNode('lb1', `echo 'show servers state ${app}' | socat stdio unix-connect:/run/haproxy/admin.sock`);
    return upServers(pushedSlots(parseServersState(state + '\n', app), app));
  }
  const conf = await onNode('lb1', `cat /etc/nginx/conf.d/${app}.conf`);
  return [...conf.matchAll(/^\s*server (\S+) max_fails/gm)].map((m) => m[1]!).filter((s) => s !== '127.0.0.1:65535').sort();
}

const apply = (inventory: string, ...args: string[]) => runCli([inventory, '--playbook', defaultPlaybook, '--playbook', labAppsPlaybook, ...args]);

function setVar(inventory: string, path: string[], value: unknown): void {
  const doc = parseDocument(readFileSync(inventory, 'utf8'));
  doc.setIn(path, value);
  writeFileSync(inventory, doc.toString());
}

describe('load_balancer: haproxy on the local lab', { timeout: 30 * 60_000 }, () => {
  afterEach(haltAllLoads);
  let inventory: string;
  let firstApplyAt: number | undefined;
  let registrator: boolean;
  let image: string;

  /** docker run of one more demo container on web1 (registered like the lab's), resolving once it is started and registered. */
  async function runExtra(): Promise<void> {
    await onNode('web1', `docker run -d --name demo-extra --hostname demo-extra -p ${EXTRA_PORT}:80 -e SERVICE_NAME=demo -e APP_NAME=demo ${image} >/dev/null`);
    if (registrator) return;
    const token = readFileSync(join(dirname(inventory), '.bootstrap', 'secrets', 'registrator_token'), 'utf8').trim();
    const definition =
      `service {\n  id = "demo-extra"\n  name = "demo"\n  address = "${WEB.web1}"\n  port = ${EXTRA_PORT}\n  token = "${token}"\n` +
      `  check {\n    id = "demo-extra-http"\n    http = "http://${WEB.web1}:${EXTRA_PORT}/health"\n    interval = "2s"\n    timeout = "1s"\n  }\n}\n`;
    await onNode('web1', `umask 027; cat > /etc/consul.d/lab-demo-extra.hcl <<'EOF'\n${definition}EOF\nchgrp consul /etc/consul.d/lab-demo-extra.hcl && systemctl reload consul`);
  }

  async function removeExtra(): Promise<void> {
    await onNode('web1', 'docker rm -f demo-extra >/dev/null 2>&1; if [ -e /etc/consul.d/lab-demo-extra.hcl ]; then rm -f /etc/consul.d/lab-demo-extra.hcl; systemctl reload consul; fi; true');
  }

  /** From `docker run` to a request through the LB answered by the new container, and from `docker rm` to it leaving the backend. */
  async function measureNewContainer(lb: Lb): Promise<void> {
    await removeExtra();
    const started = Date.now();
    await runExtra();
    await waitFor(`a request through ${lb} answered by the new container`, async () => {
      for (let i = 0; i < 3; i++) if (/host=demo-extra\b/.test((await get('demo.lab.test')).body)) return true;
      return false;
    }, (served) => served, 60_000);
    measured[lb].serveMs = Date.now() - started;
    assert.ok((await backends(lb)).includes(`${WEB.web1}:${EXTRA_PORT}`));
    const stopping = Date.now();
    await removeExtra();
    await waitFor(`the removed container out of ${lb}'s backend`, () => backends(lb), (b) => !b.includes(`${WEB.web1}:${EXTRA_PORT}`), 60_000);
    measured[lb].leaveMs = Date.now() - stopping;
  }

  /** Stops and starts each web node's demo container under steady load; every request must succeed. */
  async function churn(lb: Lb): Promise<void> {
    const load = steadyLoad('demo.lab.test', 4);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      for (const node of ['web1', 'web2'] as const) {
        await onNode(node, 'docker stop -t 1 demo-1');
        await waitFor(`${node} out of ${lb}'s backend`, () => backends(lb), (b) => b.length === 1);
        await onNode(node, 'docker start demo-1');
        await waitFor(`${node} back in ${lb}'s backend`, () => backends(lb), (b) => b.length === 2);
      }
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      measured[lb].churn = await load.stop();
    }
    const result = measured[lb].churn!;
    assert.ok(result.total > 50, `only ${result.total} requests were made`);
    assert.deepEqual(result.failed, [], `${result.failed.length} of ${result.total} requests failed under churn through ${lb}`);
  }

  /** Re-runs with another load_balancer under steady load: the run converges and says how long the ports were closed. */
  async function switchTo(lb: Lb): Promise<void> {
    setVar(inventory, ['all', 'vars', 'load_balancer'], lb);
    const load = steadyLoad('demo.lab.test', 2);
    const started = Date.now();
    const run = await apply(inventory); // resolves with the exit code, never throws: the load is always stopped
    const runMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 500));
    const result = await load.stop();
    assert.equal(run.code, 0, run.stdout.slice(-4000) + run.stderr);
    switches.push({ to: lb, load: result, runMs });
    const other = lb === 'haproxy' ? 'nginx' : 'haproxy';
    assert.equal(await onNode('lb1', `systemctl is-active ${lb}`), 'active');
    assert.equal(await onNode('lb1', `systemctl is-active ${other} || true`), 'inactive');
    assert.equal(await onNode('lb1', `systemctl is-enabled ${other} || true`), 'disabled');
    const leftovers = lb === 'haproxy'
      ? 'ls -d /etc/nginx/conf.d/00-bootstrap.conf /etc/nginx/conf.d/demo.conf /etc/nginx/tls /etc/consul-template /etc/systemd/system/consul-template.service 2>/dev/null || true'
      : 'ls -d /etc/haproxy/haproxy.cfg /etc/haproxy/certs.list /etc/haproxy/tls /etc/haproxy/acme /etc/haproxy/acme-challenge.map /etc/haproxy/servers /etc/haproxy/servers.hcl /etc/systemd/system/haproxy.service /etc/systemd/system/haproxy-servers.service 2>/dev/null || true';
    assert.equal(await onNode('lb1', leftovers), '', `files of ${other} left on lb1`);
    const again = await apply(inventory);
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /No changes: 3 host\(s\)/, 'the run after a switch changes nothing');
  }

  before(async () => {
    await labDownCommand();
    // the app `auto` has tls: acme from the lab's Pebble; certificates of a day (no renewal during the suite)
    inventory = await labUpCommand({ lb: 1, web: 2, acme: { validitySeconds: 86_400 } });
    setVar(inventory, ['all', 'vars', 'load_balancer'], 'haproxy');
    const vars = parseDocument(readFileSync(inventory, 'utf8')).toJS().all.vars;
    registrator = vars.registrator?.enabled !== false;
    image = vars.lab.app_image;
  });
  after(async () => {
    const row = (lb: Lb) => `# ${lb.padEnd(8)} docker run -> serving ${measured[lb].serveMs ?? '-'} ms, docker rm -> out of the backend ${measured[lb].leaveMs ?? '-'} ms, churn: ${measured[lb].churn ? `${measured[lb].churn!.failed.length} of ${measured[lb].churn!.total} requests failed` : '-'}`;
    console.log(`# registration: ${registrator ? 'registrator' : 'Consul service definitions (registrator disabled in the lab)'}`);
    console.log(row('haproxy'));
    console.log(row('nginx'));
    const reasons = (failed: string[]) => Object.entries(failed.reduce<Record<string, number>>((n, f) => ((n[f] = (n[f] ?? 0) + 1), n), {})).map(([f, n]) => `${n}x ${f}`).join(', ');
    for (const s of switches) console.log(`# switch to ${s.to}: run ${s.runMs} ms, ${s.load.failed.length} of ${s.load.total} requests failed (${reasons(s.load.failed)}), longest outage ${s.load.longestOutageMs} ms`);
    for (const lb of ['haproxy', 'nginx'] as const) if (measured[lb].churn?.failed.length) console.log(`# churn through ${lb}: ${reasons(measured[lb].churn!.failed)}`);
    if (!process.env.BOOTSTRAP_KEEP_LAB) await labDownCommand();
  });

  it('bootstraps fresh nodes with haproxy, and verify passes: servers up in the runtime API, HTTP and TLS over every backend', async () => {
    let t = Date.now();
    firstApplyAt = t;
    const first = await apply(inventory, '--output', 'json');
    assert.equal(first.code, 0, failureReport(first.stdout) + first.stderr);
    const applied = Date.now() - t;
    console.log(`# first bootstrap with haproxy: slowest tasks ${slowestTasks(first.stdout)}`);
    t = Date.now();
    await expectVerifyPassing(inventory, 120_000);
    console.log(`# first bootstrap with haproxy ${(applied / 1000).toFixed(1)} s, verify passing ${((Date.now() - t) / 1000).toFixed(1)} s after`);
    const verify = await expectVerifyPasses(inventory);
    assert.match(verify.stdout, /haproxy servers\s+lb1\s+demo\s+up: exactly 172\.30\.20\.51:8081, 172\.30\.20\.52:8081/);
    assert.match(verify.stdout, /service haproxy\s+lb1/);
    assert.doesNotMatch(verify.stdout, /consul-template|nginx/);
    assert.equal(await onNode('lb1', 'systemctl is-active nginx consul-template || true'), 'inactive\ninactive');
    assert.equal(await onNode('lb1', 'stat -c %a /run/haproxy/admin.sock /etc/haproxy/tls/secure.pem /etc/haproxy/tls/secure.pem.key'), '600\n600\n600');
  });

  acmeIssuedOnHaproxy({ lbs: ['lb1'], publicAddress: { lb1: LB_PUBLIC }, inventory: () => inventory, apply, firstApplyStartedAt: () => firstApplyAt });

  it('routes by Host: balancing over both backends, 301 and HSTS for the TLS app, 404 for an unknown host', async () => {
    const hosts = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const a = await get('demo.lab.test');
      assert.equal(a.status, 200);
      hosts.add(/host=(\S+)/.exec(a.body)?.[1] ?? '?');
    }
    assert.equal(hosts.size, 2, `backends seen: ${[...hosts].join(', ')}`);
    const redirect = await get('secure.lab.test', { path: '/a?b=1' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.location, 'https://secure.lab.test/a?b=1');
    const tls = await get('secure.lab.test', { tls: true });
    assert.equal(tls.status, 200);
    assert.match(tls.body, /app=secure/);
    assert.equal(tls.headers['strict-transport-security'], 'max-age=31536000');
    assert.equal((await get('nobody.lab.test')).status, 404);
    assert.equal((await get('nobody.lab.test', { tls: true })).status, 404);
  });

  it('announces no version: not its own, and not the Server header a backend sends', async () => {
    // a CGI page of the demo apps that names its server and version (busybox httpd runs /cgi-bin/*)
    const addCgi = (node: string, container: string) => onNode(node, [
      `docker exec -i ${container} /bin/busybox sh -c '/bin/busybox mkdir -p /www/cgi-bin && /bin/busybox cat > /www/cgi-bin/version && /bin/busybox chmod 755 /www/cgi-bin/version' <<'EOF'`,
      '#!/bin/sh',
      "printf 'Server: demo-app/1.2.3\\r\\nContent-Type: text/plain\\r\\n\\r\\nversioned\\n'",
      'EOF',
    ].join('\n'));
    for (const node of ['web1', 'web2']) for (const container of ['demo-1', 'secure-1']) await addCgi(node, container);
    const direct = await onNode('web1', `curl -fsS -D - -o /dev/null http://${WEB.web1}:8081/cgi-bin/version`);
    assert.match(direct, /^Server: demo-app\/1\.2\.3\r?$/m, 'the backend itself sends its version');
    for (const tls of [false, true]) {
      const host = tls ? 'secure.lab.test' : 'demo.lab.test';
      const through = await get(host, { tls, path: '/cgi-bin/version' });
      assert.equal(through.status, 200);
      assert.equal(through.body, 'versioned\n');
      assert.equal(through.headers.server, undefined, `${host}: the backend's Server header passes haproxy`);
    }
    // haproxy's own pages (the 404 of an unknown host, a 503 is checked below) carry no version
    const unknown = await get('nobody.lab.test');
    assert.equal(unknown.headers.server, undefined);
    assert.doesNotMatch(unknown.body, /haproxy|\d+\.\d+\.\d+/i);
  });

  it('a re-run changes nothing', async () => {
    const again = await apply(inventory);
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /No changes: 3 host\(s\)/);
  });

  it('containers reach and leave the backend without a reload; with none left the app answers 503 while the other works', async () => {
    const master = await onNode('lb1', 'systemctl show -p MainPID --value haproxy');
    const workers = await onNode('lb1', `pgrep -P ${master} | sort | tr '\\n' ' '`);
    await measureNewContainer('haproxy');
    await onNode('web1', 'docker stop -t 1 demo-1');
    await onNode('web2', 'docker stop -t 1 demo-1');
    await waitFor('demo with no server up', () => backends('haproxy'), (b) => b.length === 0);
    const unavailable = await waitFor('demo answering 503', () => get('demo.lab.test'), (a) => a.status === 503, 10_000);
    assert.equal(unavailable.value.headers.server, undefined);
    assert.doesNotMatch(unavailable.value.body, /haproxy\/?\s*\d|version/i, 'haproxy\'s 503 page names a version');
    assert.equal((await get('secure.lab.test', { tls: true })).status, 200);
    await onNode('web1', 'docker start demo-1');
    await onNode('web2', 'docker start demo-1');
    await waitFor('both demo instances back', () => backends('haproxy'), (b) => b.length === 2);
    assert.equal((await get('demo.lab.test')).status, 200);
    assert.equal(await onNode('lb1', `pgrep -P ${master} | sort | tr '\\n' ' '`), workers, 'the same haproxy workers: nothing reloaded');
  });

  it('under steady load, stopping and starting backends fails no request (haproxy)', async () => {
    await churn('haproxy');
  });

  it('switches the live LB to nginx under load; the same measurements for nginx', async () => {
    await switchTo('nginx');
    await expectVerifyPassing(inventory, 90_000);
    await measureNewContainer('nginx');
    await churn('nginx');
  });

  it('switches back to haproxy under load, and verify passes', async () => {
    await switchTo('haproxy');
    await expectVerifyPassing(inventory, 90_000);
  });

  it('adding an HTTP and a TLS app under load: served once their containers run; removed: 404 and their files gone', async () => {
    assert.ok(registrator, 'the lab registers containers with registrator');
    const original = readFileSync(inventory, 'utf8');
    const cert = await ensureLabCertificate(dirname(inventory), 'shop.lab.test');
    const doc = parseDocument(original);
    doc.addIn(['all', 'vars', 'apps'], { name: 'blog', server_name: ['blog.lab.test'] });
    doc.addIn(['all', 'vars', 'apps'], { name: 'shop', server_name: ['shop.lab.test'], tls: { cert: relative(dirname(inventory), cert.cert), key: relative(dirname(inventory), cert.key) } });
    writeFileSync(inventory, doc.toString());
    const underLoad = async () => {
      const load = steadyLoad('demo.lab.test', 3);
      const res = await apply(inventory);
      const { total, failed } = await load.stop();
      assert.equal(res.code, 0, res.stdout.slice(-4000));
      assert.deepEqual(failed, [], `${failed.length} of ${total} requests failed`);
      return total;
    };
    const added = await underLoad();
    const run = (node: string, app: string) => onNode(node, `docker run -d --name ${app}-1 -p 80 -e APP_NAME=${app} -e SERVICE_NAME=${app} ${image} >/dev/null`);
    await run('web1', 'blog');
    await run('web2', 'shop');
    await waitFor('blog served', () => get('blog.lab.test').catch(() => undefined), (a) => a?.status === 200 && a.body.includes('app=blog'), 30_000);
    await waitFor('shop served over TLS', () => get('shop.lab.test', { tls: true }).catch(() => undefined), (a) => a?.status === 200 && a.body.includes('app=shop'), 30_000);
    writeFileSync(inventory, original);
    const removed = await underLoad();
    console.log(`# haproxy: apps added with ${added}, removed with ${removed} requests through the LB meanwhile, none failed`);
    assert.equal((await get('blog.lab.test')).status, 404);
    assert.equal((await get('shop.lab.test')).status, 404);
    assert.doesNotMatch(await onNode('lb1', 'ls /etc/haproxy/tls/; cat /etc/haproxy/haproxy.cfg /etc/haproxy/certs.list'), /blog|shop/);
    await onNode('web1', 'docker rm -f blog-1');
    await onNode('web2', 'docker rm -f shop-1');
  });
});
