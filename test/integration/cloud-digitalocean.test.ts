/**
 * `bootstrap cloud up|down|status --provider digitalocean` against a local server for the
 * Digital Ocean API v2 endpoints we use, following github.com/digitalocean/openapi (main at
 * SPEC_COMMIT; the files and what is taken from each in SPEC_FILES of
 * test/helpers/fake-digitalocean.ts). Droplets' public IPv4 is 127.0.0.1, where a real OpenSSH
 * sshd (test/helpers/sshd.ts) answers, so host keys are really fetched. Time is virtual: every
 * wait the client makes moves the clock of both sides, and costs nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { cloudCommand, type CloudDeps } from '../../src/cloud/cli.js';
import type { Clock } from '../../src/cloud/clock.js';
import { ExitCode } from '../../src/errors.js';
import { loadInventory } from '../../src/stack/inventory.js';
import { FakeDigitalOcean, type FakeOptions, type RecordedRequest } from '../helpers/fake-digitalocean.js';
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

const listPath = (env: string, tag = `bootstrap:${env}`): string => `/v2/droplets?tag_name=${encodeURIComponent(tag)}&per_page=200`;
const get = (path: string): RecordedRequest => ({ method: 'GET', path });
/** What every up reads first: keys, VPCs, tags, and the environment's droplets when its tag exists. */
const upReads = (env: string, tag?: string): RecordedRequest[] => [
  get('/v2/account/keys?per_page=200'),
  get('/v2/vpcs?per_page=200'),
  get('/v2/tags?per_page=200'),
  ...(tag ? [get(listPath(env, tag))] : []),
];
const byName = (...names: string[]): RecordedRequest[] => names.map((n) => get(`/v2/droplets?name=${encodeURIComponent(n)}&per_page=200`));
/** One poll of the wait: each droplet by ID, and its actions while it is still new. */
const poll = (ids: number[], stillNew: boolean): RecordedRequest[] =>
  ids.flatMap((id) => [get(`/v2/droplets/${id}`), ...(stillNew ? [get(`/v2/droplets/${id}/actions?per_page=200`)] : [])]);
/** With the fake's defaults (active 5 s after create) and the client's backoff (2 s, 4 s): new, new, active. */
const waitPolls = (ids: number[]): RecordedRequest[] => [...poll(ids, true), ...poll(ids, true), ...poll(ids, false)];
const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);
const ids = (h: Harness, ...names: string[]): number[] => names.map((n) => h.fake.droplets.find((d) => d.name === n)!.id);

test('case 1 and 3: tags lag, so up waits by the IDs of its creates; a region without VPC gets a default first; real host keys; inventory', async () => {
  const h = await harness('fresh', { tagLagMs: 60_000 });
  const r = await h.cloud(['up']);
  assert.equal(r.error, undefined, r.error?.message);
  const regionDefault = h.fake.vpcs.find((v) => v.name === 'default-fra1')!;
  const vpc = h.fake.vpcs.find((v) => v.name === 'bootstrap-fresh')!;
  // Case 3: the first VPC of fra1 became its default, so the environment's VPC is not, and stays deletable.
  assert.equal(regionDefault.default, true);
  assert.equal(vpc.default, false);
  assert.match(r.stderr, /region fra1 has no VPC yet.*creating default-fra1 first/);
  const publicKey = (await readFile(`${sshd.clientKeyPath}.pub`, 'utf8')).trim();
  const fingerprint = h.fake.sshKeys[0]!.fingerprint;
  const common = { region: 'fra1', size: 's-1vcpu-1gb', image: 'debian-12-x64', ssh_keys: [fingerprint], vpc_uuid: vpc.id, ipv6: false, monitoring: false };
  const [lb1, web1, web2] = ids(h, 'fresh-lb1', 'fresh-web1', 'fresh-web2');
  assert.deepEqual(h.fake.requests, [
    ...upReads('fresh'),
    ...byName('fresh-lb1', 'fresh-web1', 'fresh-web2'),
    { method: 'POST', path: '/v2/account/keys', body: { name: 'bootstrap test-client', public_key: publicKey } },
    { method: 'POST', path: '/v2/vpcs', body: { name: 'default-fra1', region: 'fra1', description: 'default VPC of fra1, made by bootstrap cloud up for environment fresh' } },
    { method: 'POST', path: '/v2/vpcs', body: { name: 'bootstrap-fresh', region: 'fra1', description: 'bootstrap environment fresh' } },
    { method: 'POST', path: '/v2/droplets', body: { names: ['fresh-lb1'], ...common, tags: ['bootstrap', 'bootstrap:fresh', 'bootstrap:fresh:lb'] } },
    { method: 'POST', path: '/v2/droplets', body: { names: ['fresh-web1', 'fresh-web2'], ...common, tags: ['bootstrap', 'bootstrap:fresh', 'bootstrap:fresh:web'] } },
    ...waitPolls([lb1!, web1!, web2!]),
  ]);
  // Case 1: the inventory was written while no droplet carried its tags yet.
  assert.deepEqual(h.fake.droplets.map((d) => [d.name, d.status, d.tags]), [
    ['fresh-lb1', 'active', []],
    ['fresh-web1', 'active', []],
    ['fresh-web2', 'active', []],
  ]);
  const inv = parse(await readFile(h.inventory, 'utf8'));
  const droplet = (name: string) => h.fake.droplets.find((d) => d.name === name)!;
  assert.deepEqual(inv.all.children.lb.hosts, { lb1: { address: '127.0.0.1', private_address: droplet('fresh-lb1').privateIp } });
  assert.deepEqual(inv.all.children.web.hosts, {
    web1: { address: '127.0.0.1', private_address: droplet('fresh-web1').privateIp },
    web2: { address: '127.0.0.1', private_address: droplet('fresh-web2').privateIp },
  });
  assert.match(inv.all.children.web.hosts.web2.private_address, /^10\.\d+\.0\.\d+$/);
  assert.deepEqual(inv.all.vars.ssh, { user: 'root', port: sshd.port, key: sshd.clientKeyPath, known_hosts: './fresh.known_hosts' });
  const loaded = loadInventory(h.inventory);
  assert.deepEqual([...loaded.hosts.keys()].sort(), ['lb1', 'web1', 'web2']);

  // Host keys: the real server's key, shown with the fingerprint ssh-keygen computes.
  const knownHosts = join(h.inventory, '..', 'fresh.known_hosts');
  const lines = (await readFile(knownHosts, 'utf8')).trim().split('\n');
  assert.equal(lines.length, 3);
  for (const line of lines) assert.equal(line, `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}`);
  const { stdout: keygen } = await run('ssh-keygen', ['-l', '-f', `${sshd.hostKeyPath}.pub`]).catch(() => run('ssh-keygen', ['-l', '-f', sshd.hostKeyPath]));
  const sha = keygen.split(/\s+/)[1]!;
  assert.match(r.stderr, new RegExp(`lb1 \\(fresh-lb1, 127\\.0\\.0\\.1\\): host key ssh-ed25519 ${sha.replace(/[+/]/g, '\\$&')}`));
  assert.ok(r.stdout.includes(sha));
  const ssh = await run('ssh', ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-i', sshd.clientKeyPath, '-p', String(sshd.port), 'root@127.0.0.1', 'echo ok']);
  assert.equal(ssh.stdout.trim(), 'ok');

  // A second up while the tags still lag finds the droplets by name in the environment's VPC: nothing is created twice.
  let mark = h.fake.requests.length;
  const again = await h.cloud(['up']);
  assert.equal(again.error, undefined, again.error?.message);
  assert.deepEqual(h.fake.requests.slice(mark), [...upReads('fresh'), ...byName('fresh-lb1', 'fresh-web1', 'fresh-web2'), ...poll([lb1!, web1!, web2!], false)]);
  assert.equal(h.fake.droplets.length, 3);
  assert.deepEqual(Object.keys(parse(await readFile(h.inventory, 'utf8')).all.children.web.hosts), ['web1', 'web2']);

  // Once the tags are applied, --web 3 adds exactly one droplet, found by tag on the next run.
  await h.clock.sleep(60_000);
  mark = h.fake.requests.length;
  const more = await h.cloud(['up', '--web', '3']);
  assert.equal(more.error, undefined, more.error?.message);
  const [web3] = ids(h, 'fresh-web3');
  assert.deepEqual(h.fake.requests.slice(mark), [
    ...upReads('fresh', 'bootstrap:fresh'),
    ...byName('fresh-web3'),
    { method: 'POST', path: '/v2/droplets', body: { names: ['fresh-web3'], ...common, tags: ['bootstrap', 'bootstrap:fresh', 'bootstrap:fresh:web'] } },
    ...poll([lb1!, web1!, web2!], false),
    ...poll([web3!], true),
    ...poll([web3!], true),
    ...poll([web3!], false),
  ]);
  assert.deepEqual(h.fake.mutatingRequests().slice(-1).map((q) => (q.body as any).names), [['fresh-web3']]);
  assert.deepEqual(Object.keys(parse(await readFile(h.inventory, 'utf8')).all.children.web.hosts), ['web1', 'web2', 'web3']);
  assert.equal(h.fake.droplets.length, 4);
});

test('case 1: a create whose response is lost while tags lag is found by name, not sent again', async () => {
  const h = await harness('lost', { tagLagMs: 60_000 });
  h.fake.serverErrorNext(1, { method: 'POST', pathPrefix: '/v2/droplets' }, true);
  const r = await h.cloud(['up', '--web', '1']);
  assert.equal(r.error, undefined, r.error?.message);
  const vpc = h.fake.vpcs.find((v) => v.name === 'bootstrap-lost')!;
  const common = { region: 'fra1', size: 's-1vcpu-1gb', image: 'debian-12-x64', ssh_keys: [h.fake.sshKeys[0]!.fingerprint], vpc_uuid: vpc.id, ipv6: false, monitoring: false };
  const [lb1, web1] = ids(h, 'lost-lb1', 'lost-web1');
  const mutations = h.fake.requests.filter((q) => q.method !== 'GET');
  assert.equal(mutations.length, 5, 'key, two VPCs and one create per role: the lost create was not resent');
  const afterVpcs = h.fake.requests.indexOf(mutations[2]!) + 1;
  assert.deepEqual(h.fake.requests.slice(afterVpcs), [
    { method: 'POST', path: '/v2/droplets', body: { names: ['lost-lb1'], ...common, tags: ['bootstrap', 'bootstrap:lost', 'bootstrap:lost:lb'] } },
    ...byName('lost-lb1'),
    { method: 'POST', path: '/v2/droplets', body: { names: ['lost-web1'], ...common, tags: ['bootstrap', 'bootstrap:lost', 'bootstrap:lost:web'] } },
    ...waitPolls([lb1!, web1!]),
  ]);
  assert.deepEqual(h.fake.droplets.map((d) => d.name), ['lost-lb1', 'lost-web1']);
  assert.deepEqual(Object.keys(parse(await readFile(h.inventory, 'utf8')).all.children.lb.hosts), ['lb1']);
});

test('case 1: no inventory until every droplet is active with both IPv4; the next up completes it without duplicates', async () => {
  const h = await harness('slow', { activeAfterMs: 30_000, tagLagMs: 120_000 });
  const r = await h.cloud(['up'], { timeouts: { activeMs: 5000, sshMs: 60_000, goneMs: 60_000, vpcDeleteMs: 60_000 } });
  assert.equal(r.error?.exitCode, ExitCode.TASK_FAILED);
  assert.match(r.error.message, /timed out after 5s waiting for droplets to become active with public and private IPv4 \(still waiting for slow-lb1:new, slow-web1:new, slow-web2:new\); no inventory was written/);
  assert.equal(await exists(h.inventory), false);
  const [lb1, web1, web2] = ids(h, 'slow-lb1', 'slow-web1', 'slow-web2');
  assert.deepEqual(h.fake.requests.slice(-12), [...poll([lb1!, web1!, web2!], true), ...poll([lb1!, web1!, web2!], true)]);

  const mark = h.fake.requests.length;
  const done = await h.cloud(['up']);
  assert.equal(done.error, undefined, done.error?.message);
  const second = h.fake.requests.slice(mark);
  assert.deepEqual(second.slice(0, 6), [...upReads('slow'), ...byName('slow-lb1', 'slow-web1', 'slow-web2')]);
  assert.deepEqual(second.filter((q) => q.method !== 'GET'), [], 'nothing created twice');
  assert.ok(second.slice(6).every((q) => /^\/v2\/droplets\/\d+(\/actions\?per_page=200)?$/.test(q.path)), 'then waits by ID only');
  assert.deepEqual(h.fake.droplets.map((d) => [d.name, d.status]), [['slow-lb1', 'active'], ['slow-web1', 'active'], ['slow-web2', 'active']]);
  assert.deepEqual(Object.keys(parse(await readFile(h.inventory, 'utf8')).all.children.web.hosts), ['web1', 'web2']);
});

test('case 1: down right after up, while tags lag, finds the droplets in the environment VPC and deletes them by ID', async () => {
  const h = await harness('early', { tagLagMs: 60_000, memberLingerMs: 0 });
  assert.equal((await h.cloud(['up', '--web', '1'])).error, undefined);
  const vpc = h.fake.vpcs.find((v) => v.name === 'bootstrap-early')!;
  // A hand-made droplet in the same VPC with a name that is not the environment's stays.
  const handmade = h.fake.seedDroplet({ name: 'early-db1', tags: [], vpc_uuid: vpc.id });
  const [lb1, web1] = ids(h, 'early-lb1', 'early-web1');
  const mark = h.fake.requests.length;
  const r = await h.cloud(['down', '--yes']);
  assert.equal(r.error?.exitCode, ExitCode.TASK_FAILED);
  assert.deepEqual(h.fake.requests.slice(mark), [
    get('/v2/tags?per_page=200'),
    get('/v2/vpcs?per_page=200'),
    get(`/v2/vpcs/${vpc.id}/members?per_page=200`),
    get(`/v2/droplets/${lb1}`),
    get(`/v2/droplets/${web1}`),
    { method: 'DELETE', path: `/v2/droplets/${lb1}` },
    { method: 'DELETE', path: `/v2/droplets/${web1}` },
    get(`/v2/droplets/${lb1}`),
    get(`/v2/droplets/${web1}`),
    { method: 'DELETE', path: `/v2/vpcs/${vpc.id}` },
    get(`/v2/vpcs/${vpc.id}/members?per_page=200`),
  ]);
  assert.match(r.stderr, /deleting early-lb1, early-web1 by ID: their tags are not applied yet/);
  assert.match(r.error.message, new RegExp(`vpc bootstrap-early: it has members this environment did not create: early-db1 \\(do:droplet:${handmade.id}\\)`));
  assert.deepEqual(h.fake.droplets.map((d) => d.name), ['early-db1']);
});

test('case 2: droplets whose create errors or that vanish after the 202 are named, no inventory; the next up replaces them', async () => {
  const h = await harness('err', { tagLagMs: 1000 });
  h.fake.failCreate('err-web1', 'errored', 3000);
  h.fake.failCreate('err-web2', 'vanish', 3000);
  const r = await h.cloud(['up']);
  assert.equal(r.error?.exitCode, ExitCode.TASK_FAILED);
  const errored = h.fake.droplets.find((d) => d.name === 'err-web1')!;
  assert.match(
    r.error.message,
    new RegExp(`2 droplets did not come up: err-web1 \\(id ${errored.id}\\): its create action ${errored.action.id} errored; err-web2 \\(id \\d+\\) disappeared after its create was accepted \\(404\\)\\. No inventory was written; run up again to replace them`),
  );
  assert.equal(await exists(h.inventory), false);
  assert.deepEqual(h.fake.droplets.map((d) => [d.name, d.status, d.action.status]), [['err-lb1', 'active', 'completed'], ['err-web1', 'new', 'errored']]);

  const mark = h.fake.requests.length;
  const again = await h.cloud(['up']);
  assert.equal(again.error, undefined, again.error?.message);
  const vpc = h.fake.vpcs.find((v) => v.name === 'bootstrap-err')!;
  const lb1 = ids(h, 'err-lb1')[0]!;
  const [web1, web2] = ids(h, 'err-web1', 'err-web2');
  assert.deepEqual(h.fake.requests.slice(mark), [
    ...upReads('err', 'bootstrap:err'),
    ...byName('err-web2'),
    get(`/v2/droplets/${errored.id}/actions?per_page=200`),
    { method: 'DELETE', path: `/v2/droplets/${errored.id}` },
    {
      method: 'POST',
      path: '/v2/droplets',
      body: { names: ['err-web1', 'err-web2'], region: 'fra1', size: 's-1vcpu-1gb', image: 'debian-12-x64', ssh_keys: [h.fake.sshKeys[0]!.fingerprint], tags: ['bootstrap', 'bootstrap:err', 'bootstrap:err:web'], vpc_uuid: vpc.id, ipv6: false, monitoring: false },
    },
    ...poll([lb1], false),
    ...poll([web1!, web2!], true),
    ...poll([web1!, web2!], true),
    ...poll([web1!, web2!], false),
  ]);
  assert.match(again.stderr, new RegExp(`deleted err-web1 \\(id ${errored.id}\\) to replace it: its create action ${errored.action.id} errored`));
  assert.deepEqual(h.fake.droplets.map((d) => [d.name, d.status]), [['err-lb1', 'active'], ['err-web1', 'active'], ['err-web2', 'active']]);
  assert.deepEqual(Object.keys(parse(await readFile(h.inventory, 'utf8')).all.children.web.hosts), ['web1', 'web2']);
});

test('a droplet that is neither new nor active (off) is named at once with its status and its create action, not waited for', async () => {
  const h = await harness('off');
  // another client powers off-web1 off once it came up, before up first looks at it
  h.fake.beforeNext({ method: 'GET', pathPrefix: '/v2/droplets/' }, () => {
    const d = h.fake.droplets.find((x) => x.name === 'off-web1')!;
    Object.assign(d, { status: 'off' });
    Object.assign(d.action, { status: 'completed', completed_at: new Date(h.clock.now()).toISOString() });
  });
  const r = await h.cloud(['up']);
  assert.equal(r.error?.exitCode, ExitCode.TASK_FAILED);
  const web1 = h.fake.droplets.find((d) => d.name === 'off-web1')!;
  assert.match(r.error.message, new RegExp(`1 droplet did not come up: off-web1 \\(id ${web1.id}\\) is "off", neither new nor active \\(its create action ${web1.action.id} is completed\\): power it on or delete it\\. No inventory was written`));
  assert.ok(
    h.fake.requests.some((q, i) => q.path === `/v2/droplets/${web1.id}` && h.fake.requests[i + 1]?.path === `/v2/droplets/${web1.id}/actions?per_page=200`),
    'its create action was read right after the droplet',
  );
  assert.equal(h.fake.requests.filter((q) => q.path === `/v2/droplets/${web1.id}`).length, 1, 'and it was not polled again');
  assert.equal(await exists(h.inventory), false);
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
  assert.match(r.error.message, /GET \/v2\/tags\?per_page=200 failed: HTTP 500 server_error Unexpected server-side error/);
  assert.equal(h.fake.requests.length, 5);
});

test('down deletes only the droplets carrying the environment tag, then its VPC', async () => {
  const h = await harness('gone');
  assert.equal((await h.cloud(['up'])).error, undefined);
  await h.clock.sleep(10_000); // until the tags are applied
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
  const [warning, intro, ...lines] = r.stdout.trim().split('\n');
  assert.match(warning!, /^warning: region fra1 has no VPC yet/);
  assert.match(intro!, /^dry run: these requests would be sent/);
  assert.deepEqual(lines.map((l) => l.split(' ').slice(0, 2).join(' ')), [
    `POST ${h.fake.url}/v2/account/keys`,
    `POST ${h.fake.url}/v2/vpcs`,
    `POST ${h.fake.url}/v2/vpcs`,
    `POST ${h.fake.url}/v2/droplets`,
    `POST ${h.fake.url}/v2/droplets`,
  ]);
  assert.deepEqual(JSON.parse(lines[4]!.split(' ').slice(2).join(' ')).names, ['dry-web1', 'dry-web2']);
  const json = await h.cloud(['up', '--dry-run', '--output', 'json']);
  assert.equal(JSON.parse(json.stdout).requests.length, 5);
  assert.deepEqual(h.fake.mutatingRequests(), []);
});

test('status lists role, addresses, size and the hourly cost from /v2/sizes, across pages', async () => {
  const h = await harness('cost', { perPageCap: 2 });
  assert.equal((await h.cloud(['up', '--web', '4'])).error, undefined);
  await h.clock.sleep(10_000); // until the tags are applied
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

test('case 3: down deletes the environment VPC and names the region default it cannot; a legacy default VPC is reported, never silently kept', async () => {
  const h = await harness('vpcs', { memberLingerMs: 0 });
  assert.equal((await h.cloud(['up', '--web', '0'])).error, undefined);
  await h.clock.sleep(10_000);
  const regionDefault = h.fake.vpcs.find((v) => v.name === 'default-fra1')!;
  const vpc = h.fake.vpcs.find((v) => v.name === 'bootstrap-vpcs')!;
  const mark = h.fake.requests.length;
  const r = await h.cloud(['down', '--yes']);
  assert.equal(r.error, undefined, r.error?.message);
  assert.deepEqual(h.fake.requests.slice(mark), [
    get('/v2/tags?per_page=200'),
    get(listPath('vpcs')),
    get('/v2/vpcs?per_page=200'),
    get(`/v2/vpcs/${vpc.id}/members?per_page=200`),
    { method: 'DELETE', path: '/v2/droplets?tag_name=bootstrap%3Avpcs' },
    get(listPath('vpcs')),
    { method: 'DELETE', path: `/v2/vpcs/${vpc.id}` },
  ]);
  assert.deepEqual(h.fake.vpcs.map((v) => v.name), ['default-fra1']);
  assert.deepEqual(h.fake.droplets, []);
  assert.match(r.stdout, new RegExp(`not deleted:\\n  vpc default-fra1 \\(${regionDefault.id}\\): made by up as the default VPC of fra1 so that bootstrap-vpcs would not be; the API never deletes a region's default VPC`));

  // An environment VPC that is its region's default (made before up knew better): down deletes the droplets, names the VPC, exits 3.
  const legacy = h.fake.seedVpc('bootstrap-old', 'ams3');
  assert.equal(legacy.default, true);
  h.fake.seedDroplet({ name: 'old-lb1', tags: ['bootstrap', 'bootstrap:old', 'bootstrap:old:lb'], region: 'ams3', vpc_uuid: legacy.id });
  const warned = await h.cloud(['up', '--name', 'old', '--region', 'ams3', '--web', '0']);
  assert.match(warned.stderr, /warning: VPC bootstrap-old is the default VPC of ams3: down will not be able to delete it/);
  const mark2 = h.fake.requests.length;
  const old = await h.cloud(['down', '--name', 'old', '--yes']);
  assert.equal(old.error?.exitCode, ExitCode.TASK_FAILED);
  assert.deepEqual(h.fake.mutatingRequests().filter((q) => h.fake.requests.indexOf(q) >= mark2), [{ method: 'DELETE', path: '/v2/droplets?tag_name=bootstrap%3Aold' }]);
  assert.match(old.stdout, /destroyed:\n  droplet old-lb1 .*\nnot deleted:\n  vpc bootstrap-old \([0-9a-f-]+\): it is the default VPC of ams3 and the API never deletes a region's default VPC; make another VPC of ams3 the default/);
  assert.match(old.error.message, /down left 1 resource of old: vpc bootstrap-old/);
  assert.ok(h.fake.vpcs.some((v) => v.id === legacy.id));
});

test('case 4: a token missing a scope fails at once, naming the scope, with no retry', async () => {
  const h = await harness('scope');
  const all = ['ssh_key:read', 'ssh_key:create', 'vpc:read', 'vpc:create', 'vpc:delete', 'tag:read', 'tag:create', 'droplet:read', 'droplet:create', 'droplet:delete', 'image:read'];
  const without = (scope: string): string => {
    const token = `dop_v1_without_${scope.replace(':', '_')}`;
    h.fake.addToken(token, all.filter((s) => s !== scope));
    return token;
  };
  // A read scope is found missing before anything is changed.
  const noTagRead = await h.cloud(['up'], { env: { DIGITALOCEAN_TOKEN: without('tag:read') } });
  assert.equal(noTagRead.error?.exitCode, ExitCode.TASK_FAILED);
  assert.match(noTagRead.error.message, /GET \/v2\/tags\?per_page=200 failed: HTTP 403 forbidden .*; this request needs the token scope tag:read\. bootstrap cloud up needs the scopes droplet:create, droplet:delete, droplet:read, image:read, ssh_key:create, ssh_key:read, tag:create, tag:read, vpc:create, vpc:read$/);
  assert.deepEqual(h.fake.requests, upReads('scope'));

  // A create scope only shows on the create: one POST, no retry, the scope named.
  let mark = h.fake.requests.length;
  const noCreate = await h.cloud(['up'], { env: { DIGITALOCEAN_TOKEN: without('droplet:create') } });
  assert.equal(noCreate.error?.exitCode, ExitCode.TASK_FAILED);
  assert.match(noCreate.error.message, /POST \/v2\/droplets failed: HTTP 403 forbidden .*; this request needs the token scopes droplet:create, image:read, ssh_key:read, tag:create, vpc:read/);
  assert.deepEqual(h.fake.requests.slice(mark).map((q) => `${q.method} ${q.path}`), [
    ...upReads('scope').map((q) => `GET ${q.path}`),
    ...byName('scope-lb1', 'scope-web1', 'scope-web2').map((q) => `GET ${q.path}`),
    'POST /v2/account/keys',
    'POST /v2/vpcs',
    'POST /v2/vpcs',
    'POST /v2/droplets',
  ]);
  assert.deepEqual(h.fake.droplets, []);
  assert.equal(await exists(h.inventory), false);

  // down with a token that cannot delete VPCs: 403 with no members left means the scope, not "busy".
  assert.equal((await h.cloud(['up'])).error, undefined);
  await h.clock.sleep(10_000);
  const vpc = h.fake.vpcs.find((v) => v.name === 'bootstrap-scope')!;
  mark = h.fake.requests.length;
  const started = h.clock.now();
  const down = await h.cloud(['down', '--yes'], { env: { DIGITALOCEAN_TOKEN: without('vpc:delete') } });
  assert.equal(down.error?.exitCode, ExitCode.TASK_FAILED);
  assert.match(down.error.message, /vpc bootstrap-scope: HTTP 403 while it has no members: the token lacks the vpc:delete scope/);
  const vpcRequests = h.fake.requests.slice(mark).filter((q) => q.path.startsWith(`/v2/vpcs/${vpc.id}`));
  // the first DELETE meets the deleted droplets still listed as members (3 s), then waits 2 s and 4 s
  assert.deepEqual(vpcRequests.map((q) => `${q.method} ${q.path}`), [
    `GET /v2/vpcs/${vpc.id}/members?per_page=200`,
    `DELETE /v2/vpcs/${vpc.id}`, `GET /v2/vpcs/${vpc.id}/members?per_page=200`,
    `DELETE /v2/vpcs/${vpc.id}`, `GET /v2/vpcs/${vpc.id}/members?per_page=200`,
    `DELETE /v2/vpcs/${vpc.id}`, `GET /v2/vpcs/${vpc.id}/members?per_page=200`,
  ]);
  assert.ok(h.clock.now() - started < 10_000, `gave up after ${h.clock.now() - started} ms, not minutes`);
  assert.deepEqual(h.fake.droplets, []);
  assert.ok(h.fake.vpcs.some((v) => v.id === vpc.id));
});

test('case 5: DELETE by tag answering 404 means nothing is left to delete', async () => {
  const h = await harness('race', { memberLingerMs: 0 });
  assert.equal((await h.cloud(['up'])).error, undefined);
  await h.clock.sleep(10_000);
  const vpc = h.fake.vpcs.find((v) => v.name === 'bootstrap-race')!;
  // Another client deletes the droplets between our list and our delete.
  h.fake.beforeNext({ method: 'DELETE', pathPrefix: '/v2/droplets' }, () => void h.fake.droplets.splice(0));
  const mark = h.fake.requests.length;
  const r = await h.cloud(['down', '--yes']);
  assert.equal(r.error, undefined, r.error?.message);
  assert.deepEqual(h.fake.requests.slice(mark), [
    get('/v2/tags?per_page=200'),
    get(listPath('race')),
    get('/v2/vpcs?per_page=200'),
    get(`/v2/vpcs/${vpc.id}/members?per_page=200`),
    { method: 'DELETE', path: '/v2/droplets?tag_name=bootstrap%3Arace' },
    get(listPath('race')),
    { method: 'DELETE', path: `/v2/vpcs/${vpc.id}` },
  ]);
  assert.match(r.stderr, /no droplet carries bootstrap:race any more \(DELETE by tag answered 404\): nothing left to delete/);
  assert.deepEqual(h.fake.vpcs.map((v) => v.name), ['default-fra1']);
});

test('case 6: a VPC kept busy by members the environment did not create stops down at once, naming them', async () => {
  const h = await harness('busy', { vpcBusyStatus: 409 });
  assert.equal((await h.cloud(['up', '--web', '1'])).error, undefined);
  await h.clock.sleep(10_000);
  const vpc = h.fake.vpcs.find((v) => v.name === 'bootstrap-busy')!;
  const handmade = h.fake.seedDroplet({ name: 'handmade', tags: [], vpc_uuid: vpc.id });
  h.fake.seedMember(vpc.id, 'do:loadbalancer:4de7ac8b-495b-4884-9a69-1050c6793cd6', 'busy-lb');
  const [lb1, web1] = ids(h, 'busy-lb1', 'busy-web1');
  const mark = h.fake.requests.length;
  const started = h.clock.now();
  const r = await h.cloud(['down', '--yes']);
  assert.equal(r.error?.exitCode, ExitCode.TASK_FAILED);
  assert.deepEqual(h.fake.requests.slice(mark), [
    get('/v2/tags?per_page=200'),
    get(listPath('busy')),
    get('/v2/vpcs?per_page=200'),
    get(`/v2/vpcs/${vpc.id}/members?per_page=200`),
    { method: 'DELETE', path: '/v2/droplets?tag_name=bootstrap%3Abusy' },
    get(listPath('busy')),
    { method: 'DELETE', path: `/v2/vpcs/${vpc.id}` },
    get(`/v2/vpcs/${vpc.id}/members?per_page=200`),
  ]);
  assert.equal(h.clock.now(), started, 'no waiting at all');
  const named = `it has members this environment did not create: handmade \\(do:droplet:${handmade.id}\\), busy-lb \\(do:loadbalancer:4de7ac8b-495b-4884-9a69-1050c6793cd6\\); delete or move them, then run down again`;
  assert.match(r.error.message, new RegExp(`down left 1 resource of busy: vpc bootstrap-busy: ${named}`));
  assert.match(r.stdout, new RegExp(`destroyed:\\n  droplet busy-lb1 \\(id ${lb1}, 127\\.0\\.0\\.1\\)\\n  droplet busy-web1 \\(id ${web1}, 127\\.0\\.0\\.1\\)\\nnot deleted:\\n  vpc bootstrap-busy \\(${vpc.id}\\): ${named}`));
  assert.deepEqual(h.fake.droplets.map((d) => d.name), ['handmade']);
  assert.ok(h.fake.vpcs.some((v) => v.id === vpc.id));
});

test('case 7: tags are matched without regard to case, and used in the capitalisation the account has', async () => {
  const h = await harness('prod');
  h.fake.seedVpc('default-fra1', 'fra1');
  const vpc = h.fake.seedVpc('bootstrap-prod', 'fra1');
  for (const [name, role] of [['prod-lb1', 'lb'], ['prod-web1', 'web']] as const) {
    h.fake.seedDroplet({ name, tags: ['Bootstrap', 'Bootstrap:Prod', `Bootstrap:Prod:${role}`], vpc_uuid: vpc.id });
  }
  const r = await h.cloud(['up', '--web', '2']);
  assert.equal(r.error, undefined, r.error?.message);
  const [lb1, web1, web2] = ids(h, 'prod-lb1', 'prod-web1', 'prod-web2');
  assert.deepEqual(h.fake.requests, [
    ...upReads('prod', 'Bootstrap:Prod'),
    ...byName('prod-web2'),
    { method: 'POST', path: '/v2/account/keys', body: { name: 'bootstrap test-client', public_key: (await readFile(`${sshd.clientKeyPath}.pub`, 'utf8')).trim() } },
    {
      method: 'POST',
      path: '/v2/droplets',
      body: { names: ['prod-web2'], region: 'fra1', size: 's-1vcpu-1gb', image: 'debian-12-x64', ssh_keys: [h.fake.sshKeys[0]!.fingerprint], tags: ['Bootstrap', 'Bootstrap:Prod', 'Bootstrap:Prod:web'], vpc_uuid: vpc.id, ipv6: false, monitoring: false },
    },
    ...poll([lb1!, web1!], false),
    ...waitPolls([web2!]),
  ]);
  assert.deepEqual(h.fake.tags, ['Bootstrap', 'Bootstrap:Prod', 'Bootstrap:Prod:lb', 'Bootstrap:Prod:web']);
  assert.deepEqual(Object.keys(parse(await readFile(h.inventory, 'utf8')).all.children.web.hosts), ['web1', 'web2']);

  await h.clock.sleep(10_000);
  const mark = h.fake.requests.length;
  const down = await h.cloud(['down', '--yes']);
  assert.equal(down.error, undefined, down.error?.message);
  assert.deepEqual(h.fake.mutatingRequests().filter((q) => h.fake.requests.indexOf(q) >= mark)[0], { method: 'DELETE', path: '/v2/droplets?tag_name=Bootstrap%3AProd' });
  assert.deepEqual(h.fake.droplets, []);
  assert.deepEqual(h.fake.vpcs.map((v) => v.name), ['default-fra1']);
});

test('case 8: environment names follow the published droplet, VPC and tag patterns', async () => {
  const h = await harness('0QA-Blue');
  const r = await h.cloud(['up', '--web', '1']);
  assert.equal(r.error, undefined, r.error?.message);
  assert.deepEqual(h.fake.droplets.map((d) => d.name), ['0QA-Blue-lb1', '0QA-Blue-web1']);
  assert.deepEqual(h.fake.vpcs.map((v) => v.name), ['default-fra1', 'bootstrap-0QA-Blue']);
  assert.deepEqual(Object.keys(parse(await readFile(h.inventory, 'utf8')).all.children.lb.hosts), ['lb1']);

  const mark = h.fake.requests.length;
  for (const [name, why] of [
    ['qa.blue', /tag "bootstrap:qa\.blue:web", which does not match the API's pattern/],
    ['qa_blue', /droplet name "qa_blue-web999", which does not match the API's pattern/],
    ['q'.repeat(242), /longer than the API's 255 characters/],
  ] as const) {
    const bad = await h.cloud(['status', '--name', name]);
    assert.equal(bad.error?.exitCode, ExitCode.INVALID_INPUT, name);
    assert.match(bad.error.message, why);
  }
  assert.equal(h.fake.requests.length, mark, 'refused before any request');

  // The fake refuses what the published patterns refuse, and accepts what they accept.
  const post = (path: string, body: unknown) =>
    fetch(`${h.fake.url}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const droplet = { region: 'fra1', size: 's-1vcpu-1gb', image: 'debian-12-x64' };
  assert.equal((await post('/v2/droplets', { ...droplet, name: 'under_score' })).status, 422);
  assert.equal((await post('/v2/droplets', { ...droplet, name: 'x'.repeat(256) })).status, 422);
  assert.equal((await post('/v2/droplets', { ...droplet, name: 'web.0.Example.com' })).status, 202);
  assert.equal((await post('/v2/droplets', { ...droplet, name: 'tagged', tags: ['no.dots'] })).status, 422);
  assert.equal((await post('/v2/vpcs', { name: 'under_score', region: 'fra1' })).status, 422);
  assert.equal((await post('/v2/vpcs', { name: 'net.10.Zero', region: 'fra1' })).status, 201);
});
