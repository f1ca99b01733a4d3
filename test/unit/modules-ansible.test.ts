/**
 * Plans of the modules Ansible users reach for, from given facts: what runs, what stays ok, and
 * where their parameters are refused. (Their outcome against ansible-core itself is in
 * test/integration/ansible-oracle.test.ts; these are the cases a loopback host cannot show.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SystemdUnitState } from '../../src/facts/service.js';
import type { Fact, FactReader, HostFacts } from '../../src/facts/types.js';
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
const unit = (enabled: string, active: string): SystemdUnitState => ({ unit: 'app.service', enabled, active });

describe('systemd with daemon_reload', () => {
  it('reloads first when the unit changed on disk, then restarts', async () => {
    const p = await plan('systemd', { name: 'app', state: 'restarted', daemon_reload: true }, { 'systemd-need-reload:app.service': true, 'systemd:app.service': unit('enabled', 'active') });
    assert.deepEqual(argvOf(p), [['systemctl', 'daemon-reload'], ['systemctl', 'restart', 'app.service']]);
  });
  it('is ok, saying why, when nothing changed on disk', async () => {
    const p = await plan('systemd', { name: 'app', state: 'started', daemon_reload: true }, { 'systemd-need-reload:app.service': false, 'systemd:app.service': unit('enabled', 'active') });
    assert.deepEqual(p.changes, []);
    assert.equal(p.reason, 'no unit file changed since systemd loaded it; app active, enabled');
  });
  it('without a name looks at every loaded unit', async () => {
    const p = await plan('systemd_service', { daemon_reload: true }, { 'systemd-need-reload:*': true });
    assert.deepEqual(p.changes.map((c) => c.title), ['reload systemd units (a unit file changed on disk)']);
  });
  it('reloads once when it writes the unit itself', async () => {
    const p = await plan('systemd', { name: 'app', unit: '[Unit]\n', daemon_reload: true }, {
      'systemd-need-reload:app.service': true, 'systemd:app.service': unit('disabled', 'inactive'),
      'file:/etc/systemd/system/app.service': { path: '/etc/systemd/system/app.service', type: 'absent' },
      'leftovers:/etc/systemd/system/app.service': [],
    });
    assert.equal(argvOf(p).filter((a) => a.join(' ') === 'systemctl daemon-reload').length, 1);
  });
  it('needs systemd, and a name or daemon_reload', () => {
    assert.throws(() => getModule('systemd')!.facts({ daemon_reload: true }, ctxOn('upstart')), /daemon_reload needs systemd; h1 runs upstart/);
    assert.deepEqual(getModule('systemd')!.validate!({ state: 'started' }, { localDir: '/tmp' }), [['name', 'give name, or daemon_reload: true']]);
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
    assert.deepEqual(argvOf(await plan('user', { name: 'u', uid: 1001, shell: '/bin/bash', groups: 'a,b' }, { 'user:u': u })), [['usermod', '-s', '/bin/bash', '-G', 'a,b', 'u']]);
    assert.deepEqual(argvOf(await plan('user', { name: 'u', groups: ['b'], append: true }, { 'user:u': u })), [['usermod', '-a', '-G', 'b', 'u']]);
    assert.deepEqual((await plan('user', { name: 'u', groups: ['a'], append: true, shell: '/bin/sh' }, { 'user:u': u })).changes, []);
    assert.deepEqual(argvOf(await plan('user', { name: 'u', comment: 'c', create_home: false }, { 'user:u': { exists: false } })), [['useradd', '-c', 'c', '-M', 'u']]);
    assert.deepEqual(argvOf(await plan('user', { name: 'u', state: 'absent', remove: true }, { 'user:u': u })), [['userdel', '-r', 'u']]);
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

describe('apt_repository and deb822_repository', () => {
  const REPO = 'deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/debian bookworm stable';
  const TARGET = '/etc/apt/sources.list.d/download_docker_com_linux_debian.list';
  const sources = (files: Record<string, string>) => ({ 'apt-sources': new Map(Object.entries(files)), [`file:${TARGET}`]: { path: TARGET, type: 'absent' } });
  it('adds a repo to the file Ansible names, then updates the apt lists', async () => {
    const p = await plan('apt_repository', { repo: REPO }, sources({ '/etc/apt/sources.list': 'deb http://mirror.example/debian bookworm main\n' }));
    assert.deepEqual(p.changes.map((c) => c.title), [`create ${TARGET} (absent)`, `update apt lists (added ${REPO})`]);
    assert.equal(p.changes[0]!.diff!.after, `${REPO}\n`);
  });
  it('is ok when the repo is enabled in any file, whitespace aside; update_cache: false does not update', async () => {
    const p = await plan('apt_repository', { repo: REPO }, sources({ '/etc/apt/sources.list.d/docker.list': `${REPO.replace(' bookworm', '   bookworm')}  # docker\n` }));
    assert.deepEqual(p.changes, []);
    assert.equal(p.reason, `${REPO} in /etc/apt/sources.list.d/docker.list`);
    const added = await plan('apt_repository', { repo: REPO, update_cache: false, filename: 'docker' }, { 'apt-sources': new Map(), 'file:/etc/apt/sources.list.d/docker.list': { path: '/etc/apt/sources.list.d/docker.list', type: 'absent' } });
    assert.deepEqual(added.changes.map((c) => c.title), ['create /etc/apt/sources.list.d/docker.list (absent)']);
  });
  it('enables a commented-out line where it is; absent removes it everywhere, and a file left empty', async () => {
    const other = '/etc/apt/sources.list.d/other.list';
    const enabled = await plan('apt_repository', { repo: REPO, update_cache: false }, sources({ [other]: `deb http://x/ y z\n# ${REPO}\n` }));
    assert.equal(enabled.changes[0]!.diff!.after, `deb http://x/ y z\n${REPO}\n`);
    const removed = await plan('apt_repository', { repo: REPO, state: 'absent', update_cache: false }, sources({ [other]: `deb http://x/ y z\n${REPO}\n`, [TARGET]: `${REPO}\n` }));
    assert.deepEqual(removed.changes.map((c) => c.title), [`update ${other} (content differs)`, `remove ${TARGET} (${REPO} was its only source)`]);
  });
  it('deb822_repository writes the fields Ansible writes, in its order, and removes the file', async () => {
    const path = '/etc/apt/sources.list.d/docker-ce.sources';
    const p = await plan('deb822_repository', { name: 'Docker CE', uris: 'https://download.docker.com/linux/debian', suites: ['bookworm'], components: ['stable'], signed_by: '/etc/apt/keyrings/docker.asc', enabled: true }, { [`file:${path}`]: { path, type: 'absent' }, [`leftovers:${path}`]: [] });
    assert.equal(p.changes[0]!.diff!.after, 'Components: stable\nEnabled: yes\nX-Repolib-Name: Docker CE\nSigned-By: /etc/apt/keyrings/docker.asc\nSuites: bookworm\nTypes: deb\nURIs: https://download.docker.com/linux/debian\n');
    const gone = await plan('deb822_repository', { name: 'Docker CE', state: 'absent' }, { [`file:${path}`]: { path, type: 'file' }, [`leftovers:${path}`]: [] });
    assert.deepEqual(argvOf(gone), [['rm', '-f', path]]);
  });
});
