import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadInventory } from '../../src/stack/inventory.js';
import { ensureConsulBinary, ensureConsulTemplateBinary } from '../../src/lab/go-builds.js';
import { startPebble, type RunningPebble } from '../../src/lab/pebble.js';
import { acmeCertificateCheck } from '../../src/verify/acme.js';
import { probe } from '../../src/verify/http.js';
import { DEBIAN_12, factsFor, fakeSecret, freePort, renderHostFiles, run, startDevConsul, type DevConsul } from '../golden/stack-harness.js';
import { installAcmeAclTokens, layOutNginxAcmeLb, renderedFile, writeAcmeInventory } from '../helpers/acme-loopback.js';

/*
 * tls: acme end to end on loopback with the real pieces an LB runs: Let's Encrypt's test CA Pebble
 * (with pebble-challtestsrv's DNS), certbot driven by the rendered acme-renew under `consul lock`,
 * a consul agent with ACLs and the stack's own policies, nginx answering the HTTP-01 challenges
 * from Consul KV, and consul-template + acme-install putting the certificate in place. Two runs at
 * once stand for two LBs: one order. A re-run orders nothing; a certificate past two thirds of its
 * (short) life is renewed; with the CA gone the current certificate stays and the run fails saying so.
 */

/** Pebble's first run issues certificates of a day; after its restart they live SHORT_S seconds. */
const VALIDITY_S = 86_400;
const SHORT_S = 15;
/** the app's names; a scenario below adds one */
const NAMES = ['shop.acme.test', 'www.shop.acme.test'];

let work: string;
let prefix: string;
let conf: string;
let agent: DevConsul;
let pebble: RunningPebble | undefined;
let consulTemplate: ChildProcess | undefined;
let ctOutput = '';
let ports: { http: number; https: number };
let env: NodeJS.ProcessEnv;
let bin: string;
let firstCertificateMs = 0;
let pebblePorts: { acme: number; management: number; dns: number; dnsManagement: number };
let etcDir: string;

const renew = (...args: string[]) => run([join(bin, 'acme-renew'), ...args], { env });
const kvCert = async () => {
  const r = await agent.api('GET', '/v1/kv/acme/certs/shop?raw');
  return r.status === 200 ? r.text : undefined;
};
const leafOf = (pemText: string) => new X509Certificate(pemText.slice(pemText.indexOf('-----BEGIN CERTIFICATE-----')));
const servedFingerprint = async () => {
  const r = await probe({ address: '127.0.0.1', scheme: 'https', port: ports.https, hostName: NAMES[0]!, userAgent: 'acme-test', timeoutMs: 3000 }).catch(() => undefined);
  return r?.certFingerprint;
};
async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nconsul-template:\n${ctOutput.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  const consul = await ensureConsulBinary();
  const consulTemplateBinary = await ensureConsulTemplateBinary();
  work = mkdtempSync(join(tmpdir(), 'stack-acme-'));
  prefix = join(work, 'nginx');
  bin = join(work, 'bin');
  const etc = join(work, 'etc');
  etcDir = etc;
  mkdirSync(bin);
  mkdirSync(etc, { mode: 0o700 });
  agent = await startDevConsul(consul, work);
  assert.equal((await agent.api('PUT', '/v1/agent/token/agent', { Token: agent.managementToken })).status, 200);

  // the stack's own ACL policies and tokens (playbooks/common.yml), with the secrets the files are rendered with
  await installAcmeAclTokens(agent);

  ports = { http: await freePort(), https: await freePort() };
  pebblePorts = { acme: await freePort(), management: await freePort(), dns: await freePort(), dnsManagement: await freePort() };
  pebble = await startPebble({
    bindAddress: '127.0.0.1',
    ports: pebblePorts,
    httpPort: ports.http,
    validitySeconds: VALIDITY_S,
    defaultIPv4: '127.0.0.1',
    dir: join(work, 'pebble'),
  });

  // the LB's files, rendered from an inventory that points acme at this Pebble
  const inventoryFile = writeAcmeInventory(work, pebble, 'shop', NAMES);
  const files = renderHostFiles(loadInventory(inventoryFile), 'lb1', factsFor(DEBIAN_12));
  conf = await layOutNginxAcmeLb({ files, work, prefix, bin, etc, ports, caBundle: pebble.caBundle, agent, consulTemplateBinary, scripts: ['acme-renew', 'acme-install', 'nginx-reload'] });

  for (const [name, content] of [['nginx', `#!/bin/sh\nexec /usr/sbin/nginx -p ${prefix} -c ${conf} "$@"\n`], ['consul', `#!/bin/sh\nexec ${consul} "$@"\n`]]) {
    writeFileSync(join(bin, name!), content!, { mode: 0o755 });
  }
  env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    ACME_ETC: etc,
    // the LB the auth hook waits for: this nginx/haproxy on its test port
    ACME_LBS: `127.0.0.1:${ports.http}`,
    CONSUL_HTTP_ADDR: `127.0.0.1:${agent.httpPort}`,
    ACME_NGINX_DIR: join(prefix, 'acme'),
    NGINX_RELOAD: join(bin, 'nginx-reload'),
  };
  const started = await run(['nginx', '-p', prefix, '-c', conf], { env });
  assert.equal(started.code, 0, started.stderr);

  // consul-template with the certificate's template block of the rendered config, paths moved
  const ctDir = join(work, 'ct'); // made by layOutNginxAcmeLb
  const block = renderedFile(files, '/etc/consul-template/config.hcl').match(/template \{\n  source {10}= "\/etc\/consul-template\/acme\/shop\.ctmpl"[\s\S]*?\n\}/);
  assert.ok(block, 'config.hcl has the certificate template of shop');
  writeFileSync(join(ctDir, 'acme-shop.ctmpl'), renderedFile(files, '/etc/consul-template/acme/shop.ctmpl'));
  writeFileSync(
    join(ctDir, 'config.hcl'),
    `consul {\n  address = "127.0.0.1:${agent.httpPort}"\n}\nwait {\n  min = "250ms"\n  max = "1s"\n}\n` +
      block[0].replace('/etc/consul-template/acme/shop.ctmpl', join(ctDir, 'acme-shop.ctmpl')).replace('/etc/nginx/acme/', `${prefix}/acme/`).replace('/usr/local/lib/bootstrap/acme-install', join(bin, 'acme-install')),
  );
  consulTemplate = spawn(consulTemplateBinary, [`-config=${join(ctDir, 'config.hcl')}`], { env: { ...env, CONSUL_HTTP_TOKEN: fakeSecret('consul_template_token', 'uuid') }, stdio: ['ignore', 'pipe', 'pipe'] });
  consulTemplate.stdout!.on('data', (d: Buffer) => (ctOutput += d.toString()));
  consulTemplate.stderr!.on('data', (d: Buffer) => (ctOutput += d.toString()));
});

after(async () => {
  if (consulTemplate && consulTemplate.exitCode === null) {
    await new Promise<void>((done) => {
      consulTemplate!.once('exit', () => done());
      consulTemplate!.kill('SIGINT');
    });
  }
  if (prefix && existsSync(join(prefix, 'nginx.pid'))) await run(['nginx', '-s', 'stop'], { env });
  await pebble?.stop();
  await agent?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('tls: acme with Pebble, certbot, consul and nginx on loopback', () => {
  test('the challenge path serves only acme/challenges/ and hides the token', async () => {
    const r = await fetch(`http://127.0.0.1:${ports.http}/.well-known/acme-challenge/nothing-here`, { headers: { Host: NAMES[0]! } });
    assert.equal(r.status, 404);
    const traversal = await fetch(`http://127.0.0.1:${ports.http}/.well-known/acme-challenge/..%2Fcerts%2Fshop`, { headers: { Host: NAMES[0]! } });
    assert.notEqual(traversal.status, 200, 'a path that is no token reads nothing from KV');
    assert.doesNotMatch(await traversal.text(), /PRIVATE KEY|CERTIFICATE/);
    const asChallengeReader = await agent.api('GET', '/v1/kv/acme/certs/shop', undefined, fakeSecret('consul_acme_challenge_token', 'uuid'));
    assert.equal(asChallengeReader.status, 403, 'the challenge token may not read certificates');
    const redirect = await probe({ address: '127.0.0.1', scheme: 'http', port: ports.http, hostName: NAMES[0]!, userAgent: 'x', timeoutMs: 3000 });
    assert.equal(redirect.status, 301);
  });

  test('two LBs at once: one order, the certificate in KV, installed and served with a chain to Pebble\'s root', async (t) => {
    const started = Date.now();
    const [a, b] = await Promise.all([renew('60s'), renew('60s')]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(pebble!.orders(), 1, `orders placed:\n${a.stderr}\n${b.stderr}`);
    assert.match(a.stderr + b.stderr, /shop: ordering a certificate for shop\.acme\.test www\.shop\.acme\.test .*: no certificate yet/);
    assert.match(a.stderr + b.stderr, /shop: certificate valid until .*; renewal due after/, 'the second holder found it valid');
    const pemText = (await kvCert())!;
    assert.match(pemText, /PRIVATE KEY/);
    const leaf = leafOf(pemText);
    assert.deepEqual(leaf.subjectAltName?.split(', ').sort(), NAMES.map((n) => `DNS:${n}`).sort());
    const served = await until('nginx serving the ACME certificate', async () => ((await servedFingerprint()) === leaf.fingerprint256 ? true : undefined));
    assert.ok(served);
    firstCertificateMs = Date.now() - started;
    // the chain: leaf <- intermediate (both in KV) <- Pebble's root of this run
    const chain = pemText.split(/(?=-----BEGIN CERTIFICATE-----)/).filter((p) => p.startsWith('-----BEGIN CERTIFICATE')).map((p) => new X509Certificate(p));
    const root = new X509Certificate(await pebble!.rootCertificate());
    assert.ok(chain.length >= 2, 'key, leaf and intermediate');
    assert.ok(chain[0]!.verify(chain[1]!.publicKey), 'the leaf is signed by the intermediate');
    assert.ok(chain[1]!.verify(root.publicKey), 'the intermediate is signed by Pebble\'s root');
    const readable = await agent.api('GET', '/v1/kv/acme/account?raw');
    assert.equal(readable.status, 200, 'the account is kept for the other LBs');
    t.diagnostic(`first certificate served ${firstCertificateMs} ms after the first acme-renew started (two runs, 1 order)`);
  });

  test('a re-run orders nothing while the certificate is valid and covers the names', async () => {
    const check = await renew('check');
    assert.equal(check.code, 0, check.stderr);
    const again = await renew();
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /renewal due after/);
    assert.equal(pebble!.orders(), 1);
    assert.equal((await agent.api('GET', '/v1/kv/acme/issued-by/shop?raw')).text, pebble!.directoryUrl);
    // another acme.directory (staging, then production) makes it due
    const elsewhere = join(bin, 'acme-renew-elsewhere');
    writeFileSync(elsewhere, readFileSync(join(bin, 'acme-renew'), 'utf8').replace(`directory='${pebble!.directoryUrl}'`, "directory='https://acme.example.test/directory'"), { mode: 0o755 });
    const moved = await run([elsewhere, 'check'], { env });
    assert.equal(moved.code, 1);
    assert.match(moved.stderr, /due for an order: its certificate was issued through https:\/\/127\.0\.0\.1:\d+\/dir, acme\.directory is https:\/\/acme\.example\.test\/directory/);
  });

  test('a new name in server_name orders a certificate for the new set, which replaces the served one', async () => {
    const added = 'new.shop.acme.test';
    const orders = pebble!.orders();
    // what a re-run with the new name lays down: acme-renew's list, the app's nginx file and https server
    const script = join(bin, 'acme-renew');
    writeFileSync(script, readFileSync(script, 'utf8').replace(`shop ${NAMES.join(' ')}`, `shop ${[...NAMES, added].join(' ')}`));
    for (const f of [join(prefix, 'conf.d', 'shop.conf'), join(prefix, 'acme', 'shop', 'https.template')]) {
      writeFileSync(f, readFileSync(f, 'utf8').replaceAll(`server_name ${NAMES.join(' ')};`, `server_name ${[...NAMES, added].join(' ')};`));
    }
    const reloaded = await run(['nginx', '-s', 'reload'], { env });
    assert.equal(reloaded.code, 0, reloaded.stderr);
    const check = await renew('check');
    assert.equal(check.code, 1);
    assert.match(check.stderr, /due for an order: its certificate is for shop\.acme\.test www\.shop\.acme\.test, the inventory names new\.shop\.acme\.test shop\.acme\.test www\.shop\.acme\.test/);
    const ordered = await renew();
    assert.equal(ordered.code, 0, ordered.stderr);
    assert.equal(pebble!.orders(), orders + 1);
    const leaf = leafOf((await kvCert())!);
    assert.deepEqual(leaf.subjectAltName?.split(', ').sort(), [...NAMES, added].map((n) => `DNS:${n}`).sort());
    await until('nginx serving the certificate with the new name', async () => ((await servedFingerprint()) === leaf.fingerprint256 ? true : undefined));
    NAMES.push(added);
  });

  test('a CA that forgot the account (Pebble restarted): a new account is registered and kept, and the order goes through', async () => {
    await pebble!.stop();
    pebble = await startPebble({ bindAddress: '127.0.0.1', ports: pebblePorts, httpPort: ports.http, validitySeconds: SHORT_S, defaultIPv4: '127.0.0.1', dir: join(work, 'pebble-restarted') });
    copyFileSync(pebble.caBundle, join(etcDir, 'ca.pem'));
    const account = (await agent.api('GET', '/v1/kv/acme/account?raw')).text;
    // the restarted CA issues under a new root; an order is made due by deleting the certificate
    assert.equal((await agent.api('DELETE', '/v1/kv/acme/certs/shop')).status, 200);
    const ordered = await renew();
    assert.equal(ordered.code, 0, ordered.stderr);
    assert.match(ordered.stderr, /shop: the CA does not know the stored ACME account; registering a new one/);
    assert.equal(pebble.orders(), 1);
    assert.notEqual((await agent.api('GET', '/v1/kv/acme/account?raw')).text, account, 'the new account is kept for the other LBs');
    const leaf = leafOf((await kvCert())!);
    await until('nginx serving the certificate of the restarted CA', async () => ((await servedFingerprint()) === leaf.fingerprint256 ? true : undefined));
  });

  test('past two thirds of its (short) lifetime the certificate is renewed with the same account, and served', async () => {
    const before = leafOf((await kvCert())!);
    const account = (await agent.api('GET', '/v1/kv/acme/account?raw')).text;
    const orders = pebble!.orders();
    // the event: acme-renew itself says an order is due
    const due = await until('the certificate to be due', async () => ((await renew('check')).code === 1 ? true : undefined), SHORT_S * 1000);
    assert.ok(due);
    const renewed = await renew();
    assert.equal(renewed.code, 0, renewed.stderr);
    assert.match(renewed.stderr, /two thirds of its lifetime have passed/);
    assert.equal(pebble!.orders(), orders + 1);
    const after = leafOf((await kvCert())!);
    assert.notEqual(after.fingerprint256, before.fingerprint256);
    assert.equal((await agent.api('GET', '/v1/kv/acme/account?raw')).text, account, 'no new account');
    await until('nginx serving the renewed certificate', async () => ((await servedFingerprint()) === after.fingerprint256 ? true : undefined));
  });

  test('the CA unreachable: the run fails and says why, the current certificate stays in KV and is served', async () => {
    const current = await kvCert();
    const fingerprint = leafOf(current!).fingerprint256;
    await pebble!.stop();
    // another name makes an order due (the inventory changed server_name)
    const script = join(bin, 'acme-renew');
    writeFileSync(script, readFileSync(script, 'utf8').replace(`shop ${NAMES.join(' ')}`, `shop ${NAMES.join(' ')} other.shop.acme.test`));
    const failed = await renew();
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /shop: ordering a certificate for .* other\.shop\.acme\.test from https:\/\/127\.0\.0\.1:\d+\/dir: its certificate is for new\.shop\.acme\.test shop\.acme\.test www\.shop\.acme\.test, the inventory names/);
    assert.match(failed.stderr, /the order failed \(attempt 1 of 2\)/);
    assert.match(failed.stderr, /shop: giving up for now; the current certificate stays in use/);
    assert.match(failed.stderr, /renewal failed for: shop/);
    assert.equal(await kvCert(), current);
    assert.equal(await servedFingerprint(), fingerprint);
    // what verify concludes from the served certificate: a 15 s certificate is within any warning of days
    const served = await probe({ address: '127.0.0.1', scheme: 'https', port: ports.https, hostName: NAMES[0]!, userAgent: 'acme-test', timeoutMs: 3000 });
    const app = { name: 'shop', server_name: NAMES };
    const verdict = acmeCertificateCheck(app, { validTo: served.certValidTo, altNames: served.certAltNames }, { host: 'lb1', app: 'shop' }, 14);
    assert.equal(verdict.ok, false);
    assert.match(verdict.detail, /within acme\.expiry_warning_days \(14\): its renewal is failing/);
    assert.equal(acmeCertificateCheck(app, { validTo: served.certValidTo, altNames: served.certAltNames }, { host: 'lb1', app: 'shop' }, 0, Date.parse(served.certValidTo!) - 5000).ok, true);
  });
});
