/**
 * `bootstrap cloud up|down|status --provider digitalocean` against a local server implementing
 * the Digital Ocean API v2 endpoints we use as specified by github.com/digitalocean/openapi
 * (OpenAPI "DigitalOcean API" info.version 2.0; specification/DigitalOcean-public.v2.yaml at
 * commit 0001ccfee2c62fc5d9603a4a8e3069366150c43c, per-file commits in SPEC_FILES of
 * test/helpers/fake-digitalocean.ts). Droplets' public IPv4 is 127.0.0.1, where a real
 * OpenSSH sshd (test/helpers/sshd.ts) answers, so host keys are really fetched.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { cloudCommand, type CloudDeps } from '../../src/cloud/cli.js';
import type { Clock } from '../../src/cloud/clock.js';
import { ExitCode } from '../../src/errors.js';
import { loadInventory } from '../../src/inventory/load.js';
import { FakeDigitalOcean, SPEC_FILES, type FakeOptions } from '../helpers/fake-digitalocean.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

const run = promisify(execFile);
const TOKEN = 'dop_v1_0123456789abcdef-test-token-never-printed';

let sshd: Sshd;
let workDir: string;

before(async () => {
  sshd = await startSshd();
  workDir = await mkdtemp(join(tmpdir(), 'cloud-it-'));
});
after(async () => {
  await sshd?.stop();
});

/** Time that moves only when slept on, starting now; records every sleep. */
function virtualClock(): Clock & { sleeps: number[] } {
  let t = Date.now();
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
      await new Promise((r) => setImmediate(r));
    },
  };
}

interface Harness {
  fake: FakeDigitalOcean;
  clock: ReturnType<typeof virtualClock>;
  inventory: string;
  cloud(args: string[], deps?: Partial<CloudDeps>): Promise<{ stdout: string; stderr: string; error?: any }>;
}

async function harness(env: string, opts: Partial<FakeOptions> = {}): Promise<Harness> {
  const clock = virtualClock();
  const fake = new FakeDigitalOcean({ token: TOKEN, publicIpv4: '127.0.0.1', now: clock.now, ...opts });
  await fake.start();
  after(() => fake.stop());
  const inventory = join(workDir, env, 'inventory', `${env}.yaml`);
  return {
    fake,
    clock,
    inventory,
    async cloud(args, deps = {}) {
      let stdout = '';
      let stderr = '';
      const cmd = cloudCommand({
        env: { DIGITALOCEAN_TOKEN: TOKEN },
        stdout: (s) => void (stdout += s),
        stderr: (s) => void (stderr += s),
        clock,
        stdinIsTTY: false,
        ask: async () => assert.fail('unexpected confirmation prompt'),
        ...deps,
      });
      cmd.exitOverride();
      for (const sub of cmd.commands) sub.exitOverride();
      const [sub, ...rest] = args;
      const full = [sub!, '--provider', 'digitalocean', '--name', env, '--api-url', fake.url, ...rest];
      if (sub === 'up') full.push('--ssh-key', `${sshd.clientKeyPath}.pub`, '--ssh-port', String(sshd.port), '--inventory', inventory);
      let error: any;
      try {
        await cmd.parseAsync(full, { from: 'user' });
      } catch (err) {
        error = err;
      }
      assert.ok(!stdout.includes(TOKEN) && !stderr.includes(TOKEN), 'the token never appears in output');
      if (error) assert.ok(!String(error.message).includes(TOKEN), 'the token never appears in errors');
      return { stdout, stderr, error };
    },
  };
}

const listPath = (env: string): string => `/v2/droplets?tag_name=bootstrap%3A${env}&per_page=200`;

test('the fake follows a recorded version of the published specification', () => {
  assert.equal(SPEC_FILES['specification/DigitalOcean-public.v2.yaml'], '0001ccfee2c62fc5d9603a4a8e3069366150c43c');
});

test('a fresh up makes exactly these requests, records real host keys and writes the inventory', async () => {
  const h = await harness('fresh');
  const r = await h.cloud(['up']);
  assert.equal(r.error, undefined, r.error?.message);
  const vpc = h.fake.vpcs.find((v) => v.name === 'bootstrap-fresh')!;
  const publicKey = (await readFile(`${sshd.clientKeyPath}.pub`, 'utf8')).trim();
  const fingerprint = h.fake.sshKeys[0]!.fingerprint;
  const common = { region: 'fra1', size: 's-1vcpu-1gb', image: 'debian-12-x64', ssh_keys: [fingerprint], vpc_uuid: vpc.id, ipv6: false, monitoring: false };
  const expected = [
    { method: 'GET', path: '/v2/account/keys?per_page=200' },
    { method: 'GET', path: '/v2/vpcs?per_page=200' },
    { method: 'GET', path: listPath('fresh') },
    { method: 'POST', path: '/v2/account/keys', body: { name: 'bootstrap test-client', public_key: publicKey } },
    { method: 'POST', path: '/v2/vpcs', body: { name: 'bootstrap-fresh', region: 'fra1', description: 'bootstrap environment fresh' } },
    { method: 'POST', path: '/v2/droplets', body: { names: ['fresh-lb1'], ...common, tags: ['bootstrap', 'bootstrap:fresh', 'bootstrap:fresh:lb'] } },
    { method: 'POST', path: '/v2/droplets', body: { names: ['fresh-web1', 'fresh-web2'], ...common, tags: ['bootstrap', 'bootstrap:fresh', 'bootstrap:fresh:web'] } },
  ];
  assert.deepEqual(h.fake.requests.slice(0, expected.length), expected);
  const polls = h.fake.requests.slice(expected.length);
  assert.ok(polls.length >= 2, 'polled until active');
  assert.ok(polls.every((q) => q.method === 'GET' && q.path === listPath('fresh')), JSON.stringify(polls));
  assert.ok(h.clock.sleeps.length > 0, 'waited with backoff between polls');

  // Inventory: public and private addresses by network type; ssh settings point at the known_hosts beside it.
  const inv = parse(await readFile(h.inventory, 'utf8'));
  const byName = (name: string) => h.fake.droplets.find((d) => d.name === name)!;
  assert.deepEqual(inv.all.children.lb.hosts, { lb1: { address: '127.0.0.1', private_address: byName('fresh-lb1').privateIp } });
  assert.deepEqual(Object.keys(inv.all.children.web.hosts), ['web1', 'web2']);
  assert.equal(inv.all.children.web.hosts.web2.private_address, byName('fresh-web2').privateIp);
  assert.match(inv.all.children.web.hosts.web2.private_address, /^10\.\d+\.0\.\d+$/);
  assert.deepEqual(inv.all.vars.ssh, { user: 'root', port: sshd.port, key: sshd.clientKeyPath, known_hosts: './fresh.known_hosts' });
  // ...and it is an inventory the project's own loader accepts.
  const loaded = loadInventory(h.inventory);
  assert.deepEqual([...loaded.hosts.keys()].sort(), ['lb1', 'web1', 'web2']);
  assert.equal(loaded.hosts.get('web1')!.privateAddress, byName('fresh-web1').privateIp);

  // Host keys: the real server's key, shown with the fingerprint ssh-keygen computes.
  const knownHosts = join(h.inventory, '..', 'fresh.known_hosts');
  const lines = (await readFile(knownHosts, 'utf8')).trim().split('\n');
  assert.equal(lines.length, 3);
  for (const line of lines) assert.equal(line, `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}`);
  const { stdout: keygen } = await run('ssh-keygen', ['-l', '-f', `${sshd.hostKeyPath}.pub`]).catch(() => run('ssh-keygen', ['-l', '-f', sshd.hostKeyPath]));
  const sha = keygen.split(/\s+/)[1]!;
  assert.match(r.stderr, new RegExp(`lb1 \\(fresh-lb1, 127\\.0\\.0\\.1\\): host key ssh-ed25519 ${sha.replace(/[+/]/g, '\\$&')}`));
  assert.ok(r.stdout.includes(sha));
  // OpenSSH itself accepts the recorded key with strict checking.
  const ssh = await run('ssh', ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-i', sshd.clientKeyPath, '-p', String(sshd.port), 'root@127.0.0.1', 'echo ok']);
  assert.equal(ssh.stdout.trim(), 'ok');

  // Idempotent: a second up finds everything by tag and changes nothing.
  const before2 = h.fake.mutatingRequests().length;
  const again = await h.cloud(['up']);
  assert.equal(again.error, undefined, again.error?.message);
  assert.equal(h.fake.mutatingRequests().length, before2, 'second up makes no POST');
  assert.equal(h.fake.droplets.length, 3);

  // --web 3 adds exactly one droplet.
  const more = await h.cloud(['up', '--web', '3']);
  assert.equal(more.error, undefined, more.error?.message);
  const added = h.fake.mutatingRequests().slice(before2);
  assert.equal(added.length, 1);
  assert.deepEqual((added[0]!.body as any).names, ['fresh-web3']);
  assert.deepEqual(Object.keys(parse(await readFile(h.inventory, 'utf8')).all.children.web.hosts), ['web1', 'web2', 'web3']);
});

test('a failure half way is completed by the next up, with nothing created twice', async () => {
  const h = await harness('half');
  h.fake.failDropletCreatesAfter(1);
  const failed = await h.cloud(['up']);
  assert.equal(failed.error?.exitCode, ExitCode.TASK_FAILED);
  assert.match(failed.error.message, /POST \/v2\/droplets failed: HTTP 500 server_error Unexpected server-side error \(request_id [0-9a-f-]+\)/);
  assert.deepEqual(h.fake.droplets.map((d) => d.name), ['half-lb1']);

  h.fake.failDropletCreatesAfter(undefined);
  const mark = h.fake.requests.length;
  const done = await h.cloud(['up']);
  assert.equal(done.error, undefined, done.error?.message);
  const posts = h.fake.requests.slice(mark).filter((q) => q.method !== 'GET');
  assert.equal(posts.length, 1, 'key and VPC are reused');
  assert.deepEqual((posts[0]!.body as any).names, ['half-web1', 'half-web2']);
  assert.deepEqual(h.fake.droplets.map((d) => d.name).sort(), ['half-lb1', 'half-web1', 'half-web2']);
});

test('after a failure half way, down cleans up what was created', async () => {
  const h = await harness('halfdown');
  h.fake.failDropletCreatesAfter(1);
  assert.equal((await h.cloud(['up'])).error?.exitCode, ExitCode.TASK_FAILED);
  const r = await h.cloud(['down', '--yes']);
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(h.fake.droplets.length, 0);
  assert.equal(h.fake.vpcs.some((v) => v.name === 'bootstrap-halfdown'), false);
  assert.match(r.stdout, /droplet halfdown-lb1/);
});

test('429 waits for ratelimit-reset; 500s and lost responses are retried without duplicates', async () => {
  const h = await harness('retry');
  h.fake.rateLimitNext(1, 30);
  h.fake.serverErrorNext(2, { method: 'GET', pathPrefix: '/v2/vpcs' });
  h.fake.serverErrorNext(1, { method: 'POST', pathPrefix: '/v2/droplets' }, true);
  const r = await h.cloud(['up']);
  assert.equal(r.error, undefined, r.error?.message);
  const rateWait = h.clock.sleeps[0]!;
  assert.ok(rateWait >= 29_000 && rateWait <= 30_000, `waited ${rateWait}ms for the rate limit`);
  assert.match(r.stderr, /rate limited on GET \/v2\/account\/keys/);
  assert.equal(h.fake.requests.filter((q) => q.path === '/v2/account/keys?per_page=200').length, 2);
  assert.equal(h.fake.requests.filter((q) => q.path === '/v2/vpcs?per_page=200').length, 3);
  assert.deepEqual(h.fake.droplets.map((d) => d.name).sort(), ['retry-lb1', 'retry-web1', 'retry-web2'], 'the lost create response did not duplicate lb1');
});

test('persistent 5xx fails with status, id and message after bounded attempts', async () => {
  const h = await harness('broken');
  h.fake.serverErrorNext(100, { method: 'GET' });
  const r = await h.cloud(['status']);
  assert.equal(r.error?.exitCode, ExitCode.TASK_FAILED);
  assert.match(r.error.message, /GET \/v2\/droplets\?tag_name=bootstrap%3Abroken&per_page=200 failed: HTTP 500 server_error Unexpected server-side error/);
  assert.equal(h.fake.requests.length, 5);
});

test('down deletes only the droplets carrying the environment tag, then its VPC', async () => {
  const h = await harness('gone');
  assert.equal((await h.cloud(['up'])).error, undefined);
  const survivors = [
    h.fake.seedDroplet({ name: 'other-web1', tags: ['bootstrap', 'bootstrap:other', 'bootstrap:other:web'] }),
    h.fake.seedDroplet({ name: 'gone-web9', tags: [] }),
    h.fake.seedDroplet({ name: 'gone-lb9', tags: ['bootstrap', 'bootstrap:gone-2'] }),
    h.fake.seedDroplet({ name: 'handmade', tags: ['bootstrap'] }),
  ];
  const mark = h.fake.requests.length;

  const refused = await h.cloud(['down']);
  assert.equal(refused.error?.exitCode, ExitCode.INVALID_INPUT);
  assert.match(refused.error.message, /not a terminal; pass --yes/);
  const notConfirmed = await h.cloud(['down'], { stdinIsTTY: true, ask: async () => 'no' });
  assert.equal(notConfirmed.error?.exitCode, ExitCode.INVALID_INPUT);
  const dry = await h.cloud(['down', '--dry-run']);
  assert.match(dry.stdout, /DELETE http:\/\/127\.0\.0\.1:\d+\/v2\/droplets\?tag_name=bootstrap%3Agone/);
  assert.deepEqual(h.fake.requests.slice(mark).filter((q) => q.method !== 'GET'), [], 'no change before confirmation');

  const vpcId = h.fake.vpcs.find((v) => v.name === 'bootstrap-gone')!.id;
  const r = await h.cloud(['down'], { stdinIsTTY: true, ask: async (q) => (assert.match(q, /gone/), 'gone') });
  assert.equal(r.error, undefined, r.error?.message);
  const mutations = h.fake.requests.slice(mark).filter((q) => q.method !== 'GET');
  assert.deepEqual(mutations[0], { method: 'DELETE', path: '/v2/droplets?tag_name=bootstrap%3Agone' });
  assert.ok(mutations.length >= 3, 'the VPC delete was retried while its membership lingered');
  assert.ok(mutations.slice(1).every((q) => q.method === 'DELETE' && q.path === `/v2/vpcs/${vpcId}`));
  assert.deepEqual(h.fake.droplets.map((d) => d.name).sort(), survivors.map((d) => d.name).sort());
  assert.equal(h.fake.vpcs.some((v) => v.id === vpcId), false);
  assert.match(r.stdout, /destroyed:\n  droplet gone-lb1 .*\n  droplet gone-web1 .*\n  droplet gone-web2 .*\n  VPC bootstrap-gone/);

  const nothing = await h.cloud(['down', '--yes']);
  assert.match(nothing.stdout, /nothing to destroy/);
});

test('--dry-run prints the requests (method, URL, JSON body) and changes nothing', async () => {
  const h = await harness('dry');
  const r = await h.cloud(['up', '--dry-run']);
  assert.equal(r.error, undefined, r.error?.message);
  assert.deepEqual(h.fake.mutatingRequests(), []);
  const lines = r.stdout.trim().split('\n').slice(1);
  assert.deepEqual(lines.map((l) => l.split(' ').slice(0, 2).join(' ')), [
    `POST ${h.fake.url}/v2/account/keys`,
    `POST ${h.fake.url}/v2/vpcs`,
    `POST ${h.fake.url}/v2/droplets`,
    `POST ${h.fake.url}/v2/droplets`,
  ]);
  assert.deepEqual(JSON.parse(lines[3]!.split(' ').slice(2).join(' ')).names, ['dry-web1', 'dry-web2']);
  const json = await h.cloud(['up', '--dry-run', '--output', 'json']);
  assert.equal(JSON.parse(json.stdout).requests.length, 4);
  assert.deepEqual(h.fake.mutatingRequests(), []);
});

test('status lists role, addresses, size and the hourly cost from /v2/sizes, across pages', async () => {
  const h = await harness('cost', { perPageCap: 2 });
  assert.equal((await h.cloud(['up', '--web', '4'])).error, undefined);
  const mark = h.fake.requests.length;
  const r = await h.cloud(['status']);
  assert.equal(r.error, undefined, r.error?.message);
  const pages = h.fake.requests.slice(mark).filter((q) => q.path.startsWith('/v2/droplets'));
  assert.equal(pages.length, 3, 'five droplets at two per page');
  assert.match(pages[2]!.path, /page=3/);
  assert.match(r.stdout, /cost-web4\s+web\s+active\s+127\.0\.0\.1\s+10\.\d+\.0\.\d+\s+s-1vcpu-1gb\s+\$0\.0089/);
  assert.match(r.stdout, /estimated cost: \$0\.0447 per hour/);
  const json = JSON.parse((await h.cloud(['status', '--output', 'json'])).stdout);
  assert.equal(json.droplets.length, 5);
  assert.ok(Math.abs(json.totalHourly - 5 * 0.00893) < 1e-9);
});

test('bad options and a missing or exposed token are invalid input, before any request', async () => {
  const h = await harness('badinput');
  const provider = await h.cloud(['status', '--provider', 'aws']);
  assert.equal(provider.error?.exitCode, ExitCode.INVALID_INPUT);
  assert.match(provider.error.message, /--provider: expected digitalocean/);
  const noToken = await h.cloud(['status'], { env: {} });
  assert.equal(noToken.error?.exitCode, ExitCode.INVALID_INPUT);
  const tokenFile = join(workDir, 'token');
  await writeFile(tokenFile, `${TOKEN}\n`);
  await chmod(tokenFile, 0o640);
  const exposed = await h.cloud(['status', '--token-file', tokenFile], { env: {} });
  assert.equal(exposed.error?.exitCode, ExitCode.INVALID_INPUT);
  assert.equal(h.fake.requests.length, 0);
  await chmod(tokenFile, 0o600);
  const fromFile = await h.cloud(['status', '--token-file', tokenFile], { env: {} });
  assert.equal(fromFile.error, undefined, fromFile.error?.message);
  const wrong = await h.cloud(['status'], { env: { DIGITALOCEAN_TOKEN: 'dop_v1_wrong' } });
  assert.equal(wrong.error?.exitCode, ExitCode.TASK_FAILED);
  assert.match(wrong.error.message, /HTTP 401 unauthorized Unable to authenticate you/);
  const count = await h.cloud(['up', '--web', 'many']);
  assert.match(count.error?.message ?? '', /--web: expected an integer 0-50, got "many"/);
});
