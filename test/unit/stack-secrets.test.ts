import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createSecretStore } from '../../src/secrets/store.js';

const dir = mkdtempSync(join(tmpdir(), 'stack-secrets-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('secrets are generated once, kept beside the inventory with private modes', () => {
  const first = createSecretStore(dir);
  const gossip = first.get('consul_gossip_key', 'gossip');
  assert.equal(Buffer.from(gossip, 'base64').length, 32);
  const token = first.get('consul_agent_token', 'uuid');
  assert.match(token, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const again = createSecretStore(dir);
  assert.equal(again.get('consul_gossip_key', 'gossip'), gossip);
  assert.equal(again.get('consul_agent_token', 'uuid'), token);
  assert.notEqual(again.get('registrator_token', 'uuid'), token);
  assert.equal(statSync(join(dir, '.bootstrap', 'secrets')).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, '.bootstrap', 'secrets', 'consul_gossip_key')).mode & 0o777, 0o600);
  assert.equal(readFileSync(join(dir, '.bootstrap', 'secrets', 'consul_gossip_key'), 'utf8'), `${gossip}\n`);
});

test('a damaged secret file or a bad name is an error, not a silent new secret', () => {
  const store = createSecretStore(dir);
  writeFileSync(join(dir, '.bootstrap', 'secrets', 'broken'), 'not-a-uuid\n', { mode: 0o600 });
  assert.throws(() => store.get('broken', 'uuid'), /not a uuid secret/);
  assert.throws(() => store.get('../escape', 'uuid'), /invalid secret name/);
});
