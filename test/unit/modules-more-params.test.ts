/** lineinfile's and blockinfile's backup (a copy beside the file before its content changes, named on the host as Ansible names it), stat's checksum_algorithm, systemd's masked/no_block/force. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Fact, FactReader } from '../../src/facts/types.js';
import { getModule } from '../../src/modules/index.js';
import type { ModuleContext, Plan } from '../../src/modules/types.js';

const ctx: ModuleContext = {
  host: 'h1', facts: { hostname: 'h1', os: { id: 'debian', version: '12', codename: 'bookworm', family: 'debian' }, arch: 'amd64', init: 'systemd', user: 'root', isRoot: true, addresses: [] },
  localDir: '/tmp', runId: 'r1', lockFile: '/run/bootstrap.lock', renderTemplate: () => '', evaluate: () => undefined,
};
const path = '/etc/app.conf';
const facts = (text: string | null, mode = '0644') => ({
  [`file:${path}`]: text === null ? { path, type: 'absent' } : { path, type: 'file', mode, owner: 'root', group: 'root', uid: 0, gid: 0, sha256: createHash('sha256').update(text).digest('hex') },
  [`file-content:${path}`]: text === null ? null : Buffer.from(text),
  [`leftovers:${path}`]: [],
});
async function plan(module: string, params: Record<string, unknown>, values: Record<string, unknown>): Promise<Plan> {
  const read: FactReader = <T>(fact: Fact<T>) => values[fact.key] as T;
  return getModule(module)!.plan({ path, ...params }, read, ctx);
}
const first = (p: Plan) => p.changes[0]!.commands[0]!.argv;

describe('lineinfile and blockinfile backup', () => {
  it('copies the file first when its content changes, not when only its mode does or when it is created', async () => {
    const p = await plan('lineinfile', { line: 'b=2', backup: true }, facts('a=1\n'));
    assert.match(p.changes[0]!.title, /^update \/etc\/app\.conf \(content differs\), backed up$/);
    assert.deepEqual(first(p), ['sh', '-c', 'cp -p -- "$1" "$1.$$.$(date +%Y-%m-%d@%H:%M:%S)~"', 'backup', path]);
    const block = await plan('blockinfile', { block: 'x', backup: true }, facts('a=1\n'));
    assert.equal(first(block)[4], path);
    const modeOnly = await plan('lineinfile', { line: 'a=1', backup: true, mode: '0600' }, facts('a=1\n'));
    assert.ok(modeOnly.changes.length > 0 && modeOnly.changes.every((c) => c.commands.every((cmd) => cmd.argv[3] !== 'backup')));
    const created = await plan('lineinfile', { line: 'a=1', backup: true, create: true }, facts(null));
    assert.ok(created.changes[0]!.commands.every((cmd) => cmd.argv[3] !== 'backup'));
    const without = await plan('lineinfile', { line: 'b=2' }, facts('a=1\n'));
    assert.notEqual(first(without)[3], 'backup');
  });
  it('the copy keeps the content and mode, under <path>.<pid>.<YYYY-MM-DD@HH:MM:SS>~', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootstrap-backup-'));
    try {
      const file = join(dir, 'app.conf');
      writeFileSync(file, 'a=1\n', { mode: 0o640 });
      const argv = first(await plan('lineinfile', { line: 'b=2', backup: true }, facts('a=1\n')));
      execFileSync(argv[0]!, [...argv.slice(1, -1), file]);
      const copies = readdirSync(dir).filter((n) => n !== 'app.conf');
      assert.equal(copies.length, 1);
      assert.match(copies[0]!, /^app\.conf\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$/);
      assert.equal(readFileSync(join(dir, copies[0]!), 'utf8'), 'a=1\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('stat checksum_algorithm', () => {
  const details = { inode: 1, dev: 2, nlink: 1, atime: 1, mtime: 1, ctime: 1, blocks: 8, blockSize: 4096, rdev: 0, readable: true, writeable: true, executable: false };
  const file = { path, type: 'file', mode: '0644', owner: 'root', group: 'root', uid: 0, gid: 0, size: 4, sha256: 'a'.repeat(64), details };
  // mime and lsattr facts have their own tests (modules-stat-debug-systemd.test.ts)
  const statOf = async (params: Record<string, unknown>, values: Record<string, unknown>) => {
    const m = getModule('stat')!;
    const all = { get_mime: false, get_attributes: false, ...params };
    assert.deepEqual(m.facts({ path, ...all }, ctx).map((f) => f.key).sort(), Object.keys(values).sort());
    return ((await plan('stat', all, values)).result as { stat: Record<string, unknown> }).stat;
  };
  it('sha1 by default, as Ansible: one more fact; sha256 comes with the file fact; get_checksum: false reads none', async () => {
    assert.equal((await statOf({}, { [`file+source:${path}`]: file, [`digest:sha1:${path}`]: 'b'.repeat(40) })).checksum, 'b'.repeat(40));
    assert.equal((await statOf({ checksum_algorithm: 'sha256' }, { [`file+source:${path}`]: file })).checksum, 'a'.repeat(64));
    assert.equal((await statOf({ checksum_algorithm: 'md5' }, { [`file+source:${path}`]: file, [`digest:md5:${path}`]: 'c'.repeat(32) })).checksum, 'c'.repeat(32));
    assert.equal('checksum' in (await statOf({ get_checksum: false }, { [`file+source:${path}`]: file })), false);
  });
  it('a link has no checksum (follow: false)', async () => {
    const link = { ...file, type: 'link', linkTarget: '/etc/x', sha256: undefined };
    assert.equal('checksum' in (await statOf({}, { [`file+source:${path}`]: link, [`digest:sha1:${path}`]: 'b'.repeat(40) })), false);
  });
});

describe('systemd masked, no_block, force', () => {
  const unitFacts = (enabled: string, active: string) => ({ 'systemd:app.service': { unit: 'app.service', enabled, active, needsReload: false } });
  const systemd = async (params: Record<string, unknown>, values: Record<string, unknown>) => {
    const m = getModule('systemd')!;
    assert.deepEqual(m.facts(params, ctx).map((f) => f.key).sort(), Object.keys(values).sort());
    const read: FactReader = <T>(fact: Fact<T>) => values[fact.key] as T;
    return m.plan(params, read, ctx);
  };
  const argv = (p: Plan) => p.changes.flatMap((c) => c.commands.map((cmd) => cmd.argv.join(' ')));
  it('unmasks before enabling and starting; masks only what is not masked ("masked-runtime" is not)', async () => {
    assert.deepEqual(argv(await systemd({ name: 'app', masked: false, enabled: true, state: 'started' }, unitFacts('masked', 'inactive'))), ['systemctl unmask app.service', 'systemctl enable app.service', 'systemctl start app.service']);
    assert.deepEqual(argv(await systemd({ name: 'app', masked: true, state: 'stopped' }, unitFacts('enabled', 'active'))), ['systemctl mask app.service', 'systemctl stop app.service']);
    const ok = await systemd({ name: 'app', masked: true }, unitFacts('masked', 'inactive'));
    assert.deepEqual([ok.changes, ok.reason], [[], 'app inactive, masked']);
    assert.deepEqual(argv(await systemd({ name: 'app', masked: true }, unitFacts('masked-runtime', 'inactive'))), ['systemctl mask app.service']);
  });
  it('no_block and force go on every systemctl command', async () => {
    assert.deepEqual(argv(await systemd({ name: 'app', state: 'restarted', no_block: true, force: true, enabled: true }, unitFacts('disabled', 'active'))), ['systemctl --no-block --force enable app.service', 'systemctl --no-block --force restart app.service']);
  });
  it('masked needs a name and systemd', () => {
    assert.deepEqual(getModule('systemd')!.validate!({ masked: true, daemon_reload: true }, { localDir: '/tmp' }), [['masked', 'masked needs name']]);
    assert.throws(() => getModule('systemd')!.facts({ name: 'app', masked: true }, { ...ctx, facts: { ...ctx.facts, init: 'upstart' } }), /masked needs systemd; h1 runs upstart/);
  });
});

describe('apt_repository update_cache_retries', () => {
  const REPO = 'deb https://example.com/debian bookworm main';
  const TARGET = '/etc/apt/sources.list.d/example_com_debian.list';
  const planRepo = (params: Record<string, unknown>) => {
    const values: Record<string, unknown> = { 'leftovers:/etc/apt/sources-before.tar': [], 'apt-sources': new Map(), [`file:${TARGET}`]: { path: TARGET, type: 'absent' } };
    const read: FactReader = <T>(fact: Fact<T>) => values[fact.key] as T;
    return getModule('apt_repository')!.plan({ repo: REPO, ...params }, read, ctx) as Plan;
  };
  it('apt-get update is tried update_cache_retries times (5 by default), the wait capped by update_cache_retry_max_delay', () => {
    const update = planRepo({}).changes.at(-1)!.commands[0]!.argv;
    assert.deepEqual(update.slice(3, 7), ['retry', '5', '12', '300']);
    assert.deepEqual(update.slice(7, 10), ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get']);
    const [sh, c, script, name] = planRepo({ update_cache_retries: 3, update_cache_retry_max_delay: 0 }).changes.at(-1)!.commands[0]!.argv;
    const dir = mkdtempSync(join(tmpdir(), 'bootstrap-retry-'));
    try {
      const count = join(dir, 'count');
      // a command failing twice, then succeeding: three tries
      const flaky = ['sh', '-c', 'echo x >> "$1"; [ "$(wc -l < "$1")" -ge 3 ]', 'flaky', count];
      execFileSync(sh!, [c!, script!, name!, '3', '0', '60', ...flaky]);
      assert.equal(readFileSync(count, 'utf8'), 'x\nx\nx\n');
      rmSync(count);
      assert.throws(() => execFileSync(sh!, [c!, script!, name!, '2', '0', '60', ...flaky], { stdio: 'pipe' }), /Failed to update apt cache after 2 retries/);
      assert.equal(readFileSync(count, 'utf8'), 'x\nx\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
