/** user's password_lock, expires and generate_ssh_key, planned from given facts, as Ansible's user compares them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shadowStatusFact, sshKeyFact } from '../../src/facts/accounts.js';
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
    const status = (locked: boolean) => ({ 'user:u': u, 'shadow-status:u': { locked, expireDays: -1 } });
    assert.deepEqual(argvOf(await plan({ name: 'u', password_lock: true }, status(false))), [['usermod', '-L', 'u']]);
    assert.deepEqual((await plan({ name: 'u', password_lock: true }, status(true))).changes, []);
    assert.deepEqual(argvOf(await plan({ name: 'u', password_lock: false }, status(true))), [['usermod', '-U', 'u']]);
    assert.deepEqual((await plan({ name: 'u', password_lock: false }, status(false))).changes, []);
  });
  it('a new hash with password_lock is set locked (`!` before it, on stdin), without usermod -L', async () => {
    const hash = '$6$salt$' + 'x'.repeat(86);
    const p = await plan({ name: 'u', password: hash, password_lock: true }, { 'user:u': u, 'shadow-hash:u': 'f'.repeat(64), 'shadow-status:u': { locked: false, expireDays: -1 } });
    assert.deepEqual(p.changes.map((c) => c.commands), [[{ argv: ['chpasswd', '-e'], stdin: `u:!${hash}\n`, sensitive: true }]]);
    const created = await plan({ name: 'u', password: hash, password_lock: true }, { 'user:u': { exists: false }, 'shadow-hash:u': null, 'shadow-status:u': null });
    assert.equal(created.changes[0]!.commands[1]!.stdin, `u:!${hash}\n`);
  });
  it('expires: compared by UTC date, set with -e YYYY-MM-DD; negative means never (-e \'\')', async () => {
    const status = (expireDays: number) => ({ 'user:u': u, 'shadow-status:u': { locked: true, expireDays } });
    assert.deepEqual(argvOf(await plan({ name: 'u', expires: Y2030 }, status(-1))), [['usermod', '-e', '2030-01-01', 'u']]);
    assert.deepEqual((await plan({ name: 'u', expires: Y2030 + 3600 }, status(DAY2030))).changes, [], 'the same day');
    assert.deepEqual(argvOf(await plan({ name: 'u', expires: Y2030 + 86400 }, status(DAY2030))), [['usermod', '-e', '2030-01-02', 'u']]);
    assert.deepEqual(argvOf(await plan({ name: 'u', expires: -1 }, status(DAY2030))), [['usermod', '-e', '', 'u']]);
    assert.deepEqual((await plan({ name: 'u', expires: -1 }, status(-1))).changes, []);
    assert.deepEqual(argvOf(await plan({ name: 'u', expires: Y2030 }, { 'user:u': { exists: false }, 'shadow-status:u': null })), [['useradd', '-e', '2030-01-01', '-m', 'u']]);
    await assert.rejects(async () => plan({ name: 'u', expires: Y2030 }, { 'user:u': u, 'shadow-status:u': null }), /cannot read the \/etc\/shadow entry of u to compare password_lock or expires: the task needs root/);
  });
  it('the shadow fact reads the lock and the expiry field, not the hash', () => {
    const f = shadowStatusFact('u');
    assert.deepEqual(f.parse('locked=1 expire=21915\n', 0), { locked: true, expireDays: 21915 });
    assert.deepEqual(f.parse('locked=0 expire=\n', 0), { locked: false, expireDays: -1 });
    assert.equal(f.parse('unreadable\n', 0), null);
  });
});

describe('user generate_ssh_key', () => {
  it('an existing key (or .pub) is kept; a missing one is made on the host with ssh-keygen, Ansible\'s comment by default', async () => {
    const key = (exists: boolean) => ({ 'user:u': u, 'ssh-key:u\0.ssh/id_rsa': { exists, path: '/home/u/.ssh/id_rsa' } });
    const kept = await plan({ name: 'u', generate_ssh_key: true }, key(true));
    assert.deepEqual([kept.changes, kept.reason, kept.result], [[], 'user u as wanted (uid 1001); ssh key /home/u/.ssh/id_rsa exists', { ssh_key_file: '/home/u/.ssh/id_rsa' }]);
    const made = await plan({ name: 'u', generate_ssh_key: true }, key(false));
    assert.equal(made.changes[0]!.title, 'generate an ssh key (rsa) for u in /home/u/.ssh/id_rsa, on the host');
    assert.deepEqual(argvOf(made)[0]!.slice(3), ['keygen', 'u', '.ssh/id_rsa', 'rsa', '', 'ansible-generated on web1']);
  });
  it('type, bits, file and comment reach ssh-keygen; a new user gets the key after useradd', async () => {
    const p = await plan({ name: 'n', generate_ssh_key: true, ssh_key_type: 'ed25519', ssh_key_file: '/etc/n/key', ssh_key_comment: 'deploy', ssh_key_bits: 256 }, { 'user:n': { exists: false }, 'ssh-key:n\0/etc/n/key': null });
    assert.deepEqual(argvOf(p).map((a) => a[0]), ['useradd', 'sh']);
    assert.deepEqual(argvOf(p)[1]!.slice(3), ['keygen', 'n', '/etc/n/key', 'ed25519', '256', 'deploy']);
    const relative = await plan({ name: 'n', generate_ssh_key: true, ssh_key_type: 'ecdsa' }, { 'user:n': { exists: false }, 'ssh-key:n\0.ssh/id_ecdsa': null });
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
