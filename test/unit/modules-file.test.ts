import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { FileState } from '../../src/facts/file.js';
import type { Fact, FactReader, HostFacts } from '../../src/facts/types.js';
import { getModule } from '../../src/modules/index.js';
import type { ModuleContext, Plan } from '../../src/modules/types.js';
import { RECEIVE_SCRIPT } from '../../src/modules/write-file.js';

const host: HostFacts = { hostname: 'lb1', os: { id: 'debian', version: '12', codename: 'bookworm', family: 'debian' }, arch: 'amd64', init: 'systemd', user: 'root', isRoot: true, addresses: ['10.0.0.2'] };
const localDir = mkdtempSync(join(tmpdir(), 'modules-file-'));
const ctx: ModuleContext = {
  host: 'lb1', facts: host, localDir, runId: 'r1', lockFile: '/run/bootstrap.lock',
  evaluate: () => { throw new Error('no expressions here'); }, renderTemplate: (src, extra) => `rendered ${src} for ${String(extra?.app ?? 'nothing')}\n`,
};
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

function fileState(path: string, content: string | null, extra: Partial<FileState> = {}): FileState {
  if (content === null) return { path, type: 'absent', ...extra };
  return { path, type: 'file', mode: '0644', owner: 'root', group: 'root', uid: 0, gid: 0, size: content.length, sha256: sha(content), content: Buffer.from(content), ...extra };
}

/** Plans with facts given as parsed values, keyed by fact key. */
async function plan(module: string, params: Record<string, unknown>, values: Record<string, unknown>): Promise<Plan> {
  const m = getModule(module)!;
  // no temp files left beside the target, unless the test says otherwise
  values = { ...Object.fromEntries(m.facts(params, ctx).filter((f) => f.key.startsWith('leftovers:')).map((f) => [f.key, []])), ...values };
  for (const fact of m.facts(params, ctx)) assert.ok(fact.key in values, `test gives no value for fact ${fact.key}`);
  const read: FactReader = <T>(fact: Fact<T>) => values[fact.key] as T;
  return m.plan(params, read, ctx);
}

const dest = '/etc/consul.d/consul.hcl';
const tmp = '/etc/consul.d/.consul.hcl.bootstrap-tmp-r1';
/** stdin of an upload: the size and sha256 the host checks, then the content */
const upload = (content: string) => Buffer.from(`${Buffer.byteLength(content)} ${sha(content)}\n${content}`);
const cleanup = (path: string) => ({ argv: ['rm', '-f', '--', path], onFailure: true });

describe('copy', () => {
  it('creates an absent file: write via stdin, mode, owner, rename; diff from nothing', async () => {
    const p = await plan('copy', { dest, content: 'a = 1\n', mode: '0640', owner: 'consul', group: 'consul' }, { [`file:${dest}`]: fileState(dest, null) });
    assert.deepEqual(p.changes, [{
      title: `create ${dest} (absent)`,
      commands: [
        { argv: ['sh', '-c', RECEIVE_SCRIPT, 'sh', tmp, '0640'], stdin: upload('a = 1\n') },
        cleanup(tmp),
        { argv: ['chown', 'consul:consul', tmp] },
        { argv: ['mv', '-f', tmp, dest] },
      ],
      diff: { path: dest, before: null, after: 'a = 1\n' },
    }]);
  });

  it('updates differing content, keeping the existing mode and owner, with a before/after diff', async () => {
    const p = await plan('copy', { dest, content: 'a = 2\n' }, { [`file:${dest}`]: fileState(dest, 'a = 1\n', { mode: '0600', owner: 'consul', group: 'adm' }) });
    assert.equal(p.changes[0]!.title, `update ${dest} (content differs)`);
    assert.deepEqual(p.changes[0]!.commands.map((c) => c.argv), [['sh', '-c', RECEIVE_SCRIPT, 'sh', tmp, '0600'], cleanup(tmp).argv, ['chown', 'consul:adm', tmp], ['mv', '-f', tmp, dest]]);
    assert.deepEqual(p.changes[0]!.diff, { path: dest, before: 'a = 1\n', after: 'a = 2\n' });
  });

  it('is ok when content and attributes match', async () => {
    const p = await plan('copy', { dest, content: 'a = 1\n', mode: '644', owner: '0' }, { [`file:${dest}`]: fileState(dest, 'a = 1\n') });
    assert.deepEqual(p, { changes: [], reason: `${dest} up to date` });
  });

  it('fixes only attributes when the content matches', async () => {
    const p = await plan('copy', { dest, content: 'a = 1\n', mode: '0640', group: 'consul' }, { [`file:${dest}`]: fileState(dest, 'a = 1\n') });
    assert.deepEqual(p.changes, [
      { title: `set mode of ${dest} to 0640 (was 0644)`, commands: [{ argv: ['chmod', '0640', dest] }] },
      { title: `set owner of ${dest} to :consul (was root:root)`, commands: [{ argv: ['chown', ':consul', dest] }] },
    ]);
  });

  it('sensitive: no diff text, the write command is marked, the secret only on stdin', async () => {
    const p = await plan('copy', { dest, content: 'encrypt = "c2VjcmV0"\n', sensitive: true }, { [`file:${dest}`]: fileState(dest, 'encrypt = "b2xk"\n') });
    const change = p.changes[0]!;
    assert.deepEqual(change.diff, { path: dest, before: '', after: '', hidden: 'secret' });
    assert.equal(change.commands[0]!.sensitive, true);
    assert.deepEqual(change.commands[0]!.stdin, upload('encrypt = "c2VjcmV0"\n'));
    assert.ok(!JSON.stringify(change.commands.map((c) => c.argv)).includes('c2VjcmV0'));
  });

  it('validate runs on the temp file before the rename; the temp file is removed when a step fails', async () => {
    const p = await plan('copy', { dest: '/etc/nginx/nginx.conf', content: 'events {}\n', validate: 'nginx -t -c %s' }, { 'file:/etc/nginx/nginx.conf': fileState('/etc/nginx/nginx.conf', null) });
    assert.deepEqual(p.changes[0]!.commands.map((c) => c.argv), [
      ['sh', '-c', RECEIVE_SCRIPT, 'sh', '/etc/nginx/.nginx.conf.bootstrap-tmp-r1', '0644'],
      cleanup('/etc/nginx/.nginx.conf.bootstrap-tmp-r1').argv,
      ['sh', '-c', 'nginx -t -c "$1"', 'sh', '/etc/nginx/.nginx.conf.bootstrap-tmp-r1'],
      ['mv', '-f', '/etc/nginx/.nginx.conf.bootstrap-tmp-r1', '/etc/nginx/nginx.conf'],
    ]);
  });

  it('binary before-content hides the diff; content too large to fetch says so', async () => {
    const binary = await plan('copy', { dest, content: 'text\n' }, { [`file:${dest}`]: { ...fileState(dest, 'x'), content: Buffer.from([0xff, 0xfe, 0]) } });
    assert.deepEqual(binary.changes[0]!.diff, { path: dest, before: '', after: 'text\n', hidden: 'binary' });
    const large = await plan('copy', { dest, content: 'text\n' }, { [`file:${dest}`]: { ...fileState(dest, 'x'), content: undefined, size: 300000 } });
    assert.deepEqual(large.changes[0]!.diff, { path: dest, before: '', after: 'text\n', hidden: 'large' });
  });

  it('reads src relative to the local dir, and validate() reports a missing one', async () => {
    writeFileSync(join(localDir, 'app.conf'), 'server {}\n');
    const p = await plan('copy', { dest: '/etc/app.conf', src: 'app.conf' }, { 'file:/etc/app.conf': fileState('/etc/app.conf', 'server {}\n') });
    assert.equal(p.reason, '/etc/app.conf up to date');
    const copy = getModule('copy')!;
    assert.deepEqual(copy.validate!({ dest: '/etc/x', src: 'missing.conf' }, { localDir }), [['src', `no such file: ${join(localDir, 'missing.conf')}`]]);
    assert.deepEqual(copy.validate!({ dest: '/etc/x', src: 'app.conf' }, { localDir }), []);
    assert.deepEqual(copy.validate!({ dest: '/etc/x' }, { localDir }), [['content', 'give exactly one of content or src']]);
  });

  it('refuses to write over a directory', async () => {
    await assert.rejects(async () => plan('copy', { dest, content: 'x' }, { [`file:${dest}`]: { path: dest, type: 'directory', mode: '0755' } }), /is a directory/);
  });
});

describe('template', () => {
  it('renders src with vars and plans the write, then is ok when equal', async () => {
    const params = { src: 'consul.hcl.ejs', dest, vars: { app: 'web' } };
    const changed = await plan('template', params, { [`file:${dest}`]: fileState(dest, 'old\n') });
    assert.deepEqual(changed.changes[0]!.diff, { path: dest, before: 'old\n', after: 'rendered consul.hcl.ejs for web\n' });
    assert.equal(changed.changes[0]!.title, `update ${dest} (content differs)`);
    const same = await plan('template', params, { [`file:${dest}`]: fileState(dest, 'rendered consul.hcl.ejs for web\n') });
    assert.deepEqual(same, { changes: [], reason: `${dest} up to date` });
  });
});

describe('file', () => {
  const dir = '/opt/app';
  const meta = (state: FileState) => ({ [`file:${state.path}`]: state });
  const rows: Array<{ name: string; params: Record<string, unknown>; current: FileState; titles: string[]; argv?: string[][]; reason?: string }> = [
    { name: 'directory absent', params: { path: dir, state: 'directory', mode: '0750', owner: 'app' }, current: { path: dir, type: 'absent' },
      titles: [`create directory ${dir} (absent)`], argv: [['mkdir', '-p', dir], ['chmod', '0750', dir], ['chown', 'app', dir]] },
    { name: 'directory present', params: { path: dir, state: 'directory', mode: '0750' }, current: { path: dir, type: 'directory', mode: '0750', owner: 'root', group: 'root', uid: 0, gid: 0 },
      titles: [], reason: `directory ${dir} exists` },
    { name: 'directory with wrong mode', params: { path: dir, state: 'directory', mode: '0755' }, current: { path: dir, type: 'directory', mode: '0700', owner: 'root', group: 'root' },
      titles: [`set mode of ${dir} to 0755 (was 0700)`], argv: [['chmod', '0755', dir]] },
    { name: 'link absent', params: { path: '/usr/local/bin/c', state: 'link', src: '/opt/c/bin/c' }, current: { path: '/usr/local/bin/c', type: 'absent' },
      titles: ['link /usr/local/bin/c -> /opt/c/bin/c (absent)'], argv: [['ln', '-sfn', '/opt/c/bin/c', '/usr/local/bin/c']] },
    { name: 'link correct', params: { path: '/usr/local/bin/c', state: 'link', src: '/opt/c/bin/c' }, current: { path: '/usr/local/bin/c', type: 'link', linkTarget: '/opt/c/bin/c', mode: '0777' },
      titles: [], reason: '/usr/local/bin/c -> /opt/c/bin/c' },
    { name: 'link elsewhere', params: { path: '/usr/local/bin/c', state: 'link', src: '/opt/c/bin/c' }, current: { path: '/usr/local/bin/c', type: 'link', linkTarget: '/old' },
      titles: ['link /usr/local/bin/c -> /opt/c/bin/c (points to /old)'] },
    { name: 'absent and present', params: { path: dir, state: 'absent' }, current: { path: dir, type: 'directory' },
      titles: [`remove ${dir} (directory exists)`], argv: [['rm', '-rf', '--', dir]] },
    { name: 'absent and absent', params: { path: dir, state: 'absent' }, current: { path: dir, type: 'absent' }, titles: [], reason: `${dir} absent` },
    { name: 'touch absent', params: { path: '/var/log/x.log', state: 'touch' }, current: { path: '/var/log/x.log', type: 'absent' },
      titles: ['create empty /var/log/x.log (absent)'], argv: [['touch', '/var/log/x.log']] },
    { name: 'file attributes', params: { path: '/etc/x', owner: 'consul', group: 'consul' }, current: { path: '/etc/x', type: 'file', mode: '0644', owner: 'root', group: 'root' },
      titles: ['set owner of /etc/x to consul:consul (was root:root)'], argv: [['chown', 'consul:consul', '/etc/x']] },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      const values = row.params.state === 'absent' ? { [`file:${row.current.path}`]: row.current } : meta(row.current);
      const p = await plan('file', row.params, values);
      assert.deepEqual(p.changes.map((c) => c.title), row.titles);
      if (row.argv) assert.deepEqual(p.changes.flatMap((c) => c.commands.map((cmd) => cmd.argv)), row.argv);
      assert.equal(p.reason, row.reason);
    });
  }

  it('removing a file shows what is removed', async () => {
    const p = await plan('file', { path: '/etc/x', state: 'absent' }, { 'file:/etc/x': fileState('/etc/x', 'old\n') });
    assert.deepEqual(p.changes[0]!.diff, { path: '/etc/x', before: 'old\n', after: null });
  });

  it('state=file on a missing path and link over a directory are errors', async () => {
    await assert.rejects(async () => plan('file', { path: '/nope', state: 'file' }, meta({ path: '/nope', type: 'absent' })), /does not exist/);
    await assert.rejects(async () => plan('file', { path: '/d', state: 'link', src: '/x' }, meta({ path: '/d', type: 'directory' })), /is a directory/);
    assert.deepEqual(getModule('file')!.validate!({ path: '/d', state: 'link' }, { localDir }), [['src', 'state=link needs src (the link target)']]);
  });
});
