/**
 * unarchive's include/exclude/keep_newer/extra_opts/list_files, planned from given facts: which
 * members count, what tar and unzip are asked, and what register gets.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Fact, FactReader } from '../../src/facts/types.js';
import { getModule } from '../../src/modules/index.js';
import { fnmatchRegExp, memberSelected } from '../../src/modules/member-patterns.js';
import type { ModuleContext, Plan } from '../../src/modules/types.js';

const ctx: ModuleContext = {
  host: 'h1', facts: { hostname: 'h1', os: { id: 'debian', version: '12', codename: 'bookworm', family: 'debian' }, arch: 'amd64', init: 'systemd', user: 'root', isRoot: true, addresses: [] },
  localDir: '/tmp', runId: 'r1', lockFile: '/run/bootstrap.lock', renderTemplate: () => '', evaluate: () => undefined,
};
async function plan(params: Record<string, unknown>, values: Record<string, unknown>): Promise<Plan> {
  const m = getModule('unarchive')!;
  assert.deepEqual(m.facts(params, ctx).map((f) => f.key).sort(), Object.keys(values).sort());
  const read: FactReader = <T>(fact: Fact<T>) => values[fact.key] as T;
  return m.plan(params, read, ctx);
}
const argvOf = (p: Plan) => p.changes.flatMap((c) => c.commands.map((cmd) => cmd.argv));

describe('unarchive member patterns', () => {
  it('read as Python fnmatch reads them', () => {
    const t = (pattern: string, name: string) => fnmatchRegExp(pattern).test(name);
    assert.equal(t('*.txt', 'a/b.txt'), true, '* crosses /');
    assert.equal(t('a?c', 'abc'), true);
    assert.equal(t('a?c', 'ac'), false);
    assert.equal(t('[!x]y', 'zy'), true);
    assert.equal(t('[!x]y', 'xy'), false);
    assert.equal(t('[a-c]', 'b'), true);
    assert.equal(t('[', '['), true, 'an unclosed [ is itself');
    assert.equal(t('a.b', 'axb'), false, '. is literal');
    assert.equal(t('(x)+', '(x)+'), true);
  });
  it('a tar folder takes what it holds; a zip member matches by itself', () => {
    assert.equal(memberSelected('app/conf', { exclude: ['app'] }, 'tar'), false);
    assert.equal(memberSelected('app/conf', { exclude: ['app/'] }, 'tar'), false, 'a trailing slash names the same folder');
    assert.equal(memberSelected('app/conf', { exclude: ['app'] }, 'zip'), true);
    assert.equal(memberSelected('app/conf', { include: ['*/conf'] }, 'zip'), true);
    assert.equal(memberSelected('app/bin', { include: ['*/conf'] }, 'zip'), false);
  });
});

describe('unarchive include/exclude/keep_newer/extra_opts/list_files on a laptop tar', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bootstrap-unarchive-opts-'));
  mkdirSync(join(dir, 'app', 'bin'), { recursive: true });
  writeFileSync(join(dir, 'app', 'conf'), 'v1\n');
  writeFileSync(join(dir, 'app', 'bin', 'run'), '#!/bin/sh\n');
  const mtime = 1_700_000_000;
  for (const f of ['app/conf', 'app/bin/run', 'app/bin', 'app']) utimesSync(join(dir, f), mtime, mtime);
  const tgz = join(dir, 'app.tgz');
  execFileSync('tar', ['-czf', tgz, '-C', dir, 'app']);
  after(() => rmSync(dir, { recursive: true, force: true }));
  const dest = '/srv/d';
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');
  const destFact = { [`file:${dest}`]: { path: dest, type: 'directory' } };
  const absent = (...paths: string[]) => Object.fromEntries(paths.map((p) => [`file:${dest}/${p}`, { path: `${dest}/${p}`, type: 'absent' }]));

  it('exclude leaves a folder and what it holds out of the comparison and of tar -x; list_files registers the rest', async () => {
    const p = await plan({ src: tgz, dest, exclude: ['app/bin'], list_files: true }, { ...destFact, ...absent('app', 'app/conf') });
    assert.deepEqual(argvOf(p), [['tar', '-x', '-z', '--exclude=app/bin', '-f', '-', '-C', dest]]);
    assert.deepEqual(p.result, { files: ['app', 'app/conf'] });
  });
  it('include unpacks only what it names (tar with --wildcards), and is ok when those match', async () => {
    const files = { [`file:${dest}/app/conf`]: { path: `${dest}/app/conf`, type: 'file', sha256: sha('v1\n') } };
    const ok = await plan({ src: tgz, dest, include: ['*/conf'], list_files: true }, { ...destFact, ...files });
    assert.deepEqual([ok.changes, ok.reason, ok.result], [[], `${dest} matches ${tgz} (1 entries)`, { files: ['app/conf'] }]);
    const p = await plan({ src: tgz, dest, include: ['*/conf'] }, { ...destFact, ...absent('app/conf') });
    assert.deepEqual(argvOf(p), [['tar', '-x', '-z', '--wildcards', '-f', '-', '-C', dest, '*/conf']]);
    assert.equal(p.result, undefined, 'no files without list_files');
  });
  it('extra_opts reach tar, and name the members as the host will get them (--strip-components)', async () => {
    const p = await plan({ src: tgz, dest, extra_opts: ['--strip-components=1'] }, { ...destFact, ...absent('bin', 'bin/run', 'conf') });
    assert.deepEqual(argvOf(p), [['tar', '-x', '-z', '--strip-components=1', '-f', '-', '-C', dest]]);
  });
  it('keep_newer: a file dest holds newer than the archive\'s is kept (no change for it), an older one is replaced', async () => {
    const differing = (path: string) => ({ [`file:${dest}/${path}`]: { path: `${dest}/${path}`, type: 'file', sha256: 'f'.repeat(64) } });
    const same = (path: string, text: string) => ({ [`file:${dest}/${path}`]: { path: `${dest}/${path}`, type: 'file', sha256: sha(text) } });
    const dirs = { [`file:${dest}/app`]: { path: `${dest}/app`, type: 'directory' }, [`file:${dest}/app/bin`]: { path: `${dest}/app/bin`, type: 'directory' } };
    const key = `mtimes:${dest}/app/bin/run\0${dest}/app/conf`;
    const newer = await plan({ src: tgz, dest, keep_newer: true }, { ...destFact, ...dirs, ...same('app/bin/run', '#!/bin/sh\n'), ...differing('app/conf'), [key]: new Map([[`${dest}/app/conf`, mtime + 60], [`${dest}/app/bin/run`, mtime]]) });
    assert.deepEqual(newer.changes, []);
    const older = await plan({ src: tgz, dest, keep_newer: true }, { ...destFact, ...dirs, ...same('app/bin/run', '#!/bin/sh\n'), ...differing('app/conf'), [key]: new Map([[`${dest}/app/conf`, mtime - 60], [`${dest}/app/bin/run`, mtime]]) });
    assert.deepEqual(argvOf(older), [['tar', '-x', '-z', '--keep-newer-files', '-f', '-', '-C', dest]]);
  });
  it('include and exclude together are refused offline', () => {
    assert.deepEqual(getModule('unarchive')!.validate!({ src: tgz, dest, include: ['a'], exclude: ['b'] }, { localDir: '/tmp' }), [['include', 'include and exclude cannot both be given (as in Ansible)']]);
  });
});

describe('unarchive options with remote_src', () => {
  const dest = '/srv/d';
  const destFact = { [`file:${dest}`]: { path: dest, type: 'directory' } };
  it('tar: the fact and tar -x get the selection, keep_newer and extra_opts', async () => {
    const params = { src: '/srv/a.tgz', dest, remote_src: true, exclude: ['app/logs'], keep_newer: true, extra_opts: ['--no-same-owner'], list_files: true };
    const m = getModule('unarchive')!;
    const [, fact] = m.facts(params, ctx) as [unknown, { key: string; script: string }];
    assert.match(fact.script, /tar --compare --show-transformed-names --no-same-owner --keep-newer-files --exclude=app\/logs -f "\$src"/);
    const p = await plan(params, { ...destFact, [fact.key]: { uid: 0, kind: 'tar', entries: ['app/', 'app/conf'], differs: [], kept: [], compare: ['app/conf: Contents differ'], states: new Map() } });
    assert.deepEqual(argvOf(p), [['tar', '-x', '--no-same-owner', '--keep-newer-files', '--exclude=app/logs', '-f', '/srv/a.tgz', '-C', dest]]);
    assert.deepEqual(p.result, { files: ['app/', 'app/conf'] });
  });
  it('zip: members are selected here; the kept ones (keep_newer) and the excluded are passed to unzip -x', async () => {
    const params = { src: '/srv/a.zip', dest, remote_src: true, exclude: ['*.log'], keep_newer: true };
    const [, fact] = getModule('unarchive')!.facts(params, ctx) as [unknown, { key: string }];
    const p = await plan(params, { ...destFact, [fact.key]: { uid: 0, kind: 'zip', entries: ['app', 'app/a.log', 'app/conf'], differs: ['app/a.log'], kept: ['app/conf'], compare: [], states: new Map() } });
    assert.deepEqual([p.changes, p.reason], [[], `${dest} matches /srv/a.zip (each member compared)`], 'an excluded member that differs changes nothing');
    const changed = await plan(params, { ...destFact, [fact.key]: { uid: 0, kind: 'zip', entries: ['app', 'app/a.log', 'app/conf', 'app/new'], differs: ['app/new'], kept: ['app/conf'], compare: [], states: new Map() } });
    assert.deepEqual(argvOf(changed), [['unzip', '-o', '-qq', '/srv/a.zip', '-x', '*.log', 'app/conf', '-d', dest]]);
  });
});
