import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { FileState } from '../../src/facts/file.js';
import type { SystemdUnitState, UpstartJobState } from '../../src/facts/service.js';
import type { Fact, FactReader, HostFacts } from '../../src/facts/types.js';
import { getModule, modules } from '../../src/modules/index.js';
import type { ModuleContext, Plan } from '../../src/modules/types.js';

const hostOn = (init: HostFacts['init']): HostFacts => ({ hostname: 'lb1', os: { id: 'debian', version: '12', codename: 'bookworm', family: 'debian' }, arch: 'amd64', init, user: 'root', isRoot: true, addresses: [] });
const ctxOn = (init: HostFacts['init']): ModuleContext => ({ host: 'lb1', facts: hostOn(init), localDir: '/tmp', runId: 'r1', lockFile: '/run/bootstrap.lock', evaluate: () => { throw new Error('no expressions here'); }, renderTemplate: (src) => `[Unit]\nDescription=from ${src}\n` });
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const file = (path: string, content: string | null): FileState =>
  content === null ? { path, type: 'absent' } : { path, type: 'file', mode: '0644', owner: 'root', group: 'root', sha256: sha(content), content: Buffer.from(content) };

async function plan(params: Record<string, unknown>, values: Record<string, unknown>, init: HostFacts['init'] = 'systemd'): Promise<Plan> {
  const m = getModule('service')!;
  const ctx = ctxOn(init);
  // no temp files left beside the unit, unless the test says otherwise
  values = { ...Object.fromEntries(m.facts(params, ctx).filter((f) => f.key.startsWith('leftovers:')).map((f) => [f.key, []])), ...values };
  assert.deepEqual(m.facts(params, ctx).map((f) => f.key).sort(), Object.keys(values).sort());
  const read: FactReader = <T>(fact: Fact<T>) => values[fact.key] as T;
  return m.plan(params, read, ctx);
}

const unit = (enabled: string, active: string): SystemdUnitState => ({ unit: 'consul.service', enabled, active, needsReload: false });
const UNIT_PATH = '/etc/systemd/system/consul.service';
const UNIT = '[Unit]\nDescription=Consul\n';
const argvOf = (p: Plan) => p.changes.flatMap((c) => c.commands.map((cmd) => cmd.argv));

describe('service on systemd', () => {
  it('new unit: write, daemon-reload, enable, start', async () => {
    const p = await plan({ name: 'consul', unit: UNIT, state: 'started', enabled: true }, { 'systemd:consul.service': unit('not-found', 'inactive'), [`file:${UNIT_PATH}`]: file(UNIT_PATH, null) });
    assert.deepEqual(p.changes.map((c) => c.title), [
      `create ${UNIT_PATH} (absent)`, `reload systemd units (${UNIT_PATH} changed)`, 'enable consul (was not-found)', 'start consul (inactive)',
    ]);
    assert.deepEqual(argvOf(p).slice(3), [['systemctl', 'daemon-reload'], ['systemctl', 'enable', 'consul.service'], ['systemctl', 'start', 'consul.service']]);
    assert.deepEqual(p.changes[0]!.diff, { path: UNIT_PATH, before: null, after: UNIT });
  });

  it('everything in place: ok with why', async () => {
    const p = await plan({ name: 'consul', unit: UNIT, state: 'started', enabled: true }, { 'systemd:consul.service': unit('enabled', 'active'), [`file:${UNIT_PATH}`]: file(UNIT_PATH, UNIT) });
    assert.deepEqual(p, { changes: [], reason: 'consul active, enabled, unit up to date' });
  });

  it('changed unit of a running service: write + daemon-reload, no restart (that is a handler)', async () => {
    const p = await plan({ name: 'consul', unit: UNIT, state: 'started' }, { 'systemd:consul.service': unit('enabled', 'active'), [`file:${UNIT_PATH}`]: file(UNIT_PATH, '[Unit]\n') });
    assert.deepEqual(p.changes.map((c) => c.title), [`update ${UNIT_PATH} (content differs)`, `reload systemd units (${UNIT_PATH} changed)`]);
  });

  it('unit_src renders through the template engine', async () => {
    const p = await plan({ name: 'consul', unit_src: 'consul.service.ejs' }, { 'systemd:consul.service': unit('enabled', 'active'), [`file:${UNIT_PATH}`]: file(UNIT_PATH, null) });
    assert.equal(p.changes[0]!.diff?.after, '[Unit]\nDescription=from consul.service.ejs\n');
  });

  const rows: Array<[string, Record<string, unknown>, SystemdUnitState, string[], string[][]]> = [
    ['stopped when active', { name: 'consul', state: 'stopped' }, unit('enabled', 'active'), ['stop consul (active)'], [['systemctl', 'stop', 'consul.service']]],
    ['stopped when failed', { name: 'consul', state: 'stopped' }, unit('enabled', 'failed'), [], []],
    ['started when failed', { name: 'consul', state: 'started' }, unit('enabled', 'failed'), ['start consul (failed)'], [['systemctl', 'start', 'consul.service']]],
    ['restarted always acts', { name: 'consul', state: 'restarted' }, unit('enabled', 'active'), ['restart consul (restart requested; was active)'], [['systemctl', 'restart', 'consul.service']]],
    ['reloaded when active', { name: 'nginx', state: 'reloaded' }, { unit: 'nginx.service', enabled: 'enabled', active: 'active', needsReload: false }, ['reload nginx (reload requested)'], [['systemctl', 'reload', 'nginx.service']]],
    ['reloaded when inactive starts', { name: 'nginx', state: 'reloaded' }, { unit: 'nginx.service', enabled: 'enabled', active: 'inactive', needsReload: false }, ['start nginx (reload requested; was inactive)'], [['systemctl', 'start', 'nginx.service']]],
    ['disable an enabled unit', { name: 'consul', enabled: false }, unit('enabled', 'inactive'), ['disable consul (was enabled)'], [['systemctl', 'disable', 'consul.service']]],
    ['static units count as enabled', { name: 'consul', enabled: true }, unit('static', 'inactive'), [], []],
  ];
  for (const [name, params, state, titles, argv] of rows) {
    it(name, async () => {
      const p = await plan(params, { [`systemd:${state.unit}`]: state });
      assert.deepEqual(p.changes.map((c) => c.title), titles);
      assert.deepEqual(argvOf(p), argv);
    });
  }

  it('systemd_unit is an alias of service', () => {
    assert.equal(modules.get('systemd_unit'), modules.get('service'));
  });
});

describe('service on upstart', () => {
  const job = (running: boolean, manual = false): UpstartJobState => ({ name: 'consul', known: true, running, manual, conf: true });
  const CONF = '/etc/init/consul.conf';
  const JOB = 'start on runlevel [2345]\nexec consul agent\n';

  it('new job: write the conf, reload configuration, start', async () => {
    const p = await plan({ name: 'consul', upstart: JOB, state: 'started', enabled: true }, { 'upstart:consul': { ...job(false), known: false, conf: false }, [`file:${CONF}`]: file(CONF, null) }, 'upstart');
    assert.deepEqual(p.changes.map((c) => c.title), [`create ${CONF} (absent)`, `reload upstart configuration (${CONF} changed)`, 'start consul (stopped)']);
    // show-config fails when init did not load the job (a syntax error)
    assert.deepEqual(argvOf(p).slice(-3), [['initctl', 'reload-configuration'], ['initctl', 'show-config', 'consul'], ['initctl', 'start', 'consul']]);
  });

  it('running and up to date: ok', async () => {
    const p = await plan({ name: 'consul', upstart: JOB, state: 'started' }, { 'upstart:consul': job(true), [`file:${CONF}`]: file(CONF, JOB) }, 'upstart');
    assert.deepEqual(p, { changes: [], reason: 'consul running, job up to date' });
  });

  it('restart of a stopped job starts it; enable removes the manual override', async () => {
    const p = await plan({ name: 'consul', state: 'restarted', enabled: true }, { 'upstart:consul': job(false, true) }, 'upstart');
    assert.deepEqual(p.changes.map((c) => c.title), ['enable consul (was manual)', 'start consul (restart requested; was stopped)']);
    assert.deepEqual(argvOf(p), [['rm', '-f', '/etc/init/consul.override'], ['initctl', 'start', 'consul']]);
  });

  it('restart of a running job is stop + start, so a changed job definition is read', async () => {
    const p = await plan({ name: 'consul', state: 'restarted' }, { 'upstart:consul': job(true) }, 'upstart');
    assert.deepEqual(argvOf(p), [['initctl', 'stop', 'consul'], ['initctl', 'start', 'consul']]);
  });

  it('a job with no /etc/init file and none to write is an error naming the host and the file', async () => {
    await assert.rejects(
      async () => plan({ name: 'nginx', state: 'started' }, { 'upstart:nginx': { name: 'nginx', known: false, running: false, manual: false, conf: false } }, 'upstart'),
      /has no job \/etc\/init\/nginx\.conf for nginx/,
    );
  });

  it('stopping and disabling a job that does not exist is already done (a retired service)', async () => {
    const absent = { 'upstart:registrator': { name: 'registrator', known: false, running: false, manual: false, conf: false } };
    const p = await plan({ name: 'registrator', state: 'stopped', enabled: false }, absent, 'upstart');
    assert.deepEqual(p.changes, []);
    assert.equal(p.reason, 'no job /etc/init/registrator.conf');
    await assert.rejects(async () => plan({ name: 'registrator', state: 'stopped', enabled: true }, absent, 'upstart'), /has no job/);
  });

  it('disable writes a manual override', async () => {
    const p = await plan({ name: 'consul', enabled: false }, { 'upstart:consul': job(true) }, 'upstart');
    assert.equal(p.changes[0]!.title, 'disable consul (starts at boot)');
    assert.deepEqual(p.changes[0]!.commands[0]!.stdin, Buffer.from(`7 ${sha('manual\n')}\nmanual\n`));
  });

  it('no init system is an error', () => {
    assert.throws(() => getModule('service')!.facts({ name: 'consul' }, ctxOn('other')), /no supported init system/);
  });
});
