import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigErrors } from '../../src/errors.js';
import { loadInventory } from '../../src/stack/inventory.js';
import { applyDefaults } from '../../src/schema/defaults.js';
import { knownVarsSchema } from '../../src/stack/inventory.js';

const dir = mkdtempSync(join(tmpdir(), 'stack-schema-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'app.crt'), 'cert');
writeFileSync(join(dir, 'app.key'), 'key');

/** An inventory whose apps list is `apps` (YAML lines indented under `apps:`), loaded; returns the error messages. */
function errorsFor(apps: string, extraVars = ''): string[] {
  const file = join(dir, `inv-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `all:\n  vars:\n${extraVars}    apps:\n${apps}  children:\n    lb:\n      hosts:\n        lb1: { address: 10.0.0.2 }\n`,
  );
  try {
    loadInventory(file);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err;
    return err.errors.map((e) => e.message.replace(`${file}:`, 'inv:'));
  }
}

describe('bad app definitions are rejected with file, line and key path', () => {
  test('a server_name with a space', () => {
    const errors = errorsFor('      - name: shop\n        server_name: ["shop.example.test evil.test"]\n');
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0], /^inv:5:\d+ all\.vars\.apps\.0\.server_name\.0: expected a host name/);
  });

  test('a server_name with a semicolon (directive injection)', () => {
    const errors = errorsFor('      - name: shop\n        server_name: ["a.test; return 200"]\n');
    assert.match(errors.join('\n'), /^inv:5:\d+ all\.vars\.apps\.0\.server_name\.0: expected a host name .* got "a\.test; return 200"/);
  });

  test('a missing certificate file', () => {
    const errors = errorsFor('      - name: shop\n        server_name: [shop.test]\n        tls: { cert: ./missing.crt, key: ./app.key }\n');
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0], /^inv:6:\d+ all\.vars\.apps\.0\.tls\.cert: file not found: .*missing\.crt/);
  });

  test('an app name that is not a valid Consul service name', () => {
    for (const name of ['My_App', 'app.name', '-app', 'a'.repeat(64), 'app;']) {
      const errors = errorsFor(`      - name: "${name}"\n        server_name: [shop.test]\n`);
      assert.match(errors.join('\n'), /^inv:4:\d+ all\.vars\.apps\.0\.name: expected a Consul service name/, name);
    }
  });

  test('a duplicate app', () => {
    const errors = errorsFor('      - name: shop\n        server_name: [a.test]\n      - name: shop\n        server_name: [b.test]\n');
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0], /^inv:6:\d+ all\.vars\.apps\.1\.name: duplicate name "shop" \(also at all\.vars\.apps\.0\)/);
  });

  test('a bad balance, keepalive, size and timeout', () => {
    const errors = errorsFor(
      '      - name: shop\n        server_name: [a.test]\n        balance: random\n        keepalive: "64"\n        client_max_body_size: 500 MB\n        proxy_read_timeout: 90 seconds\n',
    );
    const text = errors.join('\n');
    assert.match(text, /apps\.0\.balance: expected one of round_robin, ip_hash, least_conn, got "random"/);
    assert.match(text, /apps\.0\.keepalive: expected an integer .*\(write it without quotes\)/);
    assert.match(text, /apps\.0\.client_max_body_size: expected an nginx size/);
    assert.match(text, /apps\.0\.proxy_read_timeout: expected an nginx time/);
  });

  test('upload without a binary, and an image reference that could inject unit options', () => {
    const errors = errorsFor('      - name: shop\n        server_name: [a.test]\n', '    consul: { source: upload }\n    registrator: { source: pull, image: "x --privileged" }\n');
    const text = errors.join('\n');
    assert.match(text, /all\.vars\.consul: source: upload needs `binary`/);
    assert.match(text, /all\.vars\.registrator\.image: expected a Docker image reference/);
  });

  test('load_balancer haproxy: a bad load_balancer, max_instances that could inject a server option, a timeout past HAProxy\'s timers', () => {
    const errors = errorsFor(
      '      - name: shop\n        server_name: [a.test]\n        max_instances: "4 backup"\n        proxy_read_timeout: 30d\n      - name: cart\n        server_name: ["cart.test } or { always_true"]\n        max_instances: 0\n',
      '    load_balancer: traefik\n',
    );
    assert.deepEqual(errors, [
      'inv:3:20 all.vars.load_balancer: expected one of nginx, haproxy, got "traefik"',
      'inv:7:24 all.vars.apps.0.max_instances: expected an integer 1-100, got "4 backup"',
      'inv:8:29 all.vars.apps.0.proxy_read_timeout: at most 2147483647 ms (24d); "30d" is longer than the load balancers\' timers allow',
      `inv:10:23 all.vars.apps.1.server_name.0: ${errors[3]?.split(': ').slice(1).join(': ')}`,
      'inv:11:24 all.vars.apps.1.max_instances: expected an integer 1-100, got 0',
    ]);
    assert.match(errors[3]!, /expected a host name .*got "cart\.test \} or \{ always_true"/);
  });

  test('registrator sources say what each needs', () => {
    const app = '      - name: shop\n        server_name: [a.test]\n';
    assert.match(errorsFor(app, '    registrator: { source: pull }\n').join('\n'), /all\.vars\.registrator: source: pull needs `image`/);
    assert.match(errorsFor(app, '    registrator: { source: tarball, image: r:1 }\n').join('\n'), /all\.vars\.registrator: source: tarball needs `image_tarball`/);
    assert.match(errorsFor(app, '    registrator: { image: r:1 }\n').join('\n'), /all\.vars\.registrator: source: build runs the image built on the laptop/);
    assert.deepEqual(errorsFor(app, '    registrator: { source: pull, image: registry.example.com/registrator:v7 }\n'), []);
  });

  test('a valid TLS app with wildcard names loads', () => {
    assert.deepEqual(errorsFor('      - name: shop-2\n        server_name: ["*.shop.test", .shop.test, "www.shop.*"]\n        tls: { cert: ./app.crt, key: ./app.key }\n'), []);
  });
});

describe('stack defaults', () => {
  test('fill nested maps and each app, keeping what the inventory set', () => {
    const vars = applyDefaults({ consul: { version: '1.16.5' }, apps: [{ name: 'a', server_name: ['a.test'], balance: 'ip_hash' }] }, knownVarsSchema);
    assert.deepEqual(vars.consul, { version: '1.16.5', source: 'release', release_base_url: 'https://releases.hashicorp.com' });
    const app = (vars.apps as Array<Record<string, unknown>>)[0];
    assert.equal(app.balance, 'ip_hash');
    assert.equal(app.keepalive, 64);
    assert.equal(app.proxy_connect_timeout, 150);
    assert.equal(app.client_max_body_size, '500m');
    assert.equal(app.tls, undefined);
    assert.equal(app.max_instances, 32);
    assert.equal(vars.load_balancer, 'nginx');
    assert.equal(vars.datacenter, 'dc1');
    assert.deepEqual(vars.docker_daemon_config, {});
    assert.deepEqual(vars.registrator, { enabled: true, source: 'build', resync: 30 });
  });
});
