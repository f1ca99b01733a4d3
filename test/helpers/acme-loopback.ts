/**
 * What the loopback tests of tls: acme (stack-acme, stack-acme-ari, stack-haproxy-acme) set up
 * alike: the stack's own ACL policies and tokens in a dev consul, and the LB inventory that points
 * acme at their Pebble.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { RunningPebble } from '../../src/lab/pebble.js';
import { fakeSecret, PLAYBOOKS, type DevConsul } from '../golden/stack-harness.js';

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
