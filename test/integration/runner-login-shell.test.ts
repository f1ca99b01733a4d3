/**
 * A login user whose shell is tcsh, not POSIX (sshd runs every command through it): facts,
 * file writes, shell scripts and argv with quotes, `$` and `!` reach sh intact, through sudo,
 * and the re-run changes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { runCli } from '../helpers/cli.js';

const playbook = new URL('../../../test/fixtures/runner/playbooks/login-shell.yml', import.meta.url).pathname;
const USER = 'bootstrap-tcsh';
const SUDOERS = `/etc/sudoers.d/${USER}-test`;
const TCSH = '/usr/bin/tcsh';

describe('a login shell that is not POSIX (tcsh)', () => {
  let sshd: Sshd;
  let dir: string;
  let inventory: string;

  before(async () => {
    try {
      execFileSync('id', [USER], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['--system', '--no-create-home', '--shell', TCSH, '--password', '*', USER]);
    }
    execFileSync('usermod', ['--shell', TCSH, USER]);
    writeFileSync(SUDOERS, `${USER} ALL=(root) NOPASSWD: ALL\n`, { mode: 0o440 });
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-login-shell-'));
    chmodSync(dir, 0o755);
    sshd = await startSshd();
    // sshd reads authorized_keys as the logging-in user
    chmodSync(sshd.dir, 0o755);
    chmodSync(join(sshd.dir, 'authorized_keys'), 0o644);
    inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      `all:\n  vars:\n    ssh: { user: ${USER}, key: ${sshd.clientKeyPath}, known_hosts: ${sshd.knownHostsFile} }\n` +
        `  children:\n    nodes:\n      hosts:\n        tcsh: { address: 127.0.0.1, port: ${sshd.port}, vars: { root: ${join(dir, 'out')}, state_dir: ${join(dir, 'state')}, lock_file: ${join(dir, 'lock')} } }\n`,
    );
  });
  after(async () => {
    await sshd?.stop();
    rmSync(SUDOERS, { force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs facts, files, scripts and argv through it intact, and the re-run is a no-op', async () => {
    assert.equal(execFileSync('getent', ['passwd', USER], { encoding: 'utf8' }).trim().split(':').at(-1), TCSH);
    const facts = await runCli(['facts', inventory, '--output', 'json']);
    assert.equal(facts.code, 0, facts.stdout + facts.stderr);
    assert.equal(JSON.parse(facts.stdout).tcsh.isRoot, false);
    const first = await runCli([inventory, '--playbook', playbook]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const out = join(dir, 'out');
    assert.equal(readFileSync(join(out, 'special.txt'), 'utf8'), 'it\'s $HOME! `date` "quoted" 100%\nsecond line\n');
    assert.equal(readFileSync(join(out, 'script.out'), 'utf8'), "single $quoted|double single $quoted!|0\n");
    assert.equal(readFileSync(join(out, 'argv.out'), 'utf8'), "an arg with 'quotes', $dollars and !bang\n");
    const again = await runCli([inventory, '--playbook', playbook]);
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /No changes: 1 host/);
  });
});
