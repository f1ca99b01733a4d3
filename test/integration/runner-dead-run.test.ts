/**
 * A run whose CLI is killed (SIGKILL: nothing of it gets to clean up) leaves no process of its own
 * on the host, and the next run starts only once they are gone. Real sshd on loopback, as root
 * and as a user whose commands reach root through sudo.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { until } from '../helpers/until.js';
import { runCli, startCli } from '../helpers/cli.js';
import { processesOfRun, readRunLog } from '../helpers/run-log.js';

const playbook = new URL('../../../test/fixtures/runner/playbooks/exclusive.yml', import.meta.url).pathname;
const SUDO_USER = 'bootstrap-sudoer';
const SUDOERS = `/etc/sudoers.d/${SUDO_USER}-test`;

describe('a killed run takes its commands on the host with it', () => {
  let sshd: Sshd;
  let dir: string;
  const leftovers: number[] = [];

  before(async () => {
    try {
      execFileSync('id', [SUDO_USER], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/bin/sh', '--password', '*', SUDO_USER]);
    }
    writeFileSync(SUDOERS, `${SUDO_USER} ALL=(root) NOPASSWD: ALL\n`, { mode: 0o440 });
    sshd = await startSshd();
    // sshd reads authorized_keys as the logging-in user
    chmodSync(sshd.dir, 0o755);
    chmodSync(join(sshd.dir, 'authorized_keys'), 0o644);
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-dead-run-'));
  });
  after(async () => {
    for (const pid of leftovers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await sshd?.stop();
    rmSync(SUDOERS, { force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // with --persist the connection outlives the killed CLI: the keeper lets the lock's holder know the run is gone
  const cases = [
    { name: 'root', user: 'root', persist: [] },
    { name: SUDO_USER, user: SUDO_USER, persist: [] },
    { name: 'root with --persist', user: 'root', persist: ['--persist', '30'] },
  ];
  for (const { name, user, persist } of cases) {
    it(`as ${name}: SIGKILL of the CLI mid-task, then the next run: begin A, killed A, begin B, end B, and no process of A left`, async () => {
      const id = name.replace(/\W+/g, '-');
      const log = join(dir, `${id}.log`);
      const file = join(dir, `${id}.yaml`);
      const env = { BOOTSTRAP_KEEPER_DIR: join(dir, 'keeper') };
      // a lock_file of this test's own (the temp dir is root's: a sudo login takes it through sudo)
      writeFileSync(
        file,
        `all:\n  vars:\n    ssh: { user: ${user}, key: ${sshd.clientKeyPath}, known_hosts: ${sshd.knownHostsFile} }\n  children:\n    app:\n      hosts:\n` +
          `        h1: { address: 127.0.0.1, port: ${sshd.port}, vars: { lock_file: ${join(dir, `${id}.lock`)}, log: ${log}, state_dir: ${join(dir, id, 'state')} } }\n`,
      );
      const a = startCli([file, '--playbook', playbook, '-e', 'hold=120', ...persist], { env });
      await until("run A's task to begin on the host", () => readRunLog(log).some((l) => l.what === 'begin'));
      const runA = readRunLog(log)[0]!.run;
      a.child.kill('SIGKILL');
      await a.done;
      const b = await runCli([file, '--playbook', playbook, '-e', 'hold=0', ...persist], { env });
      assert.equal(b.code, 0, b.stdout + b.stderr);
      const lines = readRunLog(log);
      const runB = lines.find((l) => l.run !== runA)?.run ?? '(none)';
      leftovers.push(...processesOfRun(runA));
      assert.deepEqual(lines.map((l) => `${l.what} ${l.run === runA ? 'A' : l.run === runB ? 'B' : l.run}`), ['begin A', 'killed A', 'begin B', 'end B']);
      assert.deepEqual(processesOfRun(runA), [], `processes of run A (${runA}) left on the host`);
    });
  }
});
