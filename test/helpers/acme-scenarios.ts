/**
 * e2e scenarios of tls: acme (issue 27) for the lab suites to fold in; not a suite of its own (CI
 * time). A suite that uses them starts its lab with Pebble and the app `auto` (tls: acme):
 *
 *   inventory = await labUpCommand({ ..., acme: { validitySeconds: ACME_LAB_VALIDITY_S } });
 *
 * and calls the functions below inside its `describe`, after its first apply (which orders the
 * first certificate) and in this order: acmeIssued, acmeRenewalUnderLoad, acmeIssuerStopped
 * (3 LBs), acmeCaUnreachable (last: it stops Pebble, which forgets its accounts, and leaves
 * acme.expiry_warning_days at 1 in the inventory). The haproxy suite calls acmeIssuedOnHaproxy
 * after its first apply. Traffic goes only to the lab's own containers and Pebble.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { it } from 'node:test';
import { parseDocument } from 'yaml';
import { docker } from '../../src/lab/docker-engine.js';
import { LAB_ACME_APP } from '../../src/lab/inventory.js';
import { fetchPebbleRoot, labPebbleOrders, mapName, readLabPebble, stopLabPebble, type LabPebbleState } from '../../src/lab/pebble.js';
import { labDir } from '../../src/lab/state.js';
import type { CliResult } from './cli.js';
import { runCli } from './cli.js';
import { onNode } from './lab.js';
import { steadyLoad } from './load.js';
import { get } from './traffic.js';
import { pollUntil } from './until.js';

/** Certificates of 2 minutes: due 80 s after issue, renewed by the lab's 15 s checks well before they expire (each renewal scenario waits about that long). */
export const ACME_LAB_VALIDITY_S = 120;

export interface AcmeLab {
  /** lab node names of the LBs, and their public addresses */
  lbs: string[];
  publicAddress: Record<string, string>;
  inventory: () => string;
  apply: (inventory: string, ...args: string[]) => Promise<CliResult>;
  /** Date.now() when the suite started its first apply (for the time to the first HTTPS answer) */
  firstApplyStartedAt?: () => number | undefined;
}

const HOST = LAB_ACME_APP.server_name[0];
const pebbleState = (): LabPebbleState => {
  const state = readLabPebble(join(labDir(), 'run'));
  assert.ok(state, 'the lab runs Pebble (labUpCommand with acme)');
  return state;
};

const waitFor = <T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, everyMs = 500) => pollUntil(what, probe, ok, timeoutMs, everyMs);

/** The certificate an LB presents for `auto`, and whether it verifies against `ca` (Pebble's root) for HOST. */
function presented(address: string, ca?: string): Promise<{ fingerprint: string; authorized: boolean; error?: string; validTo: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: address, port: 443, servername: HOST, ca, rejectUnauthorized: false, timeout: 5000 }, () => {
      const cert = socket.getPeerCertificate();
      resolve({ fingerprint: cert.fingerprint256, authorized: socket.authorized, error: socket.authorizationError?.toString(), validTo: cert.valid_to });
      socket.end();
    });
    socket.on('timeout', () => socket.destroy(new Error(`no TLS handshake with ${address} within 5 s`)));
    socket.on('error', reject);
  });
}

/** The certificate in Consul KV (acme/certs/auto), read on an LB with the management token. */
async function kvLeaf(lb: string): Promise<X509Certificate> {
  const pemText = await onNode(lb, `curl -fsS -H @/etc/consul/management.header 'http://127.0.0.1:8500/v1/kv/acme/certs/${LAB_ACME_APP.name}?raw'`);
  return new X509Certificate(pemText.slice(pemText.indexOf('-----BEGIN CERTIFICATE-----')));
}

/** The LB whose Consul session holds acme/lock, or undefined. */
async function lockHolder(lb: string): Promise<string | undefined> {
  const lock = await onNode(lb, "curl -sS -H @/etc/consul/management.header 'http://127.0.0.1:8500/v1/kv/acme/lock/.lock'").catch(() => '');
  const session = /"Session":"([0-9a-f-]+)"/.exec(lock)?.[1];
  if (!session) return undefined;
  const info = await onNode(lb, `curl -fsS -H @/etc/consul/management.header http://127.0.0.1:8500/v1/session/info/${session}`);
  return /"Node":"([^"]+)"/.exec(info)?.[1];
}

/**
 * What an LB's acme-renew logged about orders, the timer's runs and bootstrap's alike: its
 * decisions ("APP: ordering a certificate for NAMES from DIRECTORY: WHY") and the attempts that
 * placed an order (each failed one, and each that stored a certificate).
 */
async function acmeOrdering(lb: string): Promise<{ decisions: string[]; attempts: string[] }> {
  const lines = (await onNode(lb, "journalctl -t acme-renew -o cat --no-pager | grep -E ': (ordering a certificate for |the order failed \\(attempt |new certificate stored in Consul KV)' || true")).split('\n').filter(Boolean);
  return { decisions: lines.filter((l) => l.includes(': ordering a certificate for ')), attempts: lines.filter((l) => !l.includes(': ordering a certificate for ')) };
}

/**
 * Seconds until the certificate in KV falls due: the earlier of two thirds of its lifetime and the
 * time acme-renew placed it at in the CA's renewal window (acme/ari/APP: "SERIAL AT START END
 * NEXT", written by the first timer run after the certificate); -1 while that is not written yet.
 */
async function secondsUntilDue(lb: string): Promise<number> {
  const leaf = await kvLeaf(lb);
  const ari = (await onNode(lb, `curl -sS -H @/etc/consul/management.header 'http://127.0.0.1:8500/v1/kv/acme/ari/${LAB_ACME_APP.name}?raw'`).catch(() => '')).trim().split(/\s+/);
  const hex = (s: string) => s.toLowerCase().replace(/^0+/, '');
  if (ari.length < 5 || hex(ari[0]!) !== hex(leaf.serialNumber)) return -1;
  const from = Date.parse(leaf.validFrom) / 1000;
  const due = Math.min(from + ((Date.parse(leaf.validTo) / 1000 - from) * 2) / 3, ari[1] === '-' ? Infinity : Number(ari[1]));
  return due - Date.now() / 1000;
}

/** What an LB's renewals did lately, and the lock's state: shown when a renewal did not happen. */
async function renewalLog(lb: string): Promise<string> {
  const journal = await onNode(lb, 'journalctl -t acme-renew -o short-precise --no-pager | tail -n 30').catch((e: Error) => e.message);
  const lock = await onNode(lb, "curl -sS -H @/etc/consul/management.header 'http://127.0.0.1:8500/v1/kv/acme/lock/.lock'").catch((e: Error) => e.message);
  const state = await onNode(lb, 'systemctl show -p ActiveState -p SubState -p NRestarts acme-renew.service | tr "\\n" " "').catch((e: Error) => e.message);
  return `--- ${lb}: acme-renew ${state}\nacme/lock/.lock: ${lock}\n${journal}`;
}

function setVar(inventory: string, path: string[], value: unknown): void {
  const doc = parseDocument(readFileSync(inventory, 'utf8'));
  doc.setIn(['all', 'vars', ...path], value);
  writeFileSync(inventory, doc.toString());
}

/** 1 LB and 3 LBs: issued once, served by every LB with a chain to Pebble's root, and a re-run orders nothing. */
export function acmeIssued(lab: AcmeLab): void {
  it(`acme: ${HOST} is served over https by every LB with one certificate from one order, its chain verifying against Pebble's root; a re-run orders nothing`, async (t) => {
    await issuedOnce(lab, (line) => t.diagnostic(line));
  });
}

/**
 * haproxy LBs: the same, and the certificate reached haproxy as acme-install gives it: the file
 * certs.list names holds what KV holds (0600, no placeholder left), and the running haproxy has it
 * from its runtime API.
 */
export function acmeIssuedOnHaproxy(lab: AcmeLab): void {
  it(`acme on haproxy: ${HOST} is served over https by every haproxy LB with one certificate from one order, its chain verifying against Pebble's root; a re-run orders nothing`, async (t) => {
    await issuedOnce(lab, (line) => t.diagnostic(line));
    for (const lb of lab.lbs) {
      const file = `/etc/haproxy/tls/${LAB_ACME_APP.name}.pem`;
      assert.equal(await onNode(lb, `stat -c %a ${file} /etc/haproxy/acme-challenge.map`), '600\n600', `${lb}: the certificate file and the challenge token map are root's alone`);
      const kv = await onNode(lb, `curl -fsS -H @/etc/consul/management.header 'http://127.0.0.1:8500/v1/kv/acme/certs/${LAB_ACME_APP.name}?raw' | sha256sum`);
      assert.equal(await onNode(lb, `sha256sum < ${file}`), kv, `${lb}: ${file} is the certificate in Consul KV`);
      const runtime = await onNode(lb, `echo 'show ssl cert ${file}' | socat stdio unix-connect:/run/haproxy/admin.sock`);
      assert.doesNotMatch(runtime, /bootstrap-acme-placeholder/, `${lb}: the placeholder is gone from the running haproxy`);
      assert.match(runtime, new RegExp(`Subject Alternative Name: .*DNS:${HOST.replaceAll('.', '\\.')}`), `${lb}: haproxy's runtime API shows the ACME certificate`);
    }
  });
}

async function issuedOnce(lab: AcmeLab, diagnostic: (line: string) => void): Promise<void> {
  const pebble = pebbleState();
  const root = await fetchPebbleRoot(pebble.options, pebble.caBundle);
  const seen = [];
  for (const lb of lab.lbs) {
    const cert = await presented(lab.publicAddress[lb]!, root);
    assert.equal(cert.authorized, true, `${lb}: ${cert.error}`);
    seen.push(cert.fingerprint);
  }
  assert.equal(new Set(seen).size, 1, `one certificate on every LB: ${seen.join(', ')}`);
  assert.equal(seen[0], (await kvLeaf(lab.lbs[0]!)).fingerprint256, 'the one in Consul KV');
  // One order for the cluster. The timers may have renewed since, so orders are counted against
  // what the LBs logged: each order Pebble placed is an attempt one LB logged (a validation that
  // failed is retried with a new order, and says so), and no two decisions give the same reason
  // (two LBs ordering for the same certificate state would).
  const ordering = (await waitFor(
    'each order Pebble placed logged by one LB',
    async () => {
      const logged = await Promise.all(lab.lbs.map((lb) => acmeOrdering(lb)));
      return { decisions: logged.flatMap((l) => l.decisions), attempts: logged.flatMap((l) => l.attempts), orders: labPebbleOrders(pebble) };
    },
    (v) => v.attempts.length === v.orders,
    30_000,
    1000,
  ).catch(async (error: Error) => {
    throw new Error(`${error.message}: ${labPebbleOrders(pebble)} orders\n${(await Promise.all(lab.lbs.map(renewalLog))).join('\n')}`);
  })).value!;
  const reasons = ordering.decisions.map((line) => line.replace(/^.*? from \S+: /, ''));
  assert.equal(new Set(reasons).size, reasons.length, `one order per reason:\n${ordering.decisions.join('\n')}`);
  assert.equal(reasons.filter((r) => r === 'no certificate yet').length, 1, `one first order:\n${ordering.decisions.join('\n')}`);
  const failed = ordering.attempts.filter((l) => l.includes('the order failed'));
  diagnostic(`orders: ${ordering.orders} (${ordering.decisions.length} decided, ${failed.length} failed validation and retried)${failed.length ? `\n${failed.join('\n')}` : ''}`);
  const started = lab.firstApplyStartedAt?.();
  if (started) diagnostic(`first HTTPS answer of ${HOST} ${Date.now() - started} ms after the first apply started (an upper bound: measured when this scenario ran)`);
  // port 80: the challenge path reads KV (nothing there now), the rest goes to https
  // (node:http: fetch sends the URL's host, not a Host header given to it)
  const challenge = await get(HOST, { address: lab.publicAddress[lab.lbs[0]!], path: '/.well-known/acme-challenge/none' });
  assert.equal(challenge.status, 404);
  const other = await get(HOST, { address: lab.publicAddress[lab.lbs[0]!] });
  assert.equal(other.status, 301);
  // the re-run, with no renewal due meanwhile: the ARI time acme-renew keeps for this certificate
  // and two thirds of its lifetime both at least 10 s away (a no-op run takes 1 to 2 s)
  await waitFor('a certificate in Consul KV not due for 10 s', () => secondsUntilDue(lab.lbs[0]!), (s) => s >= 10, 5 * 60_000, 1000);
  const before = labPebbleOrders(pebble);
  const again = await lab.apply(lab.inventory(), '--output', 'json');
  assert.equal(again.code, 0, again.stdout.slice(-3000) + again.stderr);
  assert.equal(labPebbleOrders(pebble), before, 'the re-run ordered nothing');
  diagnostic(`orders placed so far: ${before}`);
}

/** Renewal at two thirds of a short lifetime, by the LBs' timers (no run), under load: no failed request. */
export function acmeRenewalUnderLoad(lab: AcmeLab): void {
  it('acme: the timers renew the certificate before it expires, every LB switches to it, and no request fails meanwhile', { timeout: 10 * 60_000 }, async (t) => {
    const pebble = pebbleState();
    const before = await kvLeaf(lab.lbs[0]!);
    const orders = labPebbleOrders(pebble);
    const load = steadyLoad({ addresses: lab.lbs.map((lb) => lab.publicAddress[lb]!), host: HOST, concurrency: 4, tls: true });
    // the event: every LB presents a certificate other than the one before
    const lifetimeMs = Date.parse(before.validTo) - Date.parse(before.validFrom);
    const renewed = await waitFor(
      'every LB serving a renewed certificate',
      async () => {
        const prints = await Promise.all(lab.lbs.map(async (lb) => (await presented(lab.publicAddress[lb]!)).fingerprint));
        return prints.every((p) => p !== before.fingerprint256) && new Set(prints).size === 1;
      },
      (v) => v === true,
      lifetimeMs + 3 * 60_000,
      1000,
    );
    const result = await load.stop();
    assert.deepEqual(result.failed, [], `${result.failed.length} of ${result.total} requests failed`);
    assert.ok(Date.now() < Date.parse(before.validTo), 'renewed before the old certificate expired');
    assert.equal(labPebbleOrders(pebble), orders + 1, 'one order for the renewal');
    t.diagnostic(`renewed ${renewed.ms} ms into the wait; ${result.total} requests, none failed`);
  });
}

/**
 * 3 LBs: the LB holding the lock is stopped while it renews (its order cannot be validated: the
 * names point at an address nobody has until then); another LB takes the lock and completes it.
 */
export function acmeIssuerStopped(lab: AcmeLab): void {
  it('acme: the issuing LB stopped in the middle of a renewal, another LB completes it', { timeout: 12 * 60_000 }, async (t) => {
    assert.ok(lab.lbs.length >= 3, 'needs 3 LBs');
    const pebble = pebbleState();
    const before = await kvLeaf(lab.lbs[0]!);
    for (const name of LAB_ACME_APP.server_name) await mapName(pebble.options, name, ['172.30.10.254']);
    const issuer = (await waitFor('an LB holding acme/lock (a renewal under way)', () => lockHolder(lab.lbs[0]!), (v) => typeof v === 'string' && lab.lbs.includes(v), Date.parse(before.validTo) - Date.now() + 60_000, 1000)).value!;
    const others = lab.lbs.filter((lb) => lb !== issuer);
    await docker(['stop', '-t', '1', `bootstrap-lab-${issuer}`]);
    try {
      for (const name of LAB_ACME_APP.server_name) await mapName(pebble.options, name, others.map((lb) => lab.publicAddress[lb]!));
      const done = await waitFor(
        'another LB completing the renewal',
        async () => (await kvLeaf(others[0]!)).fingerprint256,
        (v) => typeof v === 'string' && v !== before.fingerprint256,
        5 * 60_000,
        1000,
      ).catch(async (error: Error) => {
        throw new Error(`${error.message}\n${(await Promise.all(others.map(renewalLog))).join('\n')}`);
      });
      for (const lb of others) {
        await waitFor(`${lb} serving the renewed certificate`, async () => (await presented(lab.publicAddress[lb]!)).fingerprint, (v) => v === done.value, 60_000);
      }
      t.diagnostic(`${issuer} stopped while holding the lock; the renewal was completed by another LB ${done.ms} ms later`);
    } finally {
      await docker(['start', `bootstrap-lab-${issuer}`]);
      for (const name of LAB_ACME_APP.server_name) await mapName(pebble.options, name, lab.lbs.map((lb) => lab.publicAddress[lb]!));
      await waitFor(`${issuer} serving again`, async () => (await presented(lab.publicAddress[issuer]!)).fingerprint, (v) => typeof v === 'string', 3 * 60_000, 1000);
    }
  });
}

/** Last: Pebble gone. The certificate keeps being served, the LBs' log says why, and verify reports the failing renewal. */
export function acmeCaUnreachable(lab: AcmeLab): void {
  it('acme: with the CA unreachable the current certificate keeps being served, the journal says why, and verify fails naming the app', { timeout: 10 * 60_000 }, async (t) => {
    const pebble = pebbleState();
    const issued = readFileSync(pebble.log, 'utf8').split('\n').filter((line) => /Issued certificate serial /.test(line)).length;
    t.diagnostic(`orders placed across the suite: ${labPebbleOrders(pebble)}, of which ${issued} issued a certificate (the first, and each renewal by the timers)`);
    const before = await kvLeaf(lab.lbs[0]!);
    const givenUp = () => Promise.all(lab.lbs.map(async (lb) => Number(await onNode(lb, "journalctl -u acme-renew -o cat | grep -c 'giving up for now; the current certificate stays in use' || true"))));
    const earlier = await givenUp();
    await stopLabPebble(join(labDir(), 'run'));
    // the renewal falls due and fails on whichever LB holds the lock
    await waitFor('a new failed renewal in an LB\'s journal', async () => (await givenUp()).some((n, i) => n > earlier[i]!), (v) => v === true, Date.parse(before.validTo) - Date.now(), 2000);
    for (const lb of lab.lbs) assert.equal((await presented(lab.publicAddress[lb]!)).fingerprint, before.fingerprint256, `${lb} still serves the valid certificate`);
    // any warning longer than what is left of a 2-minute certificate
    setVar(lab.inventory(), ['acme', 'expiry_warning_days'], 1);
    const verify = await runCli(['verify', lab.inventory()]);
    assert.notEqual(verify.code, 0);
    assert.match(verify.stdout + verify.stderr, new RegExp(`${LAB_ACME_APP.name}[\\s\\S]*within acme\\.expiry_warning_days \\(1\\): its renewal is failing`));
  });
}
