import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadInventory } from '../../src/stack/inventory.js';
import { ensureConsulBinary, ensureConsulTemplateBinary, ensurePebbleBinary } from '../../src/lab/go-builds.js';
import { startPebble, type RunningPebble } from '../../src/lab/pebble.js';
import { DEBIAN_12, factsFor, freePort, renderHostFiles, run, startDevConsul, type DevConsul } from '../golden/stack-harness.js';
import { installAcmeAclTokens, layOutNginxAcmeLb, writeAcmeInventory } from '../helpers/acme-loopback.js';

/*
 * acme-renew and the CA's renewal information (ARI, RFC 9773) on loopback: Pebble 2.10 (built from
 * the Go module proxy; Debian's 2.4 offers no ARI) issues certificates of 90 days, so the two-thirds
 * rule is 60 days away and only ARI can make one due. certbot orders through the rendered
 * acme-renew under `consul lock`, nginx answers the HTTP-01 challenges from Consul KV. Pebble's
 * management API (set-renewal-info) moves a certificate's window into the past, as a CA does when
 * it wants a certificate replaced early.
 */

/** Pebble 2.10 takes its certificates' lifetime from its default profile (90 days), not from this */
const VALIDITY_S = 30 * 86_400;
const NAMES = ['shop.acme.test', 'www.shop.acme.test'];

let work: string;
let prefix: string;
let agent: DevConsul;
let pebble: RunningPebble | undefined;
let env: NodeJS.ProcessEnv;
let bin: string;

const renew = (...args: string[]) => run([join(bin, 'acme-renew'), ...args], { env });
const kvText = async (key: string) => {
  const r = await agent.api('GET', `/v1/kv/${key}?raw`);
  return r.status === 200 ? r.text : undefined;
};
const leafPem = (pemText: string) => {
  const begin = pemText.indexOf('-----BEGIN CERTIFICATE-----');
  const end = pemText.indexOf('-----END CERTIFICATE-----', begin) + '-----END CERTIFICATE-----'.length;
  return `${pemText.slice(begin, end)}\n`;
};
const currentLeaf = async () => new X509Certificate(leafPem((await kvText('acme/certs/shop'))!));
/** the kept ARI answer: serial, the chosen time, the window, the next request (epoch seconds) */
const keptAri = async () => {
  const [serial, at, start, end, next] = ((await kvText('acme/ari/shop')) ?? '').trim().split(' ');
  return { serial, at: Number(at), start: Number(start), end: Number(end), next: Number(next) };
};
/** as if the kept answer's Retry-After had passed */
const retryAfterPassed = async () => {
  const kept = ((await kvText('acme/ari/shop')) ?? '').trim().split(' ');
  kept[4] = String(Math.floor(Date.now() / 1000) - 1);
  const put = await fetch(`http://127.0.0.1:${agent.httpPort}/v1/kv/acme/ari/shop`, { method: 'PUT', headers: { 'X-Consul-Token': agent.managementToken }, body: `${kept.join(' ')}\n` });
  assert.equal(put.status, 200);
  assert.equal((await keptAri()).next, Number(kept[4]));
};

before(async () => {
  const [consul, consulTemplateBinary, pebbleBinary] = [await ensureConsulBinary(), await ensureConsulTemplateBinary(), await ensurePebbleBinary()];
  work = mkdtempSync(join(tmpdir(), 'stack-acme-ari-'));
  prefix = join(work, 'nginx');
  bin = join(work, 'bin');
  const etc = join(work, 'etc');
  mkdirSync(bin);
  mkdirSync(etc, { mode: 0o700 });
  agent = await startDevConsul(consul, work);
  assert.equal((await agent.api('PUT', '/v1/agent/token/agent', { Token: agent.managementToken })).status, 200);

  await installAcmeAclTokens(agent);

  const ports = { http: await freePort(), https: await freePort() };
  pebble = await startPebble({
    bindAddress: '127.0.0.1',
    ports: { acme: await freePort(), management: await freePort(), dns: await freePort(), dnsManagement: await freePort() },
    httpPort: ports.http,
    validitySeconds: VALIDITY_S,
    defaultIPv4: '127.0.0.1',
    dir: join(work, 'pebble'),
    binary: pebbleBinary,
  });

  const inventoryFile = writeAcmeInventory(work, pebble, 'shop', NAMES);
  const files = renderHostFiles(loadInventory(inventoryFile), 'lb1', factsFor(DEBIAN_12));
  const conf = await layOutNginxAcmeLb({ files, work, prefix, bin, etc, ports, caBundle: pebble.caBundle, agent, consulTemplateBinary, scripts: ['acme-renew'] });
  writeFileSync(join(bin, 'consul'), `#!/bin/sh\nexec ${consul} "$@"\n`);
  chmodSync(join(bin, 'consul'), 0o755);
  env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, ACME_ETC: etc, ACME_LBS: `127.0.0.1:${ports.http}`, CONSUL_HTTP_ADDR: `127.0.0.1:${agent.httpPort}` };
  const started = await run(['/usr/sbin/nginx', '-p', prefix, '-c', conf], { env });
  assert.equal(started.code, 0, started.stderr);
});

after(async () => {
  if (prefix && existsSync(join(prefix, 'nginx.pid'))) await run(['/usr/sbin/nginx', '-p', prefix, '-s', 'stop', '-c', join(prefix, 'nginx.conf')], { env });
  await pebble?.stop();
  await agent?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('acme-renew with the CA renewal information (ARI) of Pebble 2.10 on loopback', () => {
  test('the first order; then ARI says later (its window about 59 days away) and nothing is ordered', async () => {
    const first = await renew('60s');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(pebble!.orders(), 1, first.stderr);
    const leaf = await currentLeaf();

    const later = await renew('60s');
    assert.equal(later.code, 0, later.stderr);
    assert.equal(pebble!.orders(), 1, `no second order:\n${later.stderr}`);
    assert.match(later.stderr, /shop: certificate valid until .*; renewal due after .* \(ARI window .* to .*, this certificate's time in it .*\)/);
    const kept = await keptAri();
    assert.equal(BigInt(`0x${kept.serial}`), BigInt(`0x${leaf.serialNumber}`), 'the kept answer is for the current certificate');
    // Pebble's own window: a day either side of the point a third of the lifetime before the end
    const issued = Date.parse(leaf.validFrom) / 1000;
    const expires = Date.parse(leaf.validTo) / 1000;
    const ideal = expires - (expires + 1 - issued) / 3;
    assert.ok(expires - issued > 20 * 86_400, `a long-lived certificate (${leaf.validFrom} to ${leaf.validTo})`);
    assert.ok(Math.abs(kept.start - (ideal - 86_400)) < 2 && Math.abs(kept.end - (ideal + 86_400)) < 2, `window ${kept.start}..${kept.end}, ideal ${ideal}`);
    assert.ok(kept.at >= kept.start && kept.at < kept.end, 'the chosen time lies in the window');
    // Pebble's Retry-After is 6 hours
    const now = Date.now() / 1000;
    assert.ok(Math.abs(kept.next - (now + 6 * 3600)) < 60, `next request at ${kept.next}, now ${now}`);
    const check = await renew('check');
    assert.equal(check.code, 0, check.stderr);
  });

  test('ARI says renew now (the window moved into the past): honoured once its Retry-After has passed, and acme-renew orders', async () => {
    const old = await currentLeaf();
    const now = Date.now();
    const window = { suggestedWindow: { start: new Date(now - 2 * 3600_000).toISOString(), end: new Date(now - 3600_000).toISOString() } };
    await pebble!.setRenewalInfo(old.toString(), JSON.stringify(window));

    const kept = await renew('60s');
    assert.equal(kept.code, 0, kept.stderr);
    assert.equal(pebble!.orders(), 1, `the kept answer stands until its Retry-After:\n${kept.stderr}`);

    await retryAfterPassed();
    // `check` (what a re-run decides with) reads only the kept answer, never the CA: not due yet
    const check = await renew('check');
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /\(ARI window .* this certificate's time in it/);
    const renewed = await renew('60s');
    assert.equal(renewed.code, 0, renewed.stderr);
    assert.match(renewed.stderr, /shop: ordering a certificate for .*: the CA's renewal information \(ARI\) suggests renewing between/);
    assert.equal(pebble!.orders(), 2, renewed.stderr);
    const fresh = await currentLeaf();
    assert.notEqual(fresh.serialNumber, old.serialNumber, 'a new certificate in KV');
    assert.ok(Date.parse(old.validTo) - now > 20 * 86_400_000, 'the replaced certificate was far from two thirds of its life');
  });

  test('an unreadable ARI answer is logged and the two-thirds rule applies: nothing ordered', async () => {
    await pebble!.setRenewalInfo((await currentLeaf()).toString(), 'not json');
    const fallback = await renew('60s');
    assert.equal(fallback.code, 0, fallback.stderr);
    assert.match(fallback.stderr, /shop: the CA's renewal information \(ARI\) at https:\/\/127\.0\.0\.1:\d+\/.*renewalInfo\/[\w-]+\.[\w-]+ could not be read \(HTTP 200: not json\); the two-thirds rule applies/);
    assert.match(fallback.stderr, /renewal due after .* \(ARI not read, see above\)/);
    assert.equal(pebble!.orders(), 2);
  });
});
