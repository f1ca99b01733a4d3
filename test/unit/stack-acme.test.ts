import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigErrors } from '../../src/errors.js';
import { loadRun } from '../../src/cli/load-run.js';
import { challtestsrvArgv, countOrders, PEBBLE_ENV, pebbleConfig } from '../../src/lab/pebble.js';
import { defaultPlaybook } from '../../src/paths.js';
import { LAB_ACME_APP, writeLabInventory } from '../../src/lab/inventory.js';
import type { LabNode } from '../../src/lab/nodes.js';
import { acmeCertificateCheck } from '../../src/verify/acme.js';
import { DEBIAN_12, factsFor, loadCase, renderHostFiles } from '../golden/stack-harness.js';

function inventory(vars: string, lbVars = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'acme-test-'));
  const file = join(dir, 'inventory.yaml');
  writeFileSync(
    file,
    `all:\n  vars:\n${vars}  children:\n    lb:\n      hosts:\n        lb1: { address: 203.0.113.10, private_address: 10.10.0.2${lbVars} }\n` +
      `    web:\n      hosts:\n        web1: { address: 203.0.113.11, private_address: 10.10.0.3 }\n`,
  );
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

const app = (serverName: string, extra = '') => `    apps:\n      - name: shop\n        server_name: ${serverName}\n        tls: acme\n${extra}`;

describe('tls: acme validation (before any connection)', () => {
  it('accepts exact host names, with the defaults of the acme variables', () => {
    const { inventory: inv } = loadRun(inventory(app('[shop.example.com, www.shop.example.com]')), [defaultPlaybook], {});
    const vars = inv.hosts.get('lb1')!.vars as { acme: Record<string, unknown> };
    assert.deepEqual(vars.acme, {
      directory: 'https://acme-v02.api.letsencrypt.org/directory',
      email: '',
      check_interval: 3600,
      attempts: 3,
      retry_delay: 60,
      expiry_warning_days: 14,
    });
  });

  it('refuses a wildcard, naming the file, line, column and key path', () => {
    const errors = errorsOf(inventory(app('[shop.example.com, "*.shop.example.com"]')));
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /^:5:41 all\.vars\.apps\.0\.server_name\.1: "\*\.shop\.example\.com" is a wildcard: the CA validates tls: acme over HTTP-01/);
  });

  it('refuses the other names a certificate cannot hold: .example.com, www.example.*, an IP address, a single label', () => {
    const errors = errorsOf(inventory(app('[.example.com, www.example.*, 192.0.2.7, intranet]')));
    assert.equal(errors.length, 4, errors.join('\n'));
    assert.match(errors[0]!, /server_name\.0: "\.example\.com" is a wildcard/);
    assert.match(errors[1]!, /server_name\.1: "www\.example\.\*" is an nginx trailing wildcard/);
    assert.match(errors[2]!, /server_name\.2: "192\.0\.2\.7" is an IP address/);
    assert.match(errors[3]!, /server_name\.3: "intranet" is not a fully qualified name/);
  });

  it('the same wildcard with tls: { cert, key } or without tls is fine', () => {
    const dir = mkdtempSync(join(tmpdir(), 'acme-test-files-'));
    writeFileSync(join(dir, 'c.pem'), 'x');
    assert.deepEqual(errorsOf(inventory(`    apps:\n      - name: shop\n        server_name: ["*.example.com"]\n        tls: { cert: ${dir}/c.pem, key: ${dir}/c.pem }\n`)), []);
    assert.deepEqual(errorsOf(inventory(`    apps:\n      - name: shop\n        server_name: ["*.example.com"]\n`)), []);
  });

  it('takes tls: acme on an lb host with load_balancer: haproxy, and still checks its names there', () => {
    assert.deepEqual(errorsOf(inventory(app('[shop.example.com]'), ', vars: { load_balancer: haproxy }')), []);
    const errors = errorsOf(inventory(app('[shop.example.com, "*.example.com"]'), ', vars: { load_balancer: haproxy }'));
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /all\.vars\.apps\.0\.server_name\.1: "\*\.example\.com" is a wildcard/);
  });

  it('refuses a misspelt tls, a plain-http directory and an e-mail address that is none', () => {
    assert.match(errorsOf(inventory(app('[shop.example.com]').replace('tls: acme', 'tls: acm')))[0]!, /apps\.0\.tls: expected one of acme, got "acm"; did you mean `acme`\?/);
    const errors = errorsOf(inventory(`    acme: { directory: "http://ca.example.com/dir", email: "ops at example.com" }\n${app('[shop.example.com]')}`));
    assert.equal(errors.length, 2, errors.join('\n'));
    assert.match(errors.join('\n'), /acme\.directory: expected an https:\/\/ URL of an ACME directory/);
    assert.match(errors.join('\n'), /acme\.email: expected an e-mail address/);
  });
});

describe('rendered files of an acme app', () => {
  const files = new Map(renderHostFiles(loadCase('acme'), 'lb1', factsFor(DEBIAN_12)).map((f) => [f.dest, f]));
  const content = (dest: string) => files.get(dest)!.content;

  it('port 80 answers challenges and redirects the rest; the https server waits for a certificate', () => {
    const ctmpl = content('/etc/consul-template/templates/shop.ctmpl');
    assert.match(ctmpl, /include \/etc\/nginx\/acme-challenge\.conf;\n    location \/ \{\n        return 301 https:\/\/\$host\$request_uri;/);
    assert.match(ctmpl, /^include \/etc\/nginx\/acme\/shop\/https\*\.conf;$/m);
    assert.doesNotMatch(ctmpl, /listen 443/);
    const https = content('/etc/nginx/acme/shop/https.template');
    assert.match(https, /listen 443 ssl http2;/);
    assert.match(https, /ssl_certificate {9}\/etc\/nginx\/acme\/shop\/cert\.pem;\n {4}ssl_certificate_key {5}\/etc\/nginx\/acme\/shop\/cert\.pem;/);
    assert.match(https, /proxy_pass {14}http:\/\/shop;/);
    assert.doesNotMatch(https, /^upstream|\{\{/m);
  });

  it('the challenge token and the acme token are in 0600 files marked sensitive', () => {
    for (const dest of ['/etc/nginx/acme-challenge.conf', '/etc/bootstrap/acme/consul.token', '/etc/bootstrap/acme/consul.header']) {
      assert.equal(files.get(dest)!.mode, '0600', dest);
      assert.equal(files.get(dest)!.sensitive, true, dest);
    }
    assert.match(content('/etc/nginx/acme-challenge.conf'), /proxy_pass {17}http:\/\/127\.0\.0\.1:8500\/v1\/kv\/acme\/challenges\/\$1\?raw;/);
  });

  it('consul-template renders the certificate 0600 and runs acme-install; the timer and renewal units', () => {
    assert.match(content('/etc/consul-template/config.hcl'), /source {10}= "\/etc\/consul-template\/acme\/shop\.ctmpl"\n {2}destination {5}= "\/etc\/nginx\/acme\/shop\/incoming\.pem"\n {2}perms {11}= 0600\n {2}command {9}= "\/usr\/local\/lib\/bootstrap\/acme-install"/);
    assert.equal(content('/etc/consul-template/acme/shop.ctmpl'), '{{ keyOrDefault "acme/certs/shop" "" }}');
    assert.match(content('/etc/systemd/system/acme-renew.timer'), /OnUnitActiveSec=3600s\nRandomizedDelaySec=360s\n(#.*\n)*AccuracySec=360s/);
    assert.match(content('/etc/systemd/system/acme-renew.service'), /ExecStart=\/usr\/local\/lib\/bootstrap\/acme-renew 30s\n/);
    assert.match(content('/usr/local/lib/bootstrap/acme-renew'), /^apps='\nshop shop\.example\.test www\.shop\.example\.test\n'$/m);
  });

  it('apps without acme get none of it', () => {
    const plain = renderHostFiles(loadCase('tls'), 'lb1', factsFor(DEBIAN_12)).map((f) => f.dest);
    assert.deepEqual(plain.filter((d) => /acme/.test(d)), []);
  });
});

describe('Pebble for the lab and the tests', () => {
  it('validates on the given HTTP port with the given lifetime, over HTTPS on the bind address', () => {
    const config = pebbleConfig({ bindAddress: '172.30.10.1', ports: { acme: 14000, management: 15000, dns: 8053, dnsManagement: 8055 }, httpPort: 80, validitySeconds: 600 }, '/c.pem', '/k.pem') as { pebble: Record<string, unknown> };
    assert.equal(config.pebble.listenAddress, '172.30.10.1:14000');
    assert.equal(config.pebble.httpPort, 80);
    assert.equal(config.pebble.certificateValidityPeriod, 600);
    assert.equal(config.pebble.certificate, '/c.pem');
    assert.deepEqual(PEBBLE_ENV, { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' });
  });

  it('challtestsrv serves DNS only, with no default AAAA (Pebble would dial ::1 on its own host)', () => {
    const argv = challtestsrvArgv({ bindAddress: '127.0.0.1', ports: { acme: 1, management: 2, dns: 3, dnsManagement: 4 }, defaultIPv4: '' });
    assert.deepEqual(argv.slice(argv.indexOf('-defaultIPv6'), argv.indexOf('-defaultIPv6') + 2), ['-defaultIPv6', '']);
    assert.deepEqual(argv.slice(argv.indexOf('-http01'), argv.indexOf('-http01') + 2), ['-http01', '']);
    assert.deepEqual(argv.slice(argv.indexOf('-dns01'), argv.indexOf('-dns01') + 2), ['-dns01', '127.0.0.1:3']);
  });

  it('counts orders from its log', () => {
    assert.equal(countOrders('Pebble 2021/01/01 Added order "abc" to the db\nother\nPebble Added order "def" to the db\n'), 2);
  });
});

describe('verify: the served ACME certificate', () => {
  const app = { name: 'shop', server_name: ['shop.example.com', 'www.shop.example.com'] };
  const where = { host: 'lb1', app: 'shop' };
  const now = Date.parse('2027-01-01T00:00:00Z');
  const seen = (validTo: string) => ({ validTo, altNames: 'DNS:www.shop.example.com, DNS:shop.example.com' });

  it('passes with more than the warning days left', () => {
    const r = acmeCertificateCheck(app, seen('Mar  1 00:00:00 2027 GMT'), where, 14, now);
    assert.equal(r.ok, true, r.detail);
    assert.match(r.detail, /valid until 2027-03-01 00:00:00 UTC \(59 days\)/);
  });

  it('fails an app whose certificate expires within the threshold, naming it and where to look', () => {
    const r = acmeCertificateCheck(app, seen('Jan 10 00:00:00 2027 GMT'), where, 14, now);
    assert.equal(r.ok, false);
    assert.equal(r.app, 'shop');
    assert.match(r.detail, /expires 2027-01-10 00:00:00 UTC, in 9\.0 days, within acme\.expiry_warning_days \(14\): its renewal is failing \(journalctl -t acme-renew/);
    assert.match(acmeCertificateCheck(app, seen('Dec 31 00:00:00 2026 GMT'), where, 14, now).detail, /expired 2026-12-31/);
  });

  it('fails a certificate that misses a name, and no certificate at all', () => {
    const r = acmeCertificateCheck({ ...app, server_name: [...app.server_name, 'new.example.com'] }, seen('Mar  1 00:00:00 2027 GMT'), where, 14, now);
    assert.match(r.detail, /does not name new\.example\.com/);
    assert.equal(acmeCertificateCheck(app, undefined, where, 14, now).ok, false);
  });
});

describe('lab up --acme: the lab inventory', () => {
  it('adds the app auto with tls: acme, its container port, and acme pointing at the lab\'s Pebble; it validates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'acme-lab-inventory-'));
    for (const f of ['key', 'known_hosts', 'ca.pem', 'app.tar']) writeFileSync(join(dir, f), 'x');
    const node = (name: string, role: LabNode['role'], n: number): LabNode => ({ name, container: `bootstrap-lab-${name}`, address: `172.30.10.${n}`, privateAddress: `172.30.20.${n}`, role, distro: 'bookworm', init: 'systemd' });
    const file = await writeLabInventory({
      dir,
      nodes: [node('lb1', 'lb', 10), node('web1', 'web', 50)],
      clientKey: join(dir, 'key'),
      knownHosts: join(dir, 'known_hosts'),
      aptProxy: 'http://172.30.10.1:3142',
      releasesUrl: 'http://172.30.10.1:8000',
      app: { image: 'lab-app:1', tarball: join(dir, 'app.tar') },
      acme: { directory: 'https://172.30.10.1:14000/dir', caBundle: join(dir, 'ca.pem'), validitySeconds: 120 },
    });
    const { inventory: inv } = loadRun(file, [defaultPlaybook], {});
    const vars = inv.hosts.get('lb1')!.vars as { apps: Array<{ name: string; tls?: unknown; server_name: string[] }>; acme: Record<string, unknown>; lab: { apps: Array<{ name: string; port: number }> } };
    const auto = vars.apps.find((a) => a.name === LAB_ACME_APP.name)!;
    assert.equal(auto.tls, 'acme');
    assert.deepEqual(auto.server_name, [...LAB_ACME_APP.server_name]);
    assert.equal(vars.acme.directory, 'https://172.30.10.1:14000/dir');
    assert.equal(vars.acme.ca_bundle, join(dir, 'ca.pem'));
    assert.equal(vars.acme.check_interval, 15);
    assert.equal(vars.acme.expiry_warning_days, 0, 'a 2-minute certificate is always within 14 days');
    assert.ok(vars.lab.apps.some((a) => a.name === 'auto' && a.port === LAB_ACME_APP.port));
  });
});

describe('acme-renew: the ARI certificate identifier (RFC 9773 section 4.1)', () => {
  const script = renderHostFiles(loadCase('acme'), 'lb1', factsFor(DEBIAN_12)).find((f) => f.dest === '/usr/local/lib/bootstrap/acme-renew')!.content;
  const b64url = script.match(/^b64url\(\) \{\n[\s\S]*?\n\}\n/m)?.[0];
  const shell = (hex: string) => execFileSync('/bin/sh', ['-c', `${b64url}\nb64url`], { input: hex }).toString();

  it("encodes the RFC's example: key identifier and serial (with its DER leading zero)", () => {
    assert.ok(b64url, 'the rendered script defines b64url');
    assert.equal(shell('69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4'), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ');
    assert.equal(shell('0087654321'), 'AIdlQyE');
  });

  it('encodes any bytes as base64url without padding (zero bytes, 0xff, every length mod 3)', () => {
    for (const hex of ['00', 'ff', '00ff', 'fffefd', '000000ff', 'fb', 'fbff', Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('hex')]) {
      assert.equal(shell(hex), Buffer.from(hex, 'hex').toString('base64url'), hex);
    }
  });
});
