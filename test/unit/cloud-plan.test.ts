import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { rateLimitWaitMs } from '../../src/cloud/api.js';
import { ExitCode } from '../../src/errors.js';
import { renderInventory } from '../../src/cloud/inventory-writer.js';
import { validApiUrl, validEnvName, validProvider } from '../../src/cloud/options.js';
import { planUp } from '../../src/cloud/plan.js';
import { parsePublicKey, readPublicKey } from '../../src/cloud/ssh-key.js';
import { readToken, redact } from '../../src/cloud/token.js';
import type { CloudSpec, DoDroplet } from '../../src/cloud/types.js';
import { envNameProblem, parseDropletName, roleOf } from '../../src/cloud/naming.js';
import { dropletProgress } from '../../src/cloud/droplet-progress.js';

const run = promisify(execFile);

async function realKey(): Promise<{ path: string; md5: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cloud-key-'));
  const path = join(dir, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'me@laptop', '-f', path]);
  const { stdout } = await run('ssh-keygen', ['-l', '-E', 'md5', '-f', `${path}.pub`]);
  return { path: `${path}.pub`, md5: stdout.split(/\s+/)[1]!.replace(/^MD5:/, '') };
}

const spec: CloudSpec = { env: 'dev', region: 'fra1', size: 's-1vcpu-1gb', image: 'debian-12-x64', counts: { lb: 1, web: 2 } };

function droplet(name: string, tags: string[]): DoDroplet {
  return { id: name.length, name, status: 'active', size_slug: 's-1vcpu-1gb', tags, networks: { v4: [] } };
}

test('the MD5 fingerprint matches ssh-keygen -E md5 (how Digital Ocean names keys)', async () => {
  const { path, md5 } = await realKey();
  const key = await readPublicKey(path);
  assert.equal(key.md5Fingerprint, md5);
  assert.equal(key.comment, 'me@laptop');
  assert.throws(() => parsePublicKey('-----BEGIN OPENSSH PRIVATE KEY-----', 'id'), /private key/);
  await assert.rejects(readPublicKey('/nonexistent/key.pub'), (e: any) => e.exitCode === ExitCode.INVALID_INPUT);
});

const noVpcYet = { droplets: [], regionHasVpc: false, tags: [] };

test('a fresh environment plans key, region default VPC, its own VPC, then one create per role with the env and role tags', async () => {
  const key = await readPublicKey((await realKey()).path);
  const plan = planUp(spec, key, noVpcYet);
  assert.deepEqual(plan.steps.map((s) => s.kind), ['create-ssh-key', 'create-vpc', 'create-vpc', 'create-droplets', 'create-droplets']);
  const [, regionDefault, own, lb, web] = plan.steps;
  assert.ok(regionDefault?.kind === 'create-vpc' && own?.kind === 'create-vpc');
  assert.deepEqual([regionDefault.regionDefault, regionDefault.body.name, own.regionDefault, own.body.name], [true, 'default-fra1', false, 'bootstrap-dev']);
  assert.match(plan.warnings.join(), /region fra1 has no VPC yet/);
  assert.ok(lb?.kind === 'create-droplets' && web?.kind === 'create-droplets');
  assert.deepEqual(lb.body.names, ['dev-lb1']);
  assert.deepEqual(web.body.names, ['dev-web1', 'dev-web2']);
  assert.deepEqual(web.body.tags, ['bootstrap', 'bootstrap:dev', 'bootstrap:dev:web']);
  assert.deepEqual(web.body.ssh_keys, [key.md5Fingerprint]);
  assert.equal(web.body.vpc_uuid, undefined);
  // A region that has a VPC already: only the environment's own.
  assert.deepEqual(planUp(spec, key, { ...noVpcYet, regionHasVpc: true }).steps.map((s) => s.kind), ['create-ssh-key', 'create-vpc', 'create-droplets', 'create-droplets']);
});

test('only missing indices are created; a broken droplet is deleted and its name reused; tags keep the account capitalisation', async () => {
  const key = await readPublicKey((await realKey()).path);
  const vpc = { id: 'v1', name: 'bootstrap-dev', region: 'fra1' };
  const sshKey = { id: 1, fingerprint: key.md5Fingerprint, public_key: key.line, name: 'k' };
  const droplets = [
    { role: 'lb' as const, droplet: droplet('dev-lb1', ['bootstrap', 'bootstrap:dev', 'bootstrap:dev:lb']) },
    { role: 'web' as const, droplet: droplet('dev-web2', ['bootstrap', 'bootstrap:dev', 'bootstrap:dev:web']) },
  ];
  const state = { sshKey, vpc, droplets, regionHasVpc: true, tags: ['Bootstrap', 'Bootstrap:Dev', 'bootstrap:dev:lb'] };
  const plan = planUp({ ...spec, counts: { lb: 1, web: 3 } }, key, state);
  assert.equal(plan.steps.length, 1);
  const [step] = plan.steps;
  assert.ok(step?.kind === 'create-droplets');
  assert.deepEqual(step.body.names, ['dev-web1', 'dev-web3']);
  assert.deepEqual(step.body.tags, ['Bootstrap', 'Bootstrap:Dev', 'bootstrap:dev:web']);
  assert.equal(step.body.vpc_uuid, 'v1');
  assert.deepEqual(planUp({ ...spec, counts: { lb: 1, web: 1 } }, key, state).steps, []);
  assert.match(planUp({ ...spec, counts: { lb: 1, web: 0 } }, key, state).warnings.join(), /never removes/);

  const broken = { ...state, droplets: [droplets[0]!, { ...droplets[1]!, broken: 'its create action 7 errored' }] };
  const replace = planUp({ ...spec, counts: { lb: 1, web: 2 } }, key, broken);
  assert.deepEqual(replace.steps.map((s) => (s.kind === 'delete-droplet' ? `delete ${s.name}` : s.kind === 'create-droplets' ? `create ${s.body.names.join(' ')}` : s.kind)), [
    'delete dev-web2',
    'create dev-web1 dev-web2',
  ]);
  assert.match(planUp(spec, key, { ...state, vpc: { ...vpc, default: true } }).warnings.join(), /default VPC of fra1: down will not be able to delete it/);
});

test('environment names: what the published droplet, VPC and tag patterns all accept; tags and roles compared without case', async () => {
  for (const ok of ['9lives', 'Prod0', 'a', 'qa-10-Blue', 'x'.repeat(191)]) assert.equal(validEnvName(ok), ok);
  for (const bad of ['', 'a.b', 'a_b', 'a b', 'x'.repeat(192)]) assert.throws(() => validEnvName(bad), (e: any) => e.exitCode === ExitCode.INVALID_INPUT, bad);
  assert.equal(envNameProblem('web.0'), `it makes the tag "bootstrap:web.0:web", which does not match the API's pattern ${'^[a-zA-Z0-9_\\-:]+$'}`);
  assert.equal(roleOf(droplet('x', ['BOOTSTRAP:Dev:Web']), 'dev'), 'web');
  assert.deepEqual(parseDropletName('DEV-LB12', 'dev'), { role: 'lb', index: 12 });
  assert.equal(parseDropletName('dev-lb1x', 'dev'), undefined);
  const key = await readPublicKey((await realKey()).path);
  assert.throws(() => planUp(spec, key, { ...noVpcYet, vpc: { id: 'v', name: 'bootstrap-dev', region: 'nyc3' } }), /--region nyc3/);
  assert.throws(() => validProvider('aws'), /digitalocean/);
  assert.throws(() => validApiUrl('http://api.example.com'), /https/);
  assert.equal(validApiUrl('http://127.0.0.1:8080/'), 'http://127.0.0.1:8080');
});

test('token files readable by others are refused; the token never survives redaction', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cloud-token-'));
  const file = join(dir, 'token');
  await writeFile(file, 'dop_v1_secret\n');
  await chmod(file, 0o644);
  await assert.rejects(readToken(file, {}), (e: any) => e.exitCode === ExitCode.INVALID_INPUT && /chmod 600/.test(e.message));
  await chmod(file, 0o600);
  assert.equal(await readToken(file, {}), 'dop_v1_secret');
  assert.equal(await readToken(undefined, { DIGITALOCEAN_TOKEN: 'dop_env' }), 'dop_env');
  await assert.rejects(readToken(undefined, {}), /DIGITALOCEAN_TOKEN/);
  assert.equal(redact('a dop_v1_secret b dop_v1_secret', 'dop_v1_secret'), 'a [REDACTED] b [REDACTED]');
});

test('a 429 waits until ratelimit-reset (epoch seconds), or Retry-After when sent', () => {
  const now = 1_700_000_000_000;
  assert.equal(rateLimitWaitMs(new Headers({ 'ratelimit-reset': String(now / 1000 + 42) }), now), 42_000);
  assert.equal(rateLimitWaitMs(new Headers({ 'ratelimit-reset': String(now / 1000 + 42), 'retry-after': '3' }), now), 3000);
});

test('re-rendering an inventory keeps what the user added and replaces the hosts', async () => {
  const files = { inventoryPath: 'inventory/dev.yaml', knownHostsPath: 'inventory/dev.known_hosts', sshPort: 22 };
  const first = renderInventory(undefined, 'dev', [{ name: 'lb1', role: 'lb', address: '203.0.113.1', privateAddress: '10.1.0.2' }], files);
  const doc = parse(first);
  doc.all.vars.datacenter = 'dc9';
  const second = renderInventory(stringify(doc), 'dev', [{ name: 'web1', role: 'web', address: '203.0.113.2' }], { ...files, sshPort: 2222 });
  const parsed = parse(second);
  assert.equal(parsed.all.vars.datacenter, 'dc9');
  assert.deepEqual(parsed.all.vars.ssh, { user: 'root', port: 2222, known_hosts: './dev.known_hosts' });
  assert.deepEqual(parsed.all.children.lb.hosts, {});
  assert.deepEqual(parsed.all.children.web.hosts, { web1: { address: '203.0.113.2' } });
});

test('a droplet status droplet.yml does not name is read as not coming up: the create action is read and both are named', async () => {
  const droplet = (status: string): DoDroplet => ({ id: 7, name: 'dev-web1', status, size_slug: 's-1vcpu-1gb', tags: [], networks: { v4: [] } });
  let reads = 0;
  const completed = async () => (reads++, { id: 99, status: 'completed' as const, type: 'create' });
  assert.deepEqual(await dropletProgress(droplet('migrating'), completed), { kind: 'failed', why: 'dev-web1 (id 7) is "migrating", neither new nor active (its create action 99 is completed): delete it, or run up again once it is active' });
  assert.deepEqual(await dropletProgress(droplet('archive'), async () => undefined), { kind: 'failed', why: 'dev-web1 (id 7) is "archive", neither new nor active (it has no create action): delete it, or run up again once it is active' });
  assert.deepEqual(await dropletProgress(droplet('new'), completed), { kind: 'waiting', what: 'dev-web1:new' });
  assert.deepEqual(await dropletProgress(droplet('active'), completed), { kind: 'waiting', what: 'dev-web1:active without public IPv4' });
  assert.equal(reads, 2, 'the create action is read for every status but active');
});
