/**
 * What the loopback tests of tls: acme (stack-acme, stack-acme-ari, stack-haproxy-acme) set up
 * alike: the stack's own ACL policies and tokens in a dev consul, and the LB inventory that points
 * acme at their Pebble.
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { RunningPebble } from '../../src/lab/pebble.js';
import { fakeSecret, nginxPrefixConfig, PLAYBOOKS, run, type DevConsul, type RenderedFile } from '../golden/stack-harness.js';

interface AclToken {
  policy: string;
  description: string;
  secret: string;
  accessor: string;
  rules: string;
}

/** The ACME and consul-template policies of playbooks/common.yml, with the secrets the files are rendered with. */
export async function installAcmeAclTokens(agent: DevConsul): Promise<void> {
  const common = parse(readFileSync(join(PLAYBOOKS, 'common.yml'), 'utf8')) as Array<{ vars?: { consul_acl_tokens?: AclToken[] } }>;
  const wanted = ['bootstrap-acme', 'bootstrap-acme-challenge', 'bootstrap-consul-template'];
  for (const t of common.flatMap((play) => play.vars?.consul_acl_tokens ?? []).filter((t) => wanted.includes(t.policy))) {
    const p = await agent.api('PUT', '/v1/acl/policy', { Name: t.policy, Description: t.description, Rules: t.rules });
    assert.equal(p.status, 200, p.text);
    const k = await agent.api('PUT', '/v1/acl/token', { AccessorID: fakeSecret(t.accessor, 'uuid'), SecretID: fakeSecret(t.secret, 'uuid'), Policies: [{ Name: t.policy }] });
    assert.equal(k.status, 200, k.text);
  }
}

/** An inventory of one LB on loopback with one app `tls: acme` ordered from `pebble`; its path. */
export function writeAcmeInventory(work: string, pebble: RunningPebble, app: string, names: readonly string[], extraVars = ''): string {
  const inventoryFile = join(work, 'inventory.yaml');
  writeFileSync(
    inventoryFile,
    `all:\n  vars:\n${extraVars}    acme:\n      directory: ${pebble.directoryUrl}\n      ca_bundle: ${pebble.caBundle}\n      attempts: 2\n      retry_delay: 1\n` +
      `    apps:\n      - name: ${app}\n        server_name: [${names.join(', ')}]\n        tls: acme\n` +
      `  children:\n    lb:\n      hosts:\n        lb1: { address: 127.0.0.1, private_address: 127.0.0.1 }\n`,
  );
  return inventoryFile;
}

/** nginx's rendered files moved under `prefix` and onto the test's loopback ports. */
export function nginxOnLoopback(prefix: string, ports: { http: number; https: number }): (text: string) => string {
  return (text) =>
    text
      .replaceAll('/etc/nginx/acme-challenge.conf', `${prefix}/acme-challenge.conf`)
      .replaceAll('/etc/nginx/acme/', `${prefix}/acme/`)
      .replaceAll('/var/log/nginx/', `${prefix}/logs/`)
      .replace(/listen 80;/g, `listen 127.0.0.1:${ports.http};`)
      .replace(/listen 443 ssl/g, `listen 127.0.0.1:${ports.https} ssl`);
}

/** The file the playbooks render at `dest` (the test fails naming it when there is none). */
export function renderedFile(files: RenderedFile[], dest: string): string {
  const found = files.find((f) => f.dest === dest);
  assert.ok(found, `rendered ${dest}`);
  return found.content;
}

/**
 * An nginx LB of the app `shop` laid out under `work` as the playbooks render it: the scripts
 * (`acme-renew` first) in `bin`, the ACME token, header and CA bundle in `etc`, nginx's files under
 * `prefix` on the test's ports, and the app's port-80 server as consul-template renders it from
 * `agent`. Returns nginx's configuration file.
 */
export async function layOutNginxAcmeLb(o: {
  files: RenderedFile[];
  work: string;
  prefix: string;
  bin: string;
  etc: string;
  ports: { http: number; https: number };
  caBundle: string;
  agent: DevConsul;
  consulTemplateBinary: string;
  scripts: string[];
}): Promise<string> {
  const { files, prefix, bin, etc, ports, agent } = o;
  const moved = nginxOnLoopback(prefix, ports);
  for (const name of o.scripts) {
    writeFileSync(join(bin, name), renderedFile(files, `/usr/local/lib/bootstrap/${name}`));
    chmodSync(join(bin, name), 0o755);
  }
  writeFileSync(join(etc, 'consul.token'), renderedFile(files, '/etc/bootstrap/acme/consul.token'), { mode: 0o600 });
  writeFileSync(join(etc, 'consul.header'), renderedFile(files, '/etc/bootstrap/acme/consul.header'), { mode: 0o600 });
  copyFileSync(o.caBundle, join(etc, 'ca.pem'));

  const statics: Record<string, string> = {};
  for (const f of files) if (f.dest.startsWith('/etc/nginx/conf.d/')) statics[f.dest.split('/').pop()!] = f.content;
  const conf = nginxPrefixConfig(prefix, statics, ports);
  mkdirSync(join(prefix, 'acme', 'shop'), { recursive: true, mode: 0o700 });
  writeFileSync(join(prefix, 'acme-challenge.conf'), renderedFile(files, '/etc/nginx/acme-challenge.conf').replace('127.0.0.1:8500', `127.0.0.1:${agent.httpPort}`), { mode: 0o600 });
  writeFileSync(join(prefix, 'acme', 'shop', 'https.template'), moved(renderedFile(files, '/etc/nginx/acme/shop/https.template')));

  const ctDir = join(o.work, 'ct');
  mkdirSync(ctDir);
  writeFileSync(join(ctDir, 'shop.ctmpl'), renderedFile(files, '/etc/consul-template/templates/shop.ctmpl'));
  const dest = join(prefix, 'conf.d', 'shop.conf');
  const rendered = await run([o.consulTemplateBinary, '-once', `-consul-addr=127.0.0.1:${agent.httpPort}`, `-template=${join(ctDir, 'shop.ctmpl')}:${dest}`], {
    env: { ...process.env, CONSUL_HTTP_TOKEN: fakeSecret('consul_template_token', 'uuid') },
  });
  assert.equal(rendered.code, 0, rendered.stderr);
  writeFileSync(dest, moved(readFileSync(dest, 'utf8')));
  return conf;
}
