/**
 * Plans of the modules Ansible users reach for, from given facts: what runs, what stays ok, and
 * where their parameters are refused. (Their outcome against ansible-core itself is in
 * test/integration/ansible-oracle.test.ts; these are the cases a loopback host cannot show.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { SystemdUnitState } from '../../src/facts/service.js';
import type { Fact, FactReader, HostFacts } from '../../src/facts/types.js';
import { urlTextFact } from '../../src/facts/http-fetch.js';
import { httpRequest } from '../../src/modules/http-request.js';
import { getModule } from '../../src/modules/index.js';
import type { ModuleContext, Plan } from '../../src/modules/types.js';

const host = (init: HostFacts['init']): HostFacts => ({ hostname: 'h1', os: { id: 'debian', version: '12', codename: 'bookworm', family: 'debian' }, arch: 'amd64', init, user: 'root', isRoot: true, addresses: [] });
const ctxOn = (init: HostFacts['init'] = 'systemd', scope: Record<string, unknown> = {}): ModuleContext => ({
  host: 'h1', facts: host(init), localDir: '/tmp', runId: 'r1', lockFile: '/run/bootstrap.lock', renderTemplate: () => '',
  evaluate: (expr) => new Function(...Object.keys(scope), `return (${expr});`)(...Object.values(scope)),
});

/** The module's plan from `values` (by fact key), checking it asks for exactly those facts. */
async function plan(module: string, params: Record<string, unknown>, values: Record<string, unknown>, ctx = ctxOn()): Promise<Plan> {
  const m = getModule(module)!;
  assert.deepEqual(m.facts(params, ctx).map((f) => f.key).sort(), Object.keys(values).sort());
  const read: FactReader = <T>(fact: Fact<T>) => values[fact.key] as T;
  return m.plan(params, read, ctx);
}
const argvOf = (p: Plan) => p.changes.flatMap((c) => c.commands.map((cmd) => cmd.argv));
const unit = (enabled: string, active: string): SystemdUnitState => ({ unit: 'app.service', enabled, active, needsReload: false });

describe('systemd with daemon_reload', () => {
  it('reloads first when the unit changed on disk (NeedDaemonReload, asked with its state), then restarts', async () => {
    const p = await plan('systemd', { name: 'app', state: 'restarted', daemon_reload: true }, { 'systemd:app.service': { ...unit('enabled', 'active'), needsReload: true } });
    assert.deepEqual(argvOf(p), [['systemctl', 'daemon-reload'], ['systemctl', 'restart', 'app.service']]);
  });
  it('is ok, saying why, when nothing changed on disk', async () => {
    const p = await plan('systemd', { name: 'app', state: 'started', daemon_reload: true }, { 'systemd:app.service': { ...unit('enabled', 'active'), needsReload: false } });
    assert.deepEqual(p.changes, []);
    assert.equal(p.reason, 'no unit file changed since systemd loaded it; app active, enabled');
  });
  it('without a name looks at every loaded unit', async () => {
    const p = await plan('systemd_service', { daemon_reload: true }, { 'systemd-need-reload:*': true });
    assert.deepEqual(p.changes.map((c) => c.title), ['reload systemd units (a unit file changed on disk)']);
  });
  it('reloads once when it writes the unit itself', async () => {
    const p = await plan('systemd', { name: 'app', unit: '[Unit]\n', daemon_reload: true }, {
      'systemd:app.service': { ...unit('disabled', 'inactive'), needsReload: true },
      'file:/etc/systemd/system/app.service': { path: '/etc/systemd/system/app.service', type: 'absent' },
      'leftovers:/etc/systemd/system/app.service': [],
    });
    assert.equal(argvOf(p).filter((a) => a.join(' ') === 'systemctl daemon-reload').length, 1);
  });
  it('needs systemd, and a name or daemon_reload', () => {
    assert.throws(() => getModule('systemd')!.facts({ daemon_reload: true }, ctxOn('upstart')), /daemon_reload needs systemd; h1 runs upstart/);
    assert.deepEqual(getModule('systemd')!.validate!({ state: 'started' }, { localDir: '/tmp' }), [['name', 'give name, or daemon_reload: true or daemon_reexec: true']]);
  });
});

describe('group and user', () => {
  it('group: create with gid, change the gid, remove, keep', async () => {
    assert.deepEqual(argvOf(await plan('group', { name: 'g', gid: 5, system: true }, { 'group:g': { exists: false } })), [['groupadd', '-g', '5', '-r', 'g']]);
    assert.deepEqual(argvOf(await plan('group', { name: 'g', gid: 5 }, { 'group:g': { exists: true, gid: 6 } })), [['groupmod', '-g', '5', 'g']]);
    assert.deepEqual(argvOf(await plan('group', { name: 'g', state: 'absent' }, { 'group:g': { exists: true, gid: 6 } })), [['groupdel', 'g']]);
    assert.equal((await plan('group', { name: 'g' }, { 'group:g': { exists: true, gid: 6 } })).reason, 'group g exists (gid 6)');
  });
  it('user: only what differs is changed; groups exactly, or appended', async () => {
    const u = { exists: true, uid: 1001, gid: 1001, group: 'u', comment: '', home: '/home/u', shell: '/bin/sh', groups: ['a'] };
    assert.deepEqual(argvOf(await plan('user', { name: 'u', uid: 1001, shell: '/bin/bash', groups: 'a,b' }, { 'group:u': { exists: false }, 'user:u': u })), [['usermod', '-s', '/bin/bash', '-G', 'a,b', 'u']]);
    assert.deepEqual(argvOf(await plan('user', { name: 'u', groups: ['b'], append: true }, { 'group:u': { exists: false }, 'user:u': u })), [['usermod', '-a', '-G', 'b', 'u']]);
    assert.deepEqual((await plan('user', { name: 'u', groups: ['a'], append: true, shell: '/bin/sh' }, { 'group:u': { exists: false }, 'user:u': u })).changes, []);
    assert.deepEqual(argvOf(await plan('user', { name: 'u', comment: 'c', create_home: false }, { 'group:u': { exists: false }, 'user:u': { exists: false } })), [['useradd', '-c', 'c', '-M', 'u']]);
    assert.deepEqual(argvOf(await plan('user', { name: 'u', state: 'absent', remove: true }, { 'user:u': u })), [['userdel', '-r', 'u']]);
  });
  it('user: password, a crypted hash, goes through chpasswd -e on stdin, compared by the digest of the shadow entry (a lock `!` aside), never shown', async () => {
    const u = { exists: true, uid: 1001, gid: 1001, group: 'u', comment: '', home: '/home/u', shell: '/bin/sh', groups: [] };
    const hash = '$6$salt$' + 'x'.repeat(86);
    const digest = (h: string) => createHash('sha256').update(h).digest('hex');
    const created = await plan('user', { name: 'u', password: hash }, { 'group:u': { exists: false }, 'user:u': { exists: false }, 'shadow-hash:u': null });
    assert.deepEqual(created.changes[0]!.commands, [{ argv: ['useradd', '-m', 'u'] }, { argv: ['chpasswd', '-e'], stdin: `u:${hash}\n`, sensitive: true }]);
    const differs = await plan('user', { name: 'u', password: hash }, { 'group:u': { exists: false }, 'user:u': u, 'shadow-hash:u': digest('$6$old$y') });
    assert.deepEqual(differs.changes.map((c) => c.commands), [[{ argv: ['chpasswd', '-e'], stdin: `u:${hash}\n`, sensitive: true }]]);
    assert.ok(!JSON.stringify(differs.changes.map((c) => [c.title, c.commands.map((cmd) => cmd.argv)])).includes(hash), 'the hash is in no title or argv');
    const same = await plan('user', { name: 'u', password: hash }, { 'group:u': { exists: false }, 'user:u': u, 'shadow-hash:u': digest(hash) });
    assert.deepEqual(same.changes, []);
    assert.equal(same.reason, 'user u as wanted (uid 1001, password hash the same)');
    // a locked account (`!` before the hash) has the same password, as in Ansible
    assert.deepEqual((await plan('user', { name: 'u', password: `!${hash}` }, { 'group:u': { exists: false }, 'user:u': u, 'shadow-hash:u': digest(hash) })).changes, []);
    // on_create: an existing user's password is not even read
    assert.deepEqual((await plan('user', { name: 'u', password: hash, update_password: 'on_create' }, { 'group:u': { exists: false }, 'user:u': u })).changes, []);
    assert.deepEqual(argvOf(await plan('user', { name: 'u', password: hash, update_password: 'on_create' }, { 'group:u': { exists: false }, 'user:u': { exists: false } })), [['useradd', '-m', 'u'], ['chpasswd', '-e']]);
    await assert.rejects(async () => plan('user', { name: 'u', password: hash }, { 'group:u': { exists: false }, 'user:u': u, 'shadow-hash:u': null }), /cannot read the \/etc\/shadow entry of u .* needs root/);
    const check = getModule('user')!.params.password!.check as (v: string) => string | undefined;
    assert.equal(check(hash), undefined);
    assert.equal(check('plain:text'), 'expected an already-crypted hash (e.g. from mkpasswd -m sha-512) without ":" or a line break (the value is not shown)');
  });
});

describe('debug, assert, fail, set_fact', () => {
  it('debug shows msg or the value of var; assert names the expression that was false; fail fails', async () => {
    assert.equal((await plan('debug', { msg: { a: 1 } }, {})).reason, '{"a":1}');
    assert.deepEqual((await plan('debug', { var: 'x.y' }, {}, ctxOn('systemd', { x: { y: [1] } }))).result, { 'x.y': [1] });
    await assert.rejects(async () => plan('assert', { that: ['n > 1', 'n > 5'], fail_msg: 'too small' }, {}, ctxOn('systemd', { n: 3 })), /^Error: too small \(false: n > 5\)$/);
    await assert.rejects(async () => plan('fail', {}, {}), /^Error: Failed as requested from task$/);
    assert.deepEqual((await plan('set_fact', { a: 1, b: 'x' }, {})).vars, { a: 1, b: 'x' });
    assert.deepEqual(getModule('set_fact')!.validate!({ 'not-a-name': 1, groups: 2 }, { localDir: '/tmp' }), [
      ['not-a-name', 'a variable name must be a JavaScript identifier, got "not-a-name"'],
      ['groups', '`groups` is a reserved name in templates and expressions'],
    ]);
  });
});

describe('get_url checksum', () => {
  const dest = '/srv/app.tgz';
  const facts = (state: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ [`file:${dest}`]: { path: dest, ...state }, [`leftovers:${dest}`]: [], ...extra });
  const SHA1 = 'a'.repeat(40);
  it('takes <algorithm>:<hex> for md5, sha1, sha224, sha256, sha384 and sha512, cleaned as Ansible cleans it, and refuses the rest offline', () => {
    const check = getModule('get_url')!.params.checksum!.check as (v: string) => string | undefined;
    for (const [algorithm, length] of [['md5', 32], ['sha1', 40], ['sha224', 56], ['sha256', 64], ['sha384', 96], ['sha512', 128]] as const) {
      assert.equal(check(`${algorithm}:${'0'.repeat(length)}`), undefined, algorithm);
    }
    assert.equal(check(`sha1: ${'AB'.repeat(20)}`), undefined, 'spaces dropped, upper case taken');
    assert.equal(check(`sha1:${'a'.repeat(39)}`), 'a sha1 checksum has 40 hex digits, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" has 39');
    assert.equal(check('blake2:ab'), 'expected an algorithm among md5, sha1, sha224, sha256, sha384, sha512 before ":", got "blake2"');
    assert.equal(check('abcdef'), 'expected <algorithm>:<checksum> or <algorithm>:<URL of a checksum file>, got "abcdef"');
    assert.equal(check('sha256:zz'), 'the sha256 checksum "zz" is not hex digits');
    assert.equal(check('sha256:https://example.com/SHA256SUMS'), undefined);
  });
  it('compares an existing file by the algorithm the checksum names; a differing one is downloaded and checked with <algorithm>sum', async () => {
    const kept = await plan('get_url', { url: 'https://example.com/app.tgz', dest, checksum: `sha1:${SHA1.toUpperCase()}` }, facts({ type: 'file', sha256: 'f'.repeat(64), mode: '0644' }, { [`digest:sha1:${dest}`]: SHA1 }));
    assert.deepEqual([kept.changes, kept.reason], [[], `${dest} matches the sha1 checksum`]);
    const fetched = await plan('get_url', { url: 'https://example.com/app.tgz', dest, checksum: `sha1:${SHA1}` }, facts({ type: 'file', sha256: 'f'.repeat(64), mode: '0644' }, { [`digest:sha1:${dest}`]: 'b'.repeat(40) }));
    assert.equal(fetched.changes[0]!.title, `download https://example.com/app.tgz to ${dest} (sha1 bbbbbbbbbbbb is not the checksum's)`);
    const argv = fetched.changes[0]!.commands[0]!.argv;
    assert.deepEqual(argv.slice(8, 12), [SHA1, '0644', '', 'sha1']);
    assert.deepEqual(argv.slice(14, 19), ['-fsS', '--retry', '3', '--connect-timeout', '10']);
  });
  it('<algorithm>:<URL> reads the checksum file the host fetched, the line for the URL\'s file name (GNU or BSD lines, a lone digest)', async () => {
    const url = 'https://example.com/dl/app.tgz';
    const sums = 'https://example.com/dl/SHA1SUMS';
    const key = urlTextFact(sums, httpRequest({})).key;
    const withFile = (text: string, exitCode = 0) => facts({ type: 'absent' }, { [key]: { exitCode, text }, [`digest:sha1:${dest}`]: null });
    const sumOf = (p: Plan) => p.changes[0]!.commands[0]!.argv[8];
    assert.equal(sumOf(await plan('get_url', { url, dest, checksum: `sha1:${sums}` }, withFile(`${'1'.repeat(40)}  other.tgz\n${SHA1}  app.tgz\n`))), SHA1);
    assert.equal(sumOf(await plan('get_url', { url, dest, checksum: `sha1:${sums}` }, withFile(`${'1'.repeat(40)} *./other.tgz\n${SHA1} *./app.tgz\n`))), SHA1);
    assert.equal(sumOf(await plan('get_url', { url, dest, checksum: `sha1:${sums}` }, withFile(`SHA1 (app.tgz) = ${SHA1.toUpperCase()}\n`))), SHA1);
    assert.equal(sumOf(await plan('get_url', { url, dest, checksum: `sha1:${sums}` }, withFile(`${SHA1}\n`))), SHA1);
    await assert.rejects(async () => plan('get_url', { url, dest, checksum: `sha1:${sums}` }, withFile(`${SHA1}  other.tgz\n${SHA1}  app.tgz.asc\n`)), /^Error: Unable to find a checksum for file 'app.tgz' in 'https:\/\/example.com\/dl\/SHA1SUMS'$/);
    await assert.rejects(async () => plan('get_url', { url, dest, checksum: `sha1:${sums}` }, withFile('curl: (22) The requested URL returned error: 404\n', 22)), /could not download the checksum file https:\/\/example.com\/dl\/SHA1SUMS \(curl exit 22\): curl: \(22\) The requested URL returned error: 404/);
  });
});

describe('unarchive: zip, and owner/group/mode', () => {
  // a zip made by Python's zipfile (python3 is on every test machine; zip is not)
  const dir = mkdtempSync(join(tmpdir(), 'bootstrap-unarchive-test-'));
  mkdirSync(join(dir, 'app', 'bin'), { recursive: true });
  writeFileSync(join(dir, 'app', 'conf'), 'v1\n');
  writeFileSync(join(dir, 'app', 'bin', 'run'), '#!/bin/sh\n', { mode: 0o755 });
  execFileSync('python3', ['-m', 'zipfile', '-c', join(dir, 'app.zip'), 'app'], { cwd: dir });
  const zip = join(dir, 'app.zip');
  after(() => rmSync(dir, { recursive: true, force: true }));
  const dest = '/srv/d';
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');
  const state = (path: string, type: string, extra: Record<string, unknown> = {}) => ({ path: `${dest}/${path}`, type, mode: type === 'directory' ? '0755' : '0644', owner: 'root', group: 'root', uid: 0, gid: 0, ...extra });
  const tree = (overrides: Record<string, Record<string, unknown>> = {}) => {
    const entries: Record<string, ReturnType<typeof state>> = {
      app: state('app', 'directory'), 'app/bin': state('app/bin', 'directory'), 'app/bin/run': state('app/bin/run', 'file', { sha256: sha('#!/bin/sh\n'), mode: '0755' }), 'app/conf': state('app/conf', 'file', { sha256: sha('v1\n') }),
    };
    return Object.fromEntries(Object.entries(entries).map(([k, v]) => [`file:${dest}/${k}`, { ...v, ...overrides[k] }]));
  };
  const zipFacts = (files: Record<string, unknown>, unzip = true) => ({ [`file:${dest}`]: { path: dest, type: 'directory' }, 'command-exists:unzip': unzip, [`leftovers:${dest}/${zip.split('/').pop()}`]: [], ...files });
  const absent = () => tree(Object.fromEntries(['app', 'app/bin', 'app/bin/run', 'app/conf'].map((k) => [k, { type: 'absent' }])));

  it('a laptop zip differing from dest is uploaded (unzip needs a file) and unpacked with unzip -o, then owner/group/mode set on every member', async () => {
    const p = await plan('unarchive', { src: zip, dest, owner: 'www-data', group: 'adm', mode: '0640' }, zipFacts(absent()));
    assert.equal(p.changes.length, 1);
    assert.match(p.changes[0]!.title, /^unpack .*app\.zip into \/srv\/d \(4 of 4 entries differ: app, app\/bin, app\/bin\/run, \.\.\.\)$/);
    const argv = argvOf(p);
    const tmp = `${dest}/.app.zip.bootstrap-tmp-r1`;
    assert.deepEqual(argv.slice(1), [
      ['rm', '-f', '--', tmp],
      ['unzip', '-o', '-qq', tmp, '-d', dest],
      ['rm', '-f', '--', tmp],
      ['chown', '-h', 'www-data:adm', '--', `${dest}/app`, `${dest}/app/bin`, `${dest}/app/bin/run`, `${dest}/app/conf`],
      ['sh', '-c', 'mode=$1; shift; for p; do [ -L "$p" ] || chmod "$mode" -- "$p" || exit; done', 'chmod', '0640', `${dest}/app`, `${dest}/app/bin`, `${dest}/app/bin/run`, `${dest}/app/conf`],
    ]);
    assert.equal(p.changes[0]!.commands[1]!.onFailure, true, 'the uploaded zip is removed when unzip fails');
  });
  it('a zip dest holds is ok; only the members whose owner or mode differ are changed', async () => {
    const ok = await plan('unarchive', { src: zip, dest }, zipFacts(tree()));
    assert.deepEqual([ok.changes, ok.reason], [[], `${dest} matches ${zip} (4 entries)`]);
    const fixed = await plan('unarchive', { src: zip, dest, owner: 'root', mode: '0644' }, zipFacts(tree({ 'app/conf': { owner: 'nobody', uid: 65534 } })));
    assert.deepEqual(fixed.changes.map((c) => c.title), ['set owner root on 1 unpacked entry (/srv/d/app/conf)', 'set mode 0644 on 3 unpacked entries (/srv/d/app, /srv/d/app/bin, /srv/d/app/bin/run)']);
    assert.deepEqual(argvOf(fixed)[0], ['chown', '-h', 'root', '--', `${dest}/app/conf`]);
    const byId = await plan('unarchive', { src: zip, dest, owner: '0', group: '0' }, zipFacts(tree()));
    assert.deepEqual(byId.changes, [], 'owner and group given as ids match');
  });
  it('a zip needs unzip on the host, said plainly', async () => {
    await assert.rejects(async () => plan('unarchive', { src: zip, dest }, zipFacts(absent(), false)), /^Error: unzip is not installed on h1: unpacking the zip archive .*app\.zip needs it \(the Debian package unzip; install it with a package task first\)$/);
  });
  it('remote_src: a tar is compared as Ansible reads tar --compare (mode, owner differences left to owner/group/mode), a zip member by member', async () => {
    const key = `host-archive:states:/srv/a.tgz\0${dest}`;
    const archive = (extra: Record<string, unknown>) => ({ uid: 0, kind: 'tar', entries: ['app/', 'app/conf'], differs: [], compare: [], states: new Map([['app', state('app', 'directory')], ['app/conf', state('app/conf', 'file', { mode: '0600' })]]), ...extra });
    const facts = (extra: Record<string, unknown>) => ({ [`file:${dest}`]: { path: dest, type: 'directory' }, [key]: archive(extra) });
    const modeOnly = await plan('unarchive', { src: '/srv/a.tgz', dest, remote_src: true, mode: '0600' }, facts({ compare: ['app/: Mode differs'] }));
    assert.deepEqual(argvOf(modeOnly), [['sh', '-c', 'mode=$1; shift; for p; do [ -L "$p" ] || chmod "$mode" -- "$p" || exit; done', 'chmod', '0600', `${dest}/app`]]);
    const content = await plan('unarchive', { src: '/srv/a.tgz', dest, remote_src: true, mode: '0600' }, facts({ compare: ['app/conf: Contents differ'] }));
    assert.deepEqual(argvOf(content)[0], ['tar', '-x', '-f', '/srv/a.tgz', '-C', dest]);
    const notRoot = await plan('unarchive', { src: '/srv/a.tgz', dest, remote_src: true, mode: '0600' }, facts({ uid: 1000, compare: ['app/conf: Uid differs'], states: new Map([['app', state('app', 'directory', { mode: '0600' })], ['app/conf', state('app/conf', 'file', { mode: '0600' })]]) }));
    assert.deepEqual(notRoot.changes, []);
    await assert.rejects(async () => plan('unarchive', { src: '/srv/a.tgz', dest, remote_src: true, mode: '0600' }, facts({ error: 'unzip is not installed on the host: a zip archive needs it (the Debian package unzip)' })), /^Error: unzip is not installed on the host/);
    const zipKey = `host-archive:/srv/a.zip\0${dest}`;
    const unzipped = await plan('unarchive', { src: '/srv/a.zip', dest, remote_src: true }, { [`file:${dest}`]: { path: dest, type: 'directory' }, [zipKey]: { uid: 0, kind: 'zip', entries: ['app', 'app/conf'], differs: ['app/conf'], kept: [], compare: [], states: new Map() } });
    assert.deepEqual(argvOf(unzipped), [['unzip', '-o', '-qq', '/srv/a.zip', '-d', dest]]);
  });
});

describe('apt_repository and deb822_repository', () => {
  const REPO = 'deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/debian bookworm stable';
  const TARGET = '/etc/apt/sources.list.d/download_docker_com_linux_debian.list';
  const sources = (files: Record<string, string>) => ({ 'leftovers:/etc/apt/sources-before.tar': [], 'apt-sources': new Map(Object.entries(files)), [`file:${TARGET}`]: { path: TARGET, type: 'absent' } });
  it('adds a repo to the file Ansible names, then updates the apt lists', async () => {
    const p = await plan('apt_repository', { repo: REPO }, sources({ '/etc/apt/sources.list': 'deb http://mirror.example/debian bookworm main\n' }));
    assert.deepEqual(p.changes.map((c) => c.title), [`create ${TARGET} (absent)`, `update apt lists (added ${REPO})`]);
    assert.equal(p.changes[0]!.diff!.after, `${REPO}\n`);
  });
  it('is ok when the repo is enabled in any file, whitespace aside; update_cache: false does not update', async () => {
    const p = await plan('apt_repository', { repo: REPO }, sources({ '/etc/apt/sources.list.d/docker.list': `${REPO.replace(' bookworm', '   bookworm')}  # docker\n` }));
    assert.deepEqual(p.changes, []);
    assert.equal(p.reason, `${REPO} in /etc/apt/sources.list.d/docker.list`);
    const added = await plan('apt_repository', { repo: REPO, update_cache: false, filename: 'docker' }, { 'leftovers:/etc/apt/sources-before.tar': [], 'apt-sources': new Map(), 'file:/etc/apt/sources.list.d/docker.list': { path: '/etc/apt/sources.list.d/docker.list', type: 'absent' } });
    assert.deepEqual(added.changes.map((c) => c.title), ['create /etc/apt/sources.list.d/docker.list (absent)']);
  });
  it('enables a commented-out line where it is; absent removes it everywhere, and a file left empty', async () => {
    const other = '/etc/apt/sources.list.d/other.list';
    const enabled = await plan('apt_repository', { repo: REPO, update_cache: false }, sources({ [other]: `deb http://x/ y z\n# ${REPO}\n` }));
    assert.equal(enabled.changes[0]!.diff!.after, `deb http://x/ y z\n${REPO}\n`);
    const removed = await plan('apt_repository', { repo: REPO, state: 'absent', update_cache: false }, sources({ [other]: `deb http://x/ y z\n${REPO}\n`, [TARGET]: `${REPO}\n` }));
    assert.deepEqual(removed.changes.map((c) => c.title), [`update ${other} (content differs)`, `remove ${TARGET} (${REPO} was its only source)`]);
  });
  it('ppa:owner/name becomes the deb line and file Ansible writes for the host\'s Ubuntu release, its signing key fetched first', async () => {
    const ubuntu: ModuleContext = { ...ctxOn(), facts: { ...host('systemd'), os: { id: 'ubuntu', version: '22.04', codename: 'jammy', family: 'debian' } } };
    const list = '/etc/apt/sources.list.d/ppa_nginx_stable_jammy.list';
    const key = '/etc/apt/trusted.gpg.d/ubuntu-jammy-main-nginx-stable.gpg';
    const line = 'deb https://ppa.launchpadcontent.net/nginx/stable/ubuntu jammy main';
    const p = await plan('apt_repository', { repo: 'ppa:nginx/stable' }, { 'leftovers:/etc/apt/sources-before.tar': [], 'apt-sources': new Map(), [`file:${list}`]: { path: list, type: 'absent' }, [`file:${key}`]: { path: key, type: 'absent' } }, ubuntu);
    assert.deepEqual(p.changes.map((c) => c.title), [`fetch the signing key of ppa:nginx/stable into ${key}`, `create ${list} (absent)`, `update apt lists (added ${line})`]);
    assert.equal(p.changes[1]!.diff!.after, `${line}\n`);
    assert.deepEqual(p.changes[0]!.commands[0]!.argv.slice(4, 7), ['nginx', 'stable', key]);
    // the key is there: only the source; the line enabled anywhere: ok
    const keyed = await plan('apt_repository', { repo: 'ppa:nginx/stable', update_cache: false }, { 'leftovers:/etc/apt/sources-before.tar': [], 'apt-sources': new Map(), [`file:${list}`]: { path: list, type: 'absent' }, [`file:${key}`]: { path: key, type: 'file' } }, ubuntu);
    assert.deepEqual(keyed.changes.map((c) => c.title), [`create ${list} (absent)`]);
    const ok = await plan('apt_repository', { repo: 'ppa:nginx/stable' }, { 'leftovers:/etc/apt/sources-before.tar': [], 'apt-sources': new Map([['/etc/apt/sources.list.d/mine.list', `${line}\n`]]), [`file:${list}`]: { path: list, type: 'absent' }, [`file:${key}`]: { path: key, type: 'file' } }, ubuntu);
    assert.equal(ok.reason, `${line} in /etc/apt/sources.list.d/mine.list`);
    // no name: Ansible's `ppa`; absent removes the line Ansible would have written
    const gone = await plan('apt_repository', { repo: 'ppa:someone', state: 'absent', update_cache: false }, { 'leftovers:/etc/apt/sources-before.tar': [], 'apt-sources': new Map([['/etc/apt/sources.list.d/ppa_someone_jammy.list', 'deb https://ppa.launchpadcontent.net/someone/ppa/ubuntu jammy main\n']]), 'file:/etc/apt/sources.list.d/ppa_someone_jammy.list': { path: '', type: 'file' } }, ubuntu);
    assert.deepEqual(argvOf(gone), [['rm', '-f', '/etc/apt/sources.list.d/ppa_someone_jammy.list']]);
  });
  it('a PPA on a host that is not Ubuntu is refused unless codename names the Ubuntu release', async () => {
    const list = '/etc/apt/sources.list.d/ppa_nginx_stable_bookworm.list';
    const key = '/etc/apt/trusted.gpg.d/ubuntu-bookworm-main-nginx-stable.gpg';
    await assert.rejects(async () => plan('apt_repository', { repo: 'ppa:nginx/stable' }, { 'leftovers:/etc/apt/sources-before.tar': [], 'apt-sources': new Map(), [`file:${list}`]: { path: list, type: 'absent' }, [`file:${key}`]: { path: key, type: 'absent' } }),
      /^Error: ppa:nginx\/stable is a Launchpad PPA, built for Ubuntu releases; this host is debian 12 \(bookworm\)\. Set codename: to the Ubuntu release/);
    const jammyList = '/etc/apt/sources.list.d/ppa_nginx_stable_jammy.list';
    const jammyKey = '/etc/apt/trusted.gpg.d/ubuntu-jammy-main-nginx-stable.gpg';
    const p = await plan('apt_repository', { repo: 'ppa:nginx/stable', codename: 'jammy', update_cache: false }, { 'leftovers:/etc/apt/sources-before.tar': [], 'apt-sources': new Map(), [`file:${jammyList}`]: { path: jammyList, type: 'absent' }, [`file:${jammyKey}`]: { path: jammyKey, type: 'file' } });
    assert.equal(p.changes[0]!.diff!.after, 'deb https://ppa.launchpadcontent.net/nginx/stable/ubuntu jammy main\n');
  });
  it('deb822_repository writes the fields Ansible writes, in its order, and removes the file', async () => {
    const path = '/etc/apt/sources.list.d/docker-ce.sources';
    const p = await plan('deb822_repository', { name: 'Docker CE', uris: 'https://download.docker.com/linux/debian', suites: ['bookworm'], components: ['stable'], signed_by: '/etc/apt/keyrings/docker.asc', enabled: true }, { [`file:${path}`]: { path, type: 'absent' }, [`leftovers:${path}`]: [] });
    assert.equal(p.changes[0]!.diff!.after, 'Components: stable\nEnabled: yes\nX-Repolib-Name: Docker CE\nSigned-By: /etc/apt/keyrings/docker.asc\nSuites: bookworm\nTypes: deb\nURIs: https://download.docker.com/linux/debian\n');
    const gone = await plan('deb822_repository', { name: 'Docker CE', state: 'absent' }, { [`file:${path}`]: { path, type: 'file' }, [`leftovers:${path}`]: [] });
    assert.deepEqual(argvOf(gone), [['rm', '-f', path]]);
  });
});
