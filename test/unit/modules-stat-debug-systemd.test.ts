/**
 * Ansible 2.19 parameters of stat (follow, get_mime, get_attributes), debug (verbosity) and
 * systemd (daemon_reexec, scope): what each plans from facts, the facts it asks for, the argv it
 * produces and what it refuses offline; and how the runner treats a change that is not counted
 * (daemon_reexec), with real commands on this machine (LocalTransport).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileFlagsFact, parseLsattr } from '../../src/facts/file-flags.js';
import { fileMimeFact, parseMimeLine } from '../../src/facts/file-mime.js';
import { systemdUnitFact, userRuntimeDirFact } from '../../src/facts/service.js';
import type { Fact, FactReader, HostFacts } from '../../src/facts/types.js';
import { getModule } from '../../src/modules/index.js';
import type { Module, ModuleContext, Plan } from '../../src/modules/types.js';
import { loadPlaybooks, MODULE_NAMES } from '../../src/playbook/load-playbooks.js';
import { RunEvents, type RunEvent } from '../../src/runner/events.js';
import { runPlays } from '../../src/runner/run.js';
import { loadInventory } from '../../src/stack/inventory.js';
import { LocalTransport } from '../../src/transport/local.js';
import { validateRun } from '../../src/cli/validate-run.js';
import { ConfigErrors } from '../../src/errors.js';

const facts = (init: HostFacts['init'] = 'systemd'): HostFacts => ({ hostname: 'h1', os: { id: 'debian', version: '12', codename: 'bookworm', family: 'debian' }, arch: 'amd64', init, user: 'deploy', isRoot: false, addresses: [] });
const ctxWith = (over: Partial<ModuleContext> = {}): ModuleContext => ({
  host: 'h1', facts: facts(), localDir: '/tmp', runId: 'r1', lockFile: '/run/bootstrap.lock', renderTemplate: () => '', evaluate: (e) => `value of ${e}`, ...over,
});
/** The module's parameters with its schema defaults, as loading gives them. */
function withDefaults(module: string, params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(getModule(module)!.params)) if ('default' in spec && spec.default !== undefined) out[name] = spec.default;
  return { ...out, ...params };
}
/** Plans with the facts the module asks for, each answered from `values` (a missing answer fails the test). */
async function planWith(module: string, params: Record<string, unknown>, values: Record<string, unknown>, ctx = ctxWith()): Promise<{ plan: Plan; asked: string[] }> {
  const m = getModule(module)!;
  const p = withDefaults(module, params);
  const asked = m.facts(p, ctx).map((f) => f.key);
  const read: FactReader = <T>(fact: Fact<T>) => {
    assert.ok(asked.includes(fact.key), `planning read ${fact.key}, which facts() did not ask for`);
    assert.ok(fact.key in values, `no value for ${fact.key}`);
    return values[fact.key] as T;
  };
  return { plan: await m.plan(p, read, ctx), asked };
}
const argv = (p: Plan) => p.changes.flatMap((c) => c.commands.map((cmd) => cmd.argv.join(' ')));

describe('stat follow, get_mime, get_attributes', () => {
  const path = '/srv/app.conf';
  const details = { inode: 131, dev: 64768, nlink: 1, atime: 1577880000.25, mtime: 1577880000.5, ctime: 1796587338.838968, blocks: 8, blockSize: 4096, rdev: 0, readable: true, writeable: true, executable: false };
  const file = { path, type: 'file', mode: '0644', owner: 'root', group: 'root', uid: 0, gid: 0, size: 4, sha256: 'a'.repeat(64), details };
  const mime = { mimetype: 'text/plain', charset: 'us-ascii' };
  const flags = { version: '12', attr_flags: 'e', attributes: ['extents'] };
  const statOf = async (params: Record<string, unknown>, values: Record<string, unknown>) => {
    const { plan, asked } = await planWith('stat', { path, ...params }, values);
    assert.deepEqual(plan.changes, []);
    return { stat: (plan.result as { stat: Record<string, unknown> }).stat, asked };
  };

  it('by default (as Ansible): the link itself, mime type and charset, attributes with their flags and version, each from a fact of the same batch', async () => {
    const { stat, asked } = await statOf({}, { [`file+source:${path}`]: file, [`digest:sha1:${path}`]: 'b'.repeat(40), [`file-mime:${path}`]: mime, [`file-flags:${path}`]: flags });
    assert.deepEqual(asked.sort(), [`digest:sha1:${path}`, `file+source:${path}`, `file-flags:${path}`, `file-mime:${path}`]);
    assert.deepEqual([stat.mimetype, stat.charset, stat.attributes, stat.attr_flags, stat.version, stat.checksum], ['text/plain', 'us-ascii', ['extents'], 'e', '12', 'b'.repeat(40)]);
  });

  it('follow: true reads the target (stat -L) and its checksum with <algorithm>sum, sha256 too; no lnk_target', async () => {
    const target = { ...file, path };
    const { stat, asked } = await statOf({ follow: true, checksum_algorithm: 'sha256', get_mime: false, get_attributes: false }, { [`file+follow:${path}`]: target, [`digest:sha256:${path}`]: 'c'.repeat(64) });
    assert.deepEqual(asked.sort(), [`digest:sha256:${path}`, `file+follow:${path}`]);
    assert.deepEqual([stat.isreg, stat.islnk, stat.checksum, 'lnk_target' in stat], [true, false, 'c'.repeat(64), false]);
    const dangling = await statOf({ follow: true, get_mime: false, get_attributes: false }, { [`file+follow:${path}`]: { path, type: 'absent' }, [`digest:sha1:${path}`]: null });
    assert.deepEqual(dangling.stat, { exists: false });
  });

  it('every key Ansible\'s stat reports on Linux: stat(2)\'s fields, the mode\'s bits as booleans, access for the task\'s user', async () => {
    const { stat } = await statOf({ get_mime: false, get_attributes: false, get_checksum: false }, { [`file+source:${path}`]: { ...file, mode: '6754' } });
    assert.deepEqual(stat, {
      exists: true, path, mode: '6754', isdir: false, ischr: false, isblk: false, isreg: true, isfifo: false, islnk: false, issock: false,
      uid: 0, gid: 0, size: 4, inode: 131, dev: 64768, nlink: 1, atime: 1577880000.25, mtime: 1577880000.5, ctime: 1796587338.838968,
      wusr: true, rusr: true, xusr: true, wgrp: false, rgrp: true, xgrp: true, woth: false, roth: true, xoth: false, isuid: true, isgid: true,
      blocks: 8, block_size: 4096, device_type: 0, readable: true, writeable: true, executable: false, pw_name: 'root', gr_name: 'root',
    });
    const link = { ...file, type: 'link', mode: '0777', linkTarget: '../x', linkSource: '/x', sha256: undefined };
    const linked = await statOf({ get_mime: false, get_attributes: false }, { [`file+source:${path}`]: link, [`digest:sha1:${path}`]: null });
    assert.deepEqual([linked.stat.islnk, linked.stat.lnk_source, linked.stat.lnk_target, 'checksum' in linked.stat], [true, '/x', '../x', false]);
    const fifo = await statOf({ get_mime: false, get_attributes: false }, { [`file+source:${path}`]: { ...file, type: 'other', sha256: undefined, details: { ...details, special: 'fifo' } }, [`digest:sha1:${path}`]: null });
    assert.deepEqual([fifo.stat.isfifo, fifo.stat.ischr, fifo.stat.isblk, fifo.stat.issock, fifo.stat.isreg], [true, false, false, false, false]);
  });

  it('get_mime: false and get_attributes: false ask for nothing and leave their keys out; a missing path has none either', async () => {
    const { stat, asked } = await statOf({ get_mime: false, get_attributes: false, get_checksum: false }, { [`file+source:${path}`]: file });
    assert.deepEqual(asked, [`file+source:${path}`]);
    for (const key of ['mimetype', 'charset', 'attributes', 'attr_flags', 'version', 'checksum']) assert.equal(key in stat, false, key);
    const missing = await statOf({}, { [`file+source:${path}`]: { path, type: 'absent' }, [`digest:sha1:${path}`]: null, [`file-mime:${path}`]: mime, [`file-flags:${path}`]: flags });
    assert.deepEqual(missing.stat, { exists: false });
  });

  it('reads file\'s and lsattr\'s lines as Ansible does', () => {
    assert.deepEqual(parseMimeLine('text/plain; charset=us-ascii'), { mimetype: 'text/plain', charset: 'us-ascii' });
    assert.deepEqual(parseMimeLine('inode/directory; charset=binary'), { mimetype: 'inode/directory', charset: 'binary' });
    // a dangling link: no charset part, which Ansible's split cannot unpack
    assert.deepEqual(parseMimeLine('inode/symlink'), { mimetype: 'unknown', charset: 'unknown' });
    assert.deepEqual(parseMimeLine(undefined), { mimetype: 'unknown', charset: 'unknown' });
    assert.deepEqual(parseLsattr('2860713046 --------------e------- /tmp/x.txt'), { version: '2860713046', attr_flags: 'e', attributes: ['extents'] });
    assert.deepEqual(parseLsattr('0 ----i------I--e------- /my dir'), { version: '0', attr_flags: 'iIe', attributes: ['immutable', 'indexed', 'extents'] });
    assert.deepEqual(parseLsattr(''), { version: null, attr_flags: '', attributes: [] });
  });

  it('one file and one lsattr loop for all the batch\'s paths, quoted', () => {
    const paths = ['/a', "/b c's"];
    assert.equal(fileMimeFact('/a').family.script(paths), `file -b --mime-type --mime-encoding -- /a '/b c'\\''s' 2>/dev/null; :`);
    assert.deepEqual(fileMimeFact('/a').family.parse('text/plain; charset=us-ascii\ninode/symlink\n', 0, paths), [{ mimetype: 'text/plain', charset: 'us-ascii' }, { mimetype: 'unknown', charset: 'unknown' }]);
    // no `file` on the host: nothing printed, every path unknown
    assert.deepEqual(fileMimeFact('/a').family.parse('', 127, paths), [{ mimetype: 'unknown', charset: 'unknown' }, { mimetype: 'unknown', charset: 'unknown' }]);
    assert.match(fileFlagsFact('/a').family.script(paths), /^for p in \/a '\/b c'\\''s'; do printf '%s\\0' "\$\(lsattr -vd -- "\$p" 2>\/dev\/null\)"; done$/);
    assert.deepEqual(fileFlagsFact('/a').family.parse('1 ---e /a\0\0', 0, paths), [{ version: '1', attr_flags: 'e', attributes: ['extents'] }, { version: null, attr_flags: '', attributes: [] }]);
  });
});

describe('debug verbosity', () => {
  const debug = async (params: Record<string, unknown>, verbosity?: number) => (await planWith('debug', params, {}, ctxWith(verbosity === undefined ? {} : { verbosity }))).plan;

  it('shows at or above the run\'s -v count, is skipped below it with Ansible\'s reason', async () => {
    assert.deepEqual(await debug({ msg: 'hi' }), { changes: [], reason: 'hi', result: { msg: 'hi' } });
    assert.deepEqual(await debug({ msg: 'hi', verbosity: 2 }, 1), { changes: [], skipped: true, reason: 'Verbosity threshold not met: verbosity 2, the run\'s -v count is 1' });
    assert.deepEqual((await debug({ msg: 'hi', verbosity: 2 }, 2)).result, { msg: 'hi' });
    assert.deepEqual((await debug({ var: 'x', verbosity: 1 }, 3)).result, { x: 'value of x' });
    assert.equal((await debug({ msg: 'hi', verbosity: 1 })).skipped, true, 'no -v: verbosity 0');
    assert.equal((await debug({ msg: 'hi', verbosity: -1 })).skipped, undefined, 'Ansible takes any integer');
  });
});

describe('systemd daemon_reexec and scope', () => {
  const unit = (enabled: string, active: string) => ({ unit: 'app.service', enabled, active, needsReload: false });

  it('daemon_reexec: systemctl daemon-reexec every run, after daemon-reload and before the rest, not counted', async () => {
    const { plan } = await planWith('systemd', { name: 'app', daemon_reload: true, daemon_reexec: true, masked: false, state: 'started' }, { 'systemd:app.service': { ...unit('masked', 'inactive'), needsReload: true } });
    assert.deepEqual(argv(plan), ['systemctl daemon-reload', 'systemctl daemon-reexec', 'systemctl unmask app.service', 'systemctl start app.service']);
    assert.deepEqual(plan.changes.map((c) => c.uncounted), [undefined, true, undefined, undefined]);
    const alone = (await planWith('systemd', { daemon_reexec: true }, {})).plan;
    assert.deepEqual([argv(alone), alone.changes[0]!.uncounted], [['systemctl daemon-reexec'], true]);
    const upToDate = (await planWith('systemd', { name: 'app', daemon_reexec: true, no_block: true, state: 'started' }, { 'systemd:app.service': unit('enabled', 'active') })).plan;
    assert.deepEqual(argv(upToDate), ['systemctl --no-block daemon-reexec']);
    assert.equal(upToDate.reason, 'app active, enabled');
  });

  it('scope user: --user before --no-block/--force, with the XDG_RUNTIME_DIR Ansible gives it; the user\'s facts apart from root\'s', async () => {
    const values = { 'systemd-user-login:app.service': unit('disabled', 'inactive'), 'systemd-user-runtime-dir:login': '/run/user/1000' };
    const { plan, asked } = await planWith('systemd', { name: 'app', scope: 'user', enabled: true, state: 'started', force: true }, values);
    assert.deepEqual(asked.sort(), Object.keys(values).sort());
    assert.deepEqual(argv(plan), ['env XDG_RUNTIME_DIR=/run/user/1000 systemctl --user --force enable app.service', 'env XDG_RUNTIME_DIR=/run/user/1000 systemctl --user --force start app.service']);
    const asRoot = await planWith('systemd', { name: 'app', scope: 'user', state: 'stopped' }, { 'systemd-user-become:app.service': unit('enabled', 'active'), 'systemd-user-runtime-dir:become': '/run/user/0' }, ctxWith({ become: true }));
    assert.deepEqual(argv(asRoot.plan), ['env XDG_RUNTIME_DIR=/run/user/0 systemctl --user stop app.service']);
    const reload = await planWith('systemd', { scope: 'user', daemon_reload: true }, { 'systemd-need-reload-user-login:*': true, 'systemd-user-runtime-dir:login': '/run/user/1000' });
    assert.deepEqual(argv(reload.plan), ['env XDG_RUNTIME_DIR=/run/user/1000 systemctl --user daemon-reload']);
    assert.throws(() => getModule('systemd')!.facts(withDefaults('systemd', { name: 'app', scope: 'user', enabled: true }), ctxWith({ facts: facts('upstart') })), /scope user needs systemd; h1 runs upstart/);
  });

  it('scope global: --global on the unit files, also where systemd does not run (an image, a chroot)', async () => {
    const values = { 'systemd-global:app.service': unit('enabled', 'inactive') };
    const { plan, asked } = await planWith('systemd', { name: 'app', scope: 'global', enabled: false }, values, ctxWith({ facts: facts('other') }));
    assert.deepEqual(asked, Object.keys(values));
    assert.deepEqual(argv(plan), ['systemctl --global disable app.service']);
    assert.deepEqual(argv((await planWith('systemd', { name: 'app', scope: 'global', masked: true, force: true }, values, ctxWith({ facts: facts('other') }))).plan), ['systemctl --global --force mask app.service']);
  });

  it('enabled after a mask change as Ansible finds it: nothing to disable once masked; a disable after an unmask, the mask having hidden the state', async () => {
    const masking = (await planWith('systemd', { name: 'app', masked: true, enabled: false }, { 'systemd:app.service': unit('enabled', 'inactive') })).plan;
    assert.deepEqual(argv(masking), ['systemctl mask app.service']);
    const unmasking = (await planWith('systemd', { name: 'app', masked: false, enabled: false, state: 'stopped' }, { 'systemd:app.service': unit('masked', 'active') })).plan;
    assert.deepEqual(argv(unmasking), ['systemctl unmask app.service', 'systemctl disable app.service', 'systemctl stop app.service']);
    const kept = (await planWith('systemd', { name: 'app', masked: false, enabled: false }, { 'systemd:app.service': unit('disabled', 'inactive') })).plan;
    assert.deepEqual(argv(kept), []);
  });

  it('the unit facts ask the scope\'s manager: systemctl --user with the runtime dir, systemctl --global', () => {
    assert.match(systemdUnitFact('app', 'user').family.script(['app.service']), /o=\$\(XDG_RUNTIME_DIR="\$\{XDG_RUNTIME_DIR:-\/run\/user\/\$\(id -u\)\}" systemctl --user show -p Id/);
    assert.match(systemdUnitFact('app', 'global').family.script(['app.service']), /o=\$\(systemctl --global show -p Id/);
    assert.doesNotMatch(systemdUnitFact('app').family.script(['app.service']), /--user|--global|XDG/);
    assert.equal(userRuntimeDirFact('login').script, `printf '%s\\n' "\${XDG_RUNTIME_DIR:-/run/user/$(id -u)}"`);
  });

  it('refuses offline what Ansible refuses, and what systemctl --global cannot do', () => {
    const validate = (p: Record<string, unknown>) => getModule('systemd')!.validate!(withDefaults('systemd', p) as never, { localDir: '/tmp' });
    assert.deepEqual(validate({ name: 'app' }), [['name', 'give one of state, enabled, masked, daemon_reload or daemon_reexec (or a unit to write): with a name alone there is nothing to do, and Ansible refuses it']]);
    assert.deepEqual(validate({ state: 'started' }), [['name', 'give name, or daemon_reload: true or daemon_reexec: true']]);
    assert.deepEqual(validate({ daemon_reexec: true }), []);
    assert.deepEqual(validate({ name: 'app', scope: 'global', state: 'started', daemon_reload: true, daemon_reexec: true }).map(([key]) => key), ['state', 'daemon_reload', 'daemon_reexec']);
    assert.match(validate({ name: 'app', scope: 'global', state: 'started' })[0]![1], /state needs a running manager; scope global only enables, disables, masks and unmasks unit files/);
    assert.deepEqual(validate({ name: 'app', scope: 'user', enabled: true, unit: '[Unit]\n' }), [['unit', 'unit writes a system unit (/etc/systemd/system) or Upstart job; with scope user write the unit file with copy or template']]);
    assert.deepEqual(validate({ name: 'app', scope: 'global', enabled: true }), []);
    assert.deepEqual(validate({ name: 'app', masked: true, enabled: true }), [['enabled', 'a masked unit cannot be enabled (systemctl enable refuses it, so Ansible fails); give masked: false or leave enabled out']]);
  });
});

describe('bad parameters, offline, at file:line:col', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bootstrap-gaps-bad-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const project = (playbook: string) => {
    writeFileSync(join(dir, 'inventory.yaml'), 'all:\n  children:\n    nodes:\n      hosts:\n        h1: { address: 10.0.0.1 }\n');
    writeFileSync(join(dir, 'site.yml'), playbook);
  };
  const messages = (error: unknown) => (error instanceof ConfigErrors ? error.errors : [error as Error]).map((e) => e.message.split(`${dir}/`).join(''));

  it('types, choices and a parameter under two names are schema errors', () => {
    project(`- hosts: nodes
  tasks:
    - systemd: { name: app, scope: users, enabled: true }
    - debug: { msg: hi, verbosity: loud }
    - stat: { path: /etc, follow: maybe, mime: false, get_mime: true }
`);
    let caught: unknown;
    try {
      loadPlaybooks([join(dir, 'site.yml')], getModule);
    } catch (error) {
      caught = error;
    }
    assert.deepEqual(messages(caught).sort(), [
      'site.yml:3:36 plays.0.tasks.0.systemd.scope: expected one of system, user, global, got "users"; did you mean `user`?',
      'site.yml:4:36 plays.0.tasks.1.debug.verbosity: expected an integer, got "loud"',
      'site.yml:5:35 plays.0.tasks.2.stat.follow: expected true or false, got "maybe"',
      'site.yml:5:55 plays.0.tasks.2.stat.get_mime: `get_mime` is given with `mime`: both name the parameter `get_mime` (aliases: mime, mime_type, mime-type); give it once',
    ]);
  });

  it('a combination systemd refuses points at the parameter', () => {
    project(`- hosts: nodes
  tasks:
    - systemd: { name: app, scope: global, state: started }
`);
    const plays = loadPlaybooks([join(dir, 'site.yml')], getModule);
    const errors = validateRun({ inventory: loadInventory(join(dir, 'inventory.yaml')), plays, modules: getModule }).map((e) => e.message.split(`${dir}/`).join(''));
    assert.deepEqual(errors, ['site.yml:3:51 plays.0.tasks.0.systemd.state: state needs a running manager; scope global only enables, disables, masks and unmasks unit files (give scope system or user) (for host h1)']);
  });
});

describe('the runner and a change that is not counted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bootstrap-uncounted-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  /** a test module: `touch <root>/upkept` every run, uncounted; with `also`, `touch <root>/<also>` too, counted */
  const upkeep: Module<{ root: string; also?: string }> = {
    name: 'upkeep',
    params: { root: { type: 'string', required: true }, also: { type: 'string' } },
    facts: () => [],
    plan: (p) => ({
      changes: [
        { title: 'touch upkept', commands: [{ argv: ['touch', join(p.root, 'upkept')] }], uncounted: true },
        ...(p.also ? [{ title: `touch ${p.also}`, commands: [{ argv: ['touch', join(p.root, p.also)] }] }] : []),
      ],
      reason: 'nothing else to do',
    }),
  };
  const modules = (name: string) => (name === 'upkeep' ? (upkeep as Module) : getModule(name));

  async function run(check: boolean) {
    const root = mkdtempSync(join(dir, 'case-'));
    mkdirSync(join(root, 'state'));
    writeFileSync(join(root, 'inventory.yaml'), `all:\n  children:\n    nodes:\n      hosts:\n        h1: { address: 127.0.0.1, vars: { root: ${root}, state_dir: ${join(root, 'state')}, lock_file: ${join(root, 'h1.lock')} } }\n`);
    writeFileSync(join(root, 'site.yml'), `- hosts: nodes
  become: false
  tasks:
    - name: upkeep only
      upkeep: { root: <%= root %> }
      notify: [handler]
    - name: upkeep and a change
      upkeep: { root: <%= root %>, also: changed }
  handlers:
    - name: handler
      shell: { cmd: "touch <%= root %>/handled" }
`);
    const seen: RunEvent[] = [];
    const events = new RunEvents();
    events.listen((e) => seen.push(e));
    const plays = loadPlaybooks([join(root, 'site.yml')], modules, [...MODULE_NAMES, 'upkeep']);
    await runPlays(loadInventory(join(root, 'inventory.yaml')), plays, { check, forks: 1, connect: async (host) => new LocalTransport(host.name), scopeExtra: {}, modules }, events);
    const results = seen.flatMap((e) => (e.type === 'task:result' ? [e] : []));
    return { root, result: (task: string) => results.find((r) => r.task === task)! };
  }

  it('runs it, leaves the task ok (its reason names it) and notifies nothing; a counted change beside it lists only itself', async () => {
    const { root, result } = await run(false);
    assert.ok(existsSync(join(root, 'upkept')) && existsSync(join(root, 'changed')));
    assert.deepEqual([result('upkeep only').status, result('upkeep only').reason], ['ok', 'ran touch upkept; nothing else to do']);
    assert.equal(existsSync(join(root, 'handled')), false, 'an ok task notifies no handler');
    assert.deepEqual([result('upkeep and a change').status, result('upkeep and a change').changes.map((c) => c.title)], ['changed', ['touch changed']]);
  });

  it('check mode runs nothing: ok, "would run"', async () => {
    const { root, result } = await run(true);
    assert.equal(existsSync(join(root, 'upkept')), false);
    assert.deepEqual([result('upkeep only').status, result('upkeep only').reason], ['ok', 'would run touch upkept; nothing else to do']);
    assert.equal(result('upkeep and a change').status, 'changed');
  });
});
