import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CA_KEY_FILE, createConsulPki, SERVER_CERT_DAYS, serverCertFile } from '../../src/stack/consul-pki.js';

const DAY = 86_400_000;
const fresh = () => mkdtempSync(join(tmpdir(), 'consul-pki-'));
const at = (ms: number) => () => new Date(ms);

function openssl(args: string[]): { code: number | null; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe('the Consul agent CA and server certificates made on the laptop', () => {
  test('a server certificate for server.<dc>.consul, localhost and 127.0.0.1 that openssl verifies against the CA for TLS server and client use', () => {
    const dir = fresh();
    const pki = createConsulPki(dir);
    const ca = pki.ca_cert();
    const cert = pki.server_cert('lb1', 'dc1');
    const x509 = new X509Certificate(cert);
    assert.equal(x509.subjectAltName, 'DNS:server.dc1.consul, DNS:localhost, IP Address:127.0.0.1');
    assert.ok(x509.checkIssued(new X509Certificate(ca)));
    assert.ok(new X509Certificate(ca).ca);
    assert.ok(!x509.ca);
    writeFileSync(join(dir, 'ca.test'), ca);
    writeFileSync(join(dir, 'cert.test'), cert);
    for (const purpose of ['sslserver', 'sslclient']) {
      const r = openssl(['verify', '-purpose', purpose, '-CAfile', join(dir, 'ca.test'), join(dir, 'cert.test')]);
      assert.equal(r.code, 0, r.out);
    }
    // the check can fail: another CA does not verify it
    const other = createConsulPki(fresh()).ca_cert();
    writeFileSync(join(dir, 'other.test'), other);
    assert.notEqual(openssl(['verify', '-CAfile', join(dir, 'other.test'), join(dir, 'cert.test')]).code, 0);
    const days = (Date.parse(x509.validTo) - Date.parse(x509.validFrom)) / DAY;
    assert.ok(Math.abs(days - SERVER_CERT_DAYS) < 0.01, `${days} days`);
    // keys are 0600 in a 0700 directory, and the CA key is never handed out
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.pem'))) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
    assert.doesNotMatch(ca, /PRIVATE KEY/);
  });

  test('a re-run hands out the same CA and certificates; the keys are told to the redactor', () => {
    const dir = fresh();
    const first = createConsulPki(dir);
    const [ca, cert, key] = [first.ca_cert(), first.server_cert('lb1', 'dc1'), first.server_key('lb1', 'dc1')];
    const concealed: string[] = [];
    const again = createConsulPki(dir, { conceal: (v) => void concealed.push(v) });
    assert.equal(again.ca_cert(), ca);
    assert.equal(again.server_cert('lb1', 'dc1'), cert);
    assert.equal(again.server_key('lb1', 'dc1'), key);
    assert.ok(concealed.includes(key));
    assert.ok(concealed.some((v) => v.includes('EC PRIVATE KEY') && v !== key), 'the CA key is concealed too');
    // each server has its own certificate and key
    assert.notEqual(again.server_key('lb2', 'dc1'), key);
  });

  test('a certificate is issued again once less than a third of its lifetime is left, and not before', () => {
    const dir = fresh();
    const start = Date.now();
    const cert = createConsulPki(dir, { now: at(start) }).server_cert('lb1', 'dc1');
    assert.equal(createConsulPki(dir, { now: at(start + 0.6 * SERVER_CERT_DAYS * DAY) }).server_cert('lb1', 'dc1'), cert);
    const renewed = createConsulPki(dir, { now: at(start + 0.7 * SERVER_CERT_DAYS * DAY) }).server_cert('lb1', 'dc1');
    assert.notEqual(renewed, cert);
    assert.ok(Date.parse(new X509Certificate(renewed).validTo) > Date.parse(new X509Certificate(cert).validTo));
  });

  test('another datacenter or a new CA issues the certificate again', () => {
    const dir = fresh();
    const cert = createConsulPki(dir).server_cert('lb1', 'dc1');
    const dc2 = createConsulPki(dir).server_cert('lb1', 'dc2');
    assert.notEqual(dc2, cert);
    assert.match(new X509Certificate(dc2).subjectAltName ?? '', /DNS:server\.dc2\.consul/);
    for (const f of readdirSync(dir).filter((f) => f.startsWith('consul-agent-ca'))) unlinkSync(join(dir, f));
    const pki = createConsulPki(dir);
    const reissued = pki.server_cert('lb1', 'dc2');
    assert.notEqual(reissued, dc2);
    assert.ok(new X509Certificate(reissued).checkIssued(new X509Certificate(pki.ca_cert())));
  });

  test('a CA certificate without its key is an error that says what to do, not a new CA', () => {
    const dir = fresh();
    createConsulPki(dir).ca_cert();
    rmSync(join(dir, CA_KEY_FILE));
    assert.throws(() => createConsulPki(dir).ca_cert(), /consul-agent-ca-key\.pem is missing .*delete both to make a new CA/);
    assert.equal(serverCertFile('LB1'), 'consul-server.lb1.pem');
  });
});
