import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { loadInventory } from '../../src/stack/inventory.js';
import { ensureConsulBinary, ensureConsulTemplateBinary } from '../../src/lab/go-builds.js';
import { startPebble, type RunningPebble } from '../../src/lab/pebble.js';
import { DEBIAN_12, factsFor, fakeSecret, freePort, renderHostFiles, run, startDevConsul, type DevConsul } from '../golden/stack-harness.js';
import { installAcmeAclTokens, writeAcmeInventory } from '../helpers/acme-loopback.js';

/*
 * tls: acme on an haproxy LB, on loopback with the real pieces: Pebble (with challtestsrv's DNS
 * pointing the app's names at loopback), certbot driven by the rendered acme-renew under `consul
 * lock`, a consul agent with ACLs and the stack's policies, haproxy (master-worker) with the
 * rendered haproxy.cfg answering the HTTP-01 challenges from Consul KV, and haproxy-servers (the
 * real consul-template with the rendered servers.hcl) running the rendered acme-install, which
 * hands the certificate to haproxy's runtime API. Before the first order the app presents the
 * placeholder and answers 503; the certificate is then issued through haproxy, served with a
 * chain to Pebble's root, and replaced on renewal under load with no failed request and no reload.
 */

const NAMES = ['shop.acme.test', 'www.shop.acme.test'];
const APP = 'shop';

let work: string;
let hdir: string;
let bin: string;
let sock: string;
let agent: DevConsul;
let pebble: RunningPebble | undefined;
let haproxy: ChildProcess | undefined;
let consulTemplate: ChildProcess | undefined;
let ctOutput = '';
let ports: { http: number; https: number };
let env: NodeJS.ProcessEnv;
let backend: Server;
let root: string;

const renew = (...args: string[]) => run([join(bin, 'acme-renew'), ...args], { env });
const api = async (command: string) => (await run(['socat', '-t', '5', 'stdio', `unix-connect:${sock}`], { input: `${command}\n` })).stdout;
const workerPid = async () => /^Pid: (\d+)$/m.exec(await api('show info'))?.[1];
const kvCert = async () => {
  const r = await agent.api('GET', `/v1/kv/acme/certs/${APP}?raw`);
  return r.status === 200 ? r.text : undefined;
};
const leafOf = (pemText: string) => new X509Certificate(pemText.slice(pemText.indexOf('-----BEGIN CERTIFICATE-----')));

interface Answer {
  status: number;
  body: string;
  location?: string;
  fingerprint?: string;
  subject?: string;
  /** whether the presented chain verifies against Pebble's root for the name (https only) */
  authorized?: boolean;
}

/** One request to haproxy on loopback with Host (and SNI) `name`; node:http, as fetch sends the URL's host. */
function ask(scheme: 'http' | 'https', path = '/', name = NAMES[0]!): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port: scheme === 'https' ? ports.https : ports.http, path, headers: { Host: name, Connection: 'close' }, agent: false as const, timeout: 5000 };
    const req = scheme === 'https' ? httpsRequest({ ...options, servername: name, ca: root, rejectUnauthorized: false }) : httpRequest(options);
    req.on('response', (res) => {
      const socket = res.socket as TLSSocket;
      const cert = scheme === 'https' ? socket.getPeerCertificate() : undefined;
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body,
          location: typeof res.headers.location === 'string' ? res.headers.location : undefined,
          fingerprint: cert?.fingerprint256,
          subject: cert?.subject?.CN as string | undefined,
          authorized: scheme === 'https' ? socket.authorized : undefined,
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('no answer from haproxy within 5 s')));
    req.on('error', reject);
    req.end();
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nconsul-template (haproxy-servers):\n${ctOutput.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  const [consul, ctBinary] = [await ensureConsulBinary(), await ensureConsulTemplateBinary()];
  work = mkdtempSync(join(tmpdir(), 'stack-haproxy-acme-'));
  hdir = join(work, 'haproxy');
  bin = join(work, 'bin');
  const etc = join(work, 'etc');
  sock = join(work, 'admin.sock');
  for (const d of [hdir, join(hdir, 'tls'), join(hdir, 'acme'), join(hdir, 'servers'), bin]) mkdirSync(d, { recursive: true });
  mkdirSync(etc, { mode: 0o700 });

  agent = await startDevConsul(consul, work, { dns: true });
  assert.equal((await agent.api('PUT', '/v1/agent/token/agent', { Token: agent.managementToken })).status, 200);
  // DNS queries carry no token: the stack gives LB agents a read-only default token (bootstrap-dns)
  assert.equal((await agent.api('PUT', '/v1/agent/token/default', { Token: agent.managementToken })).status, 200);
  // the stack's own ACL policies and tokens (playbooks/common.yml), with the secrets the files are rendered with
  await installAcmeAclTokens(agent);

  // the app's one instance, registered in Consul as registrator would
  backend = createServer((_req, res) => res.end('shop backend\n'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
  const backendAddress = backend.address();
  const backendPort = typeof backendAddress === 'object' && backendAddress ? backendAddress.port : 0;
  assert.equal((await agent.api('PUT', '/v1/agent/service/register', { Name: APP, ID: `web1:${APP}`, Address: '127.0.0.1', Port: backendPort })).status, 200);

  ports = { http: await freePort(), https: await freePort() };
  pebble = await startPebble({
    bindAddress: '127.0.0.1',
    ports: { acme: await freePort(), management: await freePort(), dns: await freePort(), dnsManagement: await freePort() },
    httpPort: ports.http,
    validitySeconds: 86_400,
    defaultIPv4: '127.0.0.1',
    dir: join(work, 'pebble'),
  });
  root = await pebble.rootCertificate();

  // the LB's files, rendered from an inventory that points acme at this Pebble
  const inventoryFile = writeAcmeInventory(work, pebble, APP, NAMES, '    load_balancer: haproxy\n');
  const files = new Map(renderHostFiles(loadInventory(inventoryFile), 'lb1', factsFor(DEBIAN_12)).map((f) => [f.dest, f.content]));
  const rendered = (dest: string) => {
    const content = files.get(dest);
    assert.ok(content !== undefined, `rendered ${dest}`);
    return content;
  };
  // moved to the work directory and loopback ports; root-only settings (user, chroot) left out
  const move = (text: string) =>
    text
      .replaceAll('/run/haproxy/admin.sock', sock)
      .replaceAll('/var/lib/haproxy/server-state', join(work, 'server-state'))
      .replaceAll('/etc/haproxy/', `${hdir}/`)
      .replaceAll('/usr/local/lib/bootstrap/', `${bin}/`)
      .replaceAll('127.0.0.1:8500', `127.0.0.1:${agent.httpPort}`)
      .replaceAll('127.0.0.1:8600', `127.0.0.1:${agent.dnsPort}`)
      .replace(/^    bind :80$/m, `    bind 127.0.0.1:${ports.http}`)
      .replace(/^    bind :443 /m, `    bind 127.0.0.1:${ports.https} `)
      .replace(/^    (user|group|chroot) .*\n/gm, '');
  const script = (name: string, content: string) => {
    writeFileSync(join(bin, name), content);
    chmodSync(join(bin, name), 0o755);
  };
  script('acme-renew', rendered('/usr/local/lib/bootstrap/acme-renew'));
  script('acme-install', rendered('/usr/local/lib/bootstrap/acme-install'));
  script('haproxy-servers', move(rendered('/usr/local/lib/bootstrap/haproxy-servers')));
  script('consul', `#!/bin/sh\nexec ${consul} "$@"\n`);
  writeFileSync(join(etc, 'consul.token'), rendered('/etc/bootstrap/acme/consul.token'), { mode: 0o600 });
  writeFileSync(join(etc, 'consul.header'), rendered('/etc/bootstrap/acme/consul.header'), { mode: 0o600 });
  copyFileSync(pebble.caBundle, join(etc, 'ca.pem'));
  for (const dest of ['/etc/haproxy/haproxy.cfg', '/etc/haproxy/certs.list', '/etc/haproxy/servers.hcl', `/etc/haproxy/servers/${APP}.ctmpl`, `/etc/haproxy/acme/${APP}.ctmpl`]) {
    writeFileSync(join(hdir, dest.slice('/etc/haproxy/'.length)), move(rendered(dest)));
  }
  writeFileSync(join(hdir, 'acme-challenge.map'), rendered('/etc/haproxy/acme-challenge.map'), { mode: 0o600 });
  writeFileSync(join(work, 'server-state'), '1\n');
  env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}:/usr/sbin`,
    ACME_ETC: etc,
    // the LB the auth hook waits for: this nginx/haproxy on its test port
    ACME_LBS: `127.0.0.1:${ports.http}`,
    CONSUL_HTTP_ADDR: `127.0.0.1:${agent.httpPort}`,
    ACME_HAPROXY_DIR: hdir,
    HAPROXY_SOCK: sock,
  };

  // what the playbook does before haproxy starts: a placeholder for the app with no certificate yet
  assert.equal((await run([join(bin, 'acme-install'), 'placeholders', 'check'], { env })).code, 1, 'no certificate file yet');
  const placeholders = await run([join(bin, 'acme-install'), 'placeholders'], { env });
  assert.equal(placeholders.code, 0, placeholders.stderr);
  assert.equal((await run([join(bin, 'acme-install'), 'placeholders', 'check'], { env })).code, 0);
  const check = await run(['haproxy', '-c', '-q', '-f', join(hdir, 'haproxy.cfg')], { env });
  assert.equal(check.code, 0, check.stdout + check.stderr);
  haproxy = spawn('haproxy', ['-Ws', '-f', join(hdir, 'haproxy.cfg'), '-p', join(work, 'haproxy.pid'), '-S', `${join(work, 'master.sock')},mode,600`], { env, stdio: 'ignore' });
  await until('haproxy answers on its runtime API', workerPid);
  consulTemplate = spawn(ctBinary, [`-config=${join(hdir, 'servers.hcl')}`], { env: { ...env, CONSUL_HTTP_TOKEN: fakeSecret('consul_template_token', 'uuid') }, stdio: ['ignore', 'pipe', 'pipe'] });
  consulTemplate.stdout!.on('data', (d: Buffer) => (ctOutput += d.toString()));
  consulTemplate.stderr!.on('data', (d: Buffer) => (ctOutput += d.toString()));
});

after(async () => {
  if (consulTemplate && consulTemplate.exitCode === null) {
    const exited = new Promise((r) => consulTemplate!.once('exit', r));
    consulTemplate.kill('SIGINT');
    await exited;
  }
  if (haproxy && haproxy.exitCode === null) {
    const exited = new Promise((r) => haproxy!.once('exit', r));
    haproxy.kill('SIGTERM');
    await exited;
  }
  backend?.close();
  await pebble?.stop();
  await agent?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('tls: acme on an haproxy LB with Pebble, certbot, consul, consul-template and haproxy on loopback', () => {
  test('before the first order: the app presents the placeholder and answers 503; port 80 answers only tokens from acme/challenges/ and redirects the rest', async () => {
    const https = await until('the app answering through haproxy over https', async () => {
      const a = await ask('https');
      return a.status === 503 ? a : undefined;
    });
    assert.equal(https.subject, 'bootstrap-acme-placeholder');
    assert.equal(https.authorized, false);
    assert.match(https.body, /no certificate has been issued for this name yet/);
    assert.equal((await ask('http', '/.well-known/acme-challenge/nothing-here')).status, 404);
    // a token written where the challenges are is answered, as the CA will ask for it
    assert.equal((await agent.api('PUT', '/v1/kv/acme/challenges/probe-token', 'probe-token.thumbprint')).status, 200);
    const answered = await ask('http', '/.well-known/acme-challenge/probe-token');
    assert.deepEqual([answered.status, answered.body], [200, JSON.stringify('probe-token.thumbprint')], 'the value as stored (the harness stores it JSON-encoded)');
    assert.equal((await agent.api('DELETE', '/v1/kv/acme/challenges/probe-token')).status, 200);
    // a path that is no token reads nothing from KV: it is redirected like the rest of port 80
    const traversal = await ask('http', '/.well-known/acme-challenge/..%2Fcerts%2Fshop');
    assert.equal(traversal.status, 301);
    assert.doesNotMatch(traversal.body, /PRIVATE KEY|CERTIFICATE/);
    const redirect = await ask('http', '/some/page?x=1');
    assert.deepEqual([redirect.status, redirect.location], [301, `https://${NAMES[0]}/some/page?x=1`]);
    const asChallengeReader = await agent.api('GET', `/v1/kv/acme/certs/${APP}`, undefined, fakeSecret('consul_acme_challenge_token', 'uuid'));
    assert.equal(asChallengeReader.status, 403, 'the token haproxy sends may not read certificates');
  });

  test('issued through haproxy answering the challenge, installed through the runtime API with no reload, served with a chain to Pebble\'s root', async (t) => {
    const pid = await workerPid();
    const started = Date.now();
    const renewed = await renew('60s');
    assert.equal(renewed.code, 0, renewed.stderr);
    assert.equal(pebble!.orders(), 1);
    assert.match(renewed.stderr, /shop: ordering a certificate for shop\.acme\.test www\.shop\.acme\.test .*: no certificate yet/);
    const leaf = leafOf((await kvCert())!);
    assert.deepEqual(leaf.subjectAltName?.split(', ').sort(), NAMES.map((n) => `DNS:${n}`).sort());
    const served = await until('haproxy serving the ACME certificate', async () => {
      const a = await ask('https');
      return a.fingerprint === leaf.fingerprint256 && a.status === 200 ? a : undefined;
    });
    const ms = Date.now() - started;
    assert.equal(served.authorized, true, 'the chain haproxy presents verifies against Pebble\'s root for the name');
    assert.equal(served.body, 'shop backend\n');
    for (const name of NAMES) assert.equal((await ask('https', '/', name)).fingerprint, leaf.fingerprint256);
    assert.equal(readFileSync(join(hdir, 'tls', `${APP}.pem`), 'utf8'), await kvCert(), 'the file a restart reads is the one in KV');
    assert.equal(await workerPid(), pid, 'the same haproxy worker: no reload');
    // what the lab's haproxy suite reads from the runtime API (test/helpers/acme-scenarios.ts)
    const runtime = await api(`show ssl cert ${join(hdir, 'tls', `${APP}.pem`)}`);
    assert.doesNotMatch(runtime, /bootstrap-acme-placeholder/);
    assert.match(runtime, /Subject Alternative Name: .*DNS:shop\.acme\.test/);
    await until('acme-install saying what it installed', async () => (/acme-install: shop: installed the certificate valid until/.test(ctOutput) ? true : undefined));
    t.diagnostic(`first certificate served by haproxy ${ms} ms after acme-renew started (1 order)`);
  });

  test('a certificate whose key is not its own, or that haproxy -c refuses, is not installed: the served one stays', async () => {
    const current = (await ask('https')).fingerprint;
    // the CA's certificate with another key: acme-install's check refuses it before haproxy sees it
    const other = await run(['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    const pemText = (await kvCert())!;
    const incoming = join(hdir, 'acme', `${APP}.pem`);
    const saved = readFileSync(incoming, 'utf8');
    writeFileSync(incoming, other.stdout + pemText.slice(pemText.indexOf('-----BEGIN CERTIFICATE-----')), { mode: 0o600 });
    const refused = await run([join(bin, 'acme-install')], { env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /shop: the private key in Consul KV does not belong to its certificate; keeping the installed one/);
    assert.equal((await ask('https')).fingerprint, current);
    // a usable certificate, but haproxy -c fails (here: the configuration broke meanwhile): the file is put back, nothing is pushed
    const made = await run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=other', '-keyout', join(work, 'other.key'), '-out', join(work, 'other.crt')]);
    assert.equal(made.code, 0, made.stderr);
    writeFileSync(incoming, readFileSync(join(work, 'other.key'), 'utf8') + readFileSync(join(work, 'other.crt'), 'utf8'), { mode: 0o600 });
    const cfg = join(hdir, 'haproxy.cfg');
    const goodCfg = readFileSync(cfg, 'utf8');
    writeFileSync(cfg, goodCfg.replace('balance roundrobin', 'balance round_robin'));
    const checked = await run([join(bin, 'acme-install')], { env });
    writeFileSync(cfg, goodCfg);
    assert.equal(checked.code, 1);
    assert.match(checked.stderr, /shop: haproxy -c refused the configuration with the new certificate; keeping the installed one: .*balance only supports/);
    assert.equal(readFileSync(join(hdir, 'tls', `${APP}.pem`), 'utf8'), await kvCert(), 'the previous file is back');
    assert.equal((await ask('https')).fingerprint, current);
    writeFileSync(incoming, saved, { mode: 0o600 });
    assert.equal((await run([join(bin, 'acme-install')], { env })).code, 0, 'the installed one is what KV holds: nothing to do');
  });

  // What makes an order due is acme-renew's, the same on every LB (test/integration/stack-acme.test.ts
  // waits for two thirds of a short lifetime); here a change of acme.directory makes it due at once,
  // so that no clock races the order on a loaded machine.
  test('a due certificate is renewed and replaced under load, with no failed request and no reload', async (t) => {
    const before = leafOf((await kvCert())!);
    const pid = await workerPid();
    let stop = false;
    let total = 0;
    const failed: string[] = [];
    const prints = new Set<string>();
    let installMs = 0;
    // three clients, a new connection (and TLS handshake) per request, each verified against Pebble's root
    const clients = Array.from({ length: 3 }, async () => {
      while (!stop) {
        try {
          const a = await ask('https');
          total++;
          if (a.status !== 200 || !a.authorized || a.body !== 'shop backend\n') failed.push(`status ${a.status}, authorized ${a.authorized}`);
          if (a.fingerprint) prints.add(a.fingerprint);
        } catch (err) {
          total++;
          failed.push((err as Error).message);
        }
      }
    });
    try {
      // as after a move from a staging directory to this one
      assert.equal((await agent.api('PUT', `/v1/kv/acme/issued-by/${APP}`, 'https://acme.example.test/staging/directory')).status, 200);
      const due = await renew('check');
      assert.equal(due.code, 1, due.stderr);
      const renewed = await renew('60s');
      assert.equal(renewed.code, 0, renewed.stderr);
      assert.match(renewed.stderr, /shop: ordering a certificate for .*: its certificate was issued through .*acme\.example\.test\/staging\/directory.*, acme\.directory is https:\/\/127\.0\.0\.1/);
      assert.equal(pebble!.orders(), 2);
      const storedAt = Date.now();
      const after = leafOf((await kvCert())!);
      assert.notEqual(after.fingerprint256, before.fingerprint256);
      await until('haproxy serving the renewed certificate', async () => ((await ask('https')).fingerprint === after.fingerprint256 ? true : undefined));
      installMs = Date.now() - storedAt;
      // a few more requests on the new certificate
      const seen = total;
      await until('requests on the renewed certificate', async () => (total > seen + 20 ? true : undefined));
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    assert.deepEqual(failed, [], `${failed.length} of ${total} requests failed`);
    assert.ok(prints.has(before.fingerprint256) && prints.size === 2, 'the load saw the old certificate, then the new one');
    assert.equal(await workerPid(), pid, 'the same haproxy worker: no reload');
    t.diagnostic(`renewal under load: ${total} requests over new TLS connections, none failed; the new certificate served ${installMs} ms after acme-renew stored it`);
  });
});
