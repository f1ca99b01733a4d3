/**
 * user's generate_ssh_key, password_lock and expires on a real host (this machine through a
 * loopback sshd, as root): the key is made there by ssh-keygen and owned by the user, the lock
 * and expiry land in /etc/shadow, and a second run changes nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { events, runCli } from '../helpers/cli.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

const name = `bskey${process.pid}`;
const Y2030 = 1893456000;

describe('user generate_ssh_key, password_lock, expires against real sshd', () => {
  let h: Sshd;
  let dir: string;
  let inventory: string;
  const playbook = (tasks: string) => {
    const file = join(dir, 'play.yml');
    writeFileSync(file, `- hosts: app\n  tasks:\n${tasks}`);
    return file;
  };
  const shadow = () => execFileSync('getent', ['shadow', name]).toString().trim().split(':');

  before(async () => {
    h = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-user-key-'));
    inventory = join(dir, 'inventory.yaml');
    writeFileSync(inventory, `all:\n  vars:\n    ssh: { user: root, key: ${h.clientKeyPath}, known_hosts: ${h.knownHostsFile} }\n  children:\n    app:\n      hosts:\n        h1: { address: 127.0.0.1, port: ${h.port}, vars: { lock_file: ${join(dir, 'h1.lock')} } }\n`);
  });
  after(async () => {
    try {
      execFileSync('userdel', ['-r', name], { stdio: 'ignore' });
    } catch {
      // the user was never made
    }
    await h?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('creates the user with an ed25519 key made on the host, locked, expiring 2030-01-01; a second run is ok', async () => {
    const tasks = `    - user: { name: ${name}, generate_ssh_key: true, ssh_key_type: ed25519, ssh_key_comment: test-key, password_lock: true, expires: ${Y2030} }\n`;
    const check = await runCli([inventory, '--playbook', playbook(tasks), '--check']);
    assert.equal(check.code, 0, check.stderr + check.stdout);
    assert.match(check.stdout, new RegExp(`generate an ssh key \\(ed25519\\) for ${name} in ~${name}/\\.ssh/id_ed25519, on the host`));
    assert.throws(() => execFileSync('getent', ['passwd', name]), 'check mode made nothing');

    const first = await runCli([inventory, '--playbook', playbook(tasks)]);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const home = execFileSync('getent', ['passwd', name]).toString().split(':')[5]!;
    const key = join(home, '.ssh', 'id_ed25519');
    assert.match(readFileSync(`${key}.pub`, 'utf8'), /^ssh-ed25519 \S+ test-key\n$/);
    const uid = Number(execFileSync('id', ['-u', name]).toString());
    assert.equal(statSync(key).uid, uid);
    assert.equal(statSync(join(home, '.ssh')).mode & 0o777, 0o700);
    assert.equal(shadow()[7], String(Y2030 / 86400), 'the expiry day');

    // an unlocked password gets locked by usermod -L on a second task
    execFileSync('usermod', ['-p', '$6$x$y', name]);
    const again = await runCli([inventory, '--playbook', playbook(tasks), '--output', 'json']);
    assert.equal(again.code, 0, again.stderr + again.stdout);
    assert.ok(shadow()[1]!.startsWith('!'), 'locked');
    const keyBefore = readFileSync(key);
    const third = await runCli([inventory, '--playbook', playbook(tasks)]);
    assert.equal(third.code, 0, third.stderr + third.stdout);
    assert.match(third.stdout, /ssh key .*id_ed25519 exists/);
    assert.match(third.stdout, /ok=1\b/);
    assert.deepEqual(readFileSync(key), keyBefore, 'the key is kept');
    assert.ok(existsSync(key));
  });
});
