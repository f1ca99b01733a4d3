/** user's password_lock, expires and generate_ssh_key, planned from given facts, as Ansible's user compares them. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { shadowStatusFact, sshKeyFact, userFact } from '../../src/facts/accounts.js';
import type { Fact, FactReader } from '../../src/facts/types.js';
import { getModule } from '../../src/modules/index.js';
import type { ModuleContext, Plan } from '../../src/modules/types.js';

const ctx: ModuleContext = {
  host: 'h1', facts: { hostname: 'web1', os: { id: 'debian', version: '12', codename: 'bookworm', family: 'debian' }, arch: 'amd64', init: 'systemd', user: 'root', isRoot: true, addresses: [] },
  localDir: '/tmp', runId: 'r1', lockFile: '/run/bootstrap.lock', renderTemplate: () => '', evaluate: () => undefined,
};
async function plan(params: Record<string, unknown>, values: Record<string, unknown>): Promise<Plan> {
  const m = getModule('user')!;
  assert.deepEqual(m.facts(params, ctx).map((f) => f.key).sort(), Object.keys(values).sort());
  const read: FactReader = <T>(fact: Fact<T>) => values[fact.key] as T;
  return m.plan(params, read, ctx);
}
const argvOf = (p: Plan) => p.changes.flatMap((c) => c.commands.map((cmd) => cmd.argv));
const u = { exists: true, uid: 1001, gid: 1001, group: 'u', comment: '', home: '/home/u', shell: '/bin/sh', groups: [] };
// 2030-01-01T00:00:00Z and its day number
const Y2030 = 1893456000;
const DAY2030 = Y2030 / 86400;

describe('user password_lock and expires', () => {
  it('lock and unlock only when the shadow entry says otherwise', async () => {
    const status = (locked: boolean) => ({ 'group:u': { exists: true }, 'user:u': u, 'shadow-status:u': { locked, expireDays: -1, min: 0, max: 99999, warn: 7, inactive: -1 } });
    assert.deepEqual(argvOf(await plan({ name: 'u', password_lock: true }, status(false))), [['usermod', '-L', 'u']]);
    assert.deepEqual((await plan({ name: 'u', password_lock: true }, status(true))).changes, []);
    assert.deepEqual(argvOf(await plan({ name: 'u', password_lock: false }, status(true))), [['usermod', '-U', 'u']]);
    assert.deepEqual((await plan({ name: 'u', password_lock: false }, status(false))).changes, []);
  });
  it('a new hash with password_lock is set locked (`!` before it, on stdin), without usermod -L', async () => {
    const hash = '$6$salt$' + 'x'.repeat(86);
    const p = await plan({ name: 'u', password: hash, password_lock: true }, { 'group:u': { exists: false }, 'user:u': u, 'shadow-hash:u': 'f'.repeat(64), 'shadow-status:u': { locked: false, expireDays: -1, min: 0, max: 99999, warn: 7, inactive: -1 } });
    assert.deepEqual(p.changes.map((c) => c.commands), [[{ argv: ['chpasswd', '-e'], stdin: `u:!${hash}\n`, sensitive: true }]]);
    const created = await plan({ name: 'u', password: hash, password_lock: true }, { 'group:u': { exists: false }, 'user:u': { exists: false }, 'shadow-hash:u': null, 'shadow-status:u': null });
    assert.equal(created.changes[0]!.commands[1]!.stdin, `u:!${hash}\n`);
  });
  it('expires: compared by UTC date, set with -e YYYY-MM-DD; negative means never (-e \'\')', async () => {
    const status = (expireDays: number) => ({ 'group:u': { exists: true }, 'user:u': u, 'shadow-status:u': { locked: true, expireDays, min: 0, max: 99999, warn: 7, inactive: -1 } });
    assert.deepEqual(argvOf(await plan({ name: 'u', expires: Y2030 }, status(-1))), [['usermod', '-e', '2030-01-01', 'u']]);
    assert.deepEqual((await plan({ name: 'u', expires: Y2030 + 3600 }, status(DAY2030))).changes, [], 'the same day');
    assert.deepEqual(argvOf(await plan({ name: 'u', expires: Y2030 + 86400 }, status(DAY2030))), [['usermod', '-e', '2030-01-02', 'u']]);
    assert.deepEqual(argvOf(await plan({ name: 'u', expires: -1 }, status(DAY2030))), [['usermod', '-e', '', 'u']]);
    assert.deepEqual((await plan({ name: 'u', expires: -1 }, status(-1))).changes, []);
    assert.deepEqual(argvOf(await plan({ name: 'u', expires: Y2030 }, { 'group:u': { exists: false }, 'user:u': { exists: false }, 'shadow-status:u': null })), [['useradd', '-e', '2030-01-01', '-m', 'u']]);
    await assert.rejects(async () => plan({ name: 'u', expires: Y2030 }, { 'group:u': { exists: false }, 'user:u': u, 'shadow-status:u': null }), /cannot read the \/etc\/shadow entry of u to compare password_lock, expires, password ageing or password_expire_account_disable: the task needs root/);
  });
  it('the shadow fact reads the lock and the expiry field, not the hash', () => {
    const f = shadowStatusFact('u');
    assert.deepEqual(f.parse('locked=1 min=0 max=99999 warn=7 inactive=14 expire=21915\n', 0), { locked: true, min: 0, max: 99999, warn: 7, inactive: 14, expireDays: 21915 });
    assert.deepEqual(f.parse('locked=0 min= max= warn= inactive= expire=\n', 0), { locked: false, min: -1, max: -1, warn: -1, inactive: -1, expireDays: -1 });
    assert.equal(f.parse('unreadable\n', 0), null);
  });
});

describe('user generate_ssh_key', () => {
  it('an existing key (or .pub) is kept; a missing one is made on the host with ssh-keygen, Ansible\'s comment by default', async () => {
    const key = (exists: boolean) => ({ 'group:u': { exists: true }, 'user:u': u, 'ssh-key:u\0.ssh/id_rsa': { exists, path: '/home/u/.ssh/id_rsa' } });
    const kept = await plan({ name: 'u', generate_ssh_key: true }, key(true));
    assert.deepEqual([kept.changes, kept.reason, kept.result], [[], 'user u as wanted (uid 1001); ssh key /home/u/.ssh/id_rsa exists', { ssh_key_file: '/home/u/.ssh/id_rsa' }]);
    const made = await plan({ name: 'u', generate_ssh_key: true }, key(false));
    assert.equal(made.changes[0]!.title, 'generate an ssh key (rsa) for u in /home/u/.ssh/id_rsa, on the host');
    assert.deepEqual(argvOf(made)[0]!.slice(3), ['keygen', 'u', '.ssh/id_rsa', 'rsa', '', 'ansible-generated on web1']);
  });
  it('type, bits, file and comment reach ssh-keygen; a new user gets the key after useradd', async () => {
    const p = await plan({ name: 'n', generate_ssh_key: true, ssh_key_type: 'ed25519', ssh_key_file: '/etc/n/key', ssh_key_comment: 'deploy', ssh_key_bits: 256 }, { 'group:n': { exists: false }, 'user:n': { exists: false }, 'ssh-key:n\0/etc/n/key': null });
    assert.deepEqual(argvOf(p).map((a) => a[0]), ['useradd', 'sh']);
    assert.deepEqual(argvOf(p)[1]!.slice(3), ['keygen', 'n', '/etc/n/key', 'ed25519', '256', 'deploy']);
    const relative = await plan({ name: 'n', generate_ssh_key: true, ssh_key_type: 'ecdsa' }, { 'group:n': { exists: false }, 'user:n': { exists: false }, 'ssh-key:n\0.ssh/id_ecdsa': null });
    assert.equal(relative.changes[1]!.title, 'generate an ssh key (ecdsa) for n in ~n/.ssh/id_ecdsa, on the host');
  });
  it('ssh_key_passphrase is refused (it would go on a command line), an unknown key type too', () => {
    const params = getModule('user')!.params;
    assert.match((params.ssh_key_passphrase!.check as (v: string) => string)('x'), /^not supported: .* a secret never goes on a command line/);
    assert.ok((params.ssh_key_type as unknown as { enum: string[] }).enum.includes('ed25519'));
    assert.ok(!(params.ssh_key_type as unknown as { enum: string[] }).enum.includes('rsa1'));
  });
  it('the key fact names the file under the home', () => {
    const f = sshKeyFact('u', '.ssh/id_rsa');
    assert.deepEqual(f.parse('exists=0 /home/u/.ssh/id_rsa\n', 0), { exists: false, path: '/home/u/.ssh/id_rsa' });
    assert.equal(f.parse('', 0), null);
  });
});

describe('user and group: the rest of Ansible\'s Linux parameters', () => {
  const status = { locked: true, expireDays: -1, min: 0, max: 99999, warn: 7, inactive: -1 };
  it('useradd gets -o with uid, -k, -K UMASK/UID_MIN/UID_MAX, and -N when a group of its name exists (as Ansible passes it)', async () => {
    const p = await plan({ name: 'n', uid: 0, non_unique: true, skeleton: '/etc/skel2', umask: '0077', uid_min: 2000, uid_max: 2999 }, { 'user:n': { exists: false }, 'group:n': { exists: true } });
    assert.deepEqual(argvOf(p), [['useradd', '-u', '0', '-o', '-N', '-m', '-k', '/etc/skel2', '-K', 'UMASK=0077', '-K', 'UID_MIN=2000', '-K', 'UID_MAX=2999', 'n']]);
    const noHome = await plan({ name: 'n', skeleton: '/etc/skel2', create_home: false }, { 'user:n': { exists: false }, 'group:n': { exists: false } });
    assert.deepEqual(argvOf(noHome), [['useradd', '-M', 'n']], 'no skeleton without a home');
    assert.deepEqual(argvOf(await plan({ name: 'n', group: 'users' }, { 'user:n': { exists: false } })), [['useradd', '-g', 'users', '-m', 'n']], 'no group fact with group');
    assert.deepEqual(argvOf(await plan({ name: 'u', uid: 5, non_unique: true }, { 'user:u': u, 'group:u': { exists: true } })), [['usermod', '-u', '5', '-o', 'u']]);
    assert.deepEqual(argvOf(await plan({ name: 'u', state: 'absent', force: true, remove: true }, { 'user:u': u })), [['userdel', '-f', '-r', 'u']]);
  });
  it('password_expire_min/max/warn: chage with what differs from the shadow entry; all asked for a new user', async () => {
    const facts = { 'user:u': u, 'group:u': { exists: true }, 'shadow-status:u': status };
    const p = await plan({ name: 'u', password_expire_max: 90, password_expire_min: 0, password_expire_warn: 14 }, facts);
    assert.deepEqual(p.changes.map((c) => [c.title, c.commands[0]!.argv]), [['set password ageing of u (max 99999 -> 90; warn 7 -> 14)', ['chage', '-M', '90', '-W', '14', 'u']]]);
    assert.deepEqual((await plan({ name: 'u', password_expire_max: 99999 }, facts)).changes, []);
    const created = await plan({ name: 'n', password_expire_max: 90 }, { 'user:n': { exists: false }, 'group:n': { exists: false }, 'shadow-status:n': null });
    assert.deepEqual(argvOf(created), [['useradd', '-m', 'n'], ['chage', '-M', '90', 'n']]);
  });
  it('group: -o with gid, -K GID_MIN/GID_MAX, groupdel -f', async () => {
    const g = getModule('group')!;
    const planGroup = (params: Record<string, unknown>, state: unknown) => g.plan({ name: 'g', ...params }, (<T>() => state as T) as FactReader, ctx) as Plan;
    assert.deepEqual(argvOf(planGroup({ gid: 0, non_unique: true, gid_min: 500, gid_max: 599 }, { exists: false })), [['groupadd', '-g', '0', '-o', '-K', 'GID_MIN=500', '-K', 'GID_MAX=599', 'g']]);
    assert.deepEqual(argvOf(planGroup({ gid: 7, non_unique: true }, { exists: true, gid: 8 })), [['groupmod', '-g', '7', '-o', 'g']]);
    assert.deepEqual(argvOf(planGroup({ state: 'absent', force: true }, { exists: true, gid: 8 })), [['groupdel', '-f', 'g']]);
  });
});

describe('user: a missing home made, as Ansible makes it for a user that exists', () => {
  const missing = { ...u, homeExists: false };
  const makeHome = (home: string, skeleton = '/etc/skel') => ['sh', '-c', '<make-home>', 'make-home', 'u', home, skeleton];
  const shape = (p: Plan) => argvOf(p).map((argv) => (argv[0] === 'sh' ? ['sh', '-c', '<make-home>', ...argv.slice(3)] : argv));
  it('with create_home (its default) the entry\'s missing home is made, from skeleton when given; create_home: false leaves it', async () => {
    assert.deepEqual(shape(await plan({ name: 'u' }, { 'group:u': { exists: true }, 'user:u': missing })), [makeHome('/home/u')]);
    assert.deepEqual(shape(await plan({ name: 'u', skeleton: '/srv/skel' }, { 'group:u': { exists: true }, 'user:u': missing })), [makeHome('/home/u', '/srv/skel')]);
    assert.deepEqual((await plan({ name: 'u', create_home: false }, { 'group:u': { exists: true }, 'user:u': missing })).changes, []);
    assert.deepEqual((await plan({ name: 'u' }, { 'group:u': { exists: true }, 'user:u': { ...u, homeExists: true } })).changes, []);
  });
  it('a new home: made where it is missing, unless usermod -m moves the old one there', async () => {
    const facts = (homeExists: boolean, otherHomeExists: boolean) => ({ 'group:u': { exists: true }, 'user:u:/srv/u': { ...u, homeExists, otherHomeExists } });
    assert.deepEqual(shape(await plan({ name: 'u', home: '/srv/u' }, facts(true, false))), [['usermod', '-d', '/srv/u', 'u'], makeHome('/srv/u')]);
    assert.deepEqual(shape(await plan({ name: 'u', home: '/srv/u' }, facts(true, true))), [['usermod', '-d', '/srv/u', 'u']]);
    assert.deepEqual(shape(await plan({ name: 'u', home: '/srv/u', move_home: true }, facts(true, false))), [['usermod', '-d', '/srv/u', '-m', 'u']]);
    assert.deepEqual(shape(await plan({ name: 'u', home: '/srv/u', move_home: true }, facts(false, false))), [['usermod', '-d', '/srv/u', '-m', 'u'], makeHome('/srv/u')]);
  });
  it('the user fact reads whether the entry\'s home, and another asked about, exist', () => {
    assert.deepEqual(userFact('u', '/srv/u').parse('u:x:1001:1001::/home/u:/bin/sh\nu\nu\nyes\nno\n', 0), { ...u, homeExists: true, otherHomeExists: false });
    assert.deepEqual(userFact('u').parse('u:x:1001:1001::/home/u:/bin/sh\nu\nu\nno\n', 0), { ...u, homeExists: false });
  });
  it('the script makes the home on this machine: the skeleton copied, its mode from login.defs, every entry but links the user\'s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootstrap-make-home-'));
    try {
      mkdirSync(join(dir, 'skel/.config'), { recursive: true });
      writeFileSync(join(dir, 'skel/.profile'), 'x\n');
      symlinkSync('.profile', join(dir, 'skel/link'));
      const [, flag, script] = argvOf(await plan({ name: 'u' }, { 'group:u': { exists: true }, 'user:u': missing }))[0]!;
      const home = join(dir, 'homes/u');
      const run = spawnSync('sh', [flag!, script!, 'make-home', 'nobody', home, join(dir, 'skel')], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(readdirSync(home).sort(), ['.config', '.profile', 'link']);
      const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout);
      const owners = [home, join(home, '.config'), join(home, '.profile')].map((path) => statSync(path).uid);
      assert.deepEqual([...owners, lstatSync(join(home, 'link')).uid], [nobody, nobody, nobody, process.getuid!()]);
      // Ansible's rule: the first HOME_MODE, else 0777 without the last UMASK, else 0755
      const defs = readFileSync('/etc/login.defs', 'utf8');
      const homeMode = /^HOME_MODE\s+(\d+)$/m.exec(defs)?.[1];
      const umask = [...defs.matchAll(/^UMASK\s+(\d+)$/gm)].at(-1)?.[1];
      assert.equal(statSync(home).mode & 0o777, homeMode ? parseInt(homeMode, 8) : umask ? 0o777 & ~parseInt(umask, 8) : 0o755);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
