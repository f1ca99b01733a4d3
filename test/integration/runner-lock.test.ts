import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { until } from '../helpers/until.js';
import { runCli, startCli } from '../helpers/cli.js';

const playbook = new URL('../../../test/fixtures/runner/playbooks/lock.yml', import.meta.url).pathname;

describe('one run at a time per host, against real sshd', () => {
  const servers: Sshd[] = [];
  let dir: string;
  // lock files of this test's own, so other runs on this machine are not in its way
  const locks = ['h1', 'h2'].map((h) => `/run/bootstrap-test-${process.pid}-${h}.lock`);

  before(async () => {
    const first = await startSshd();
    servers.push(first, await startSshd({ clientKeyPath: first.clientKeyPath }));
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-lock-'));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
    for (const l of locks) rmSync(l, { force: true });
  });

  function inventory(name: string): { file: string; logs: string[]; go: string } {
    const [a, b] = servers;
    const logs = ['h1', 'h2'].map((h) => join(dir, `${name}-${h}.log`));
    const file = join(dir, `${name}.yaml`);
    const go = join(dir, `${name}.go`);
    writeFileSync(
      file,
      `all:\n  vars:\n    ssh: { user: root, key: ${a!.clientKeyPath}, known_hosts: [${a!.knownHostsFile}, ${b!.knownHostsFile}] }\n    go: ${go}\n  children:\n    app:\n      hosts:\n` +
        `        h1: { address: 127.0.0.1, port: ${a!.port}, vars: { lock_file: ${locks[0]}, log: ${logs[0]}, state_dir: ${join(dir, name, 'h1')} } }\n` +
        `        h2: { address: 127.0.0.1, port: ${b!.port}, vars: { lock_file: ${locks[1]}, log: ${logs[1]}, state_dir: ${join(dir, name, 'h2')} } }\n`,
    );
    return { file, logs, go };
  }

  const holder = (pid: number) => new RegExp(`${userInfo().username}@${hostname().replace(/\./g, '\\.')} \\(pid ${pid}, started \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\)`);

  it('a second run waits for the first, then runs: their work on the host never interleaves', async () => {
    const { file, logs, go } = inventory('wait');
    const first = startCli([file, '--playbook', playbook, '--limit', 'h1']);
    await until('the first run to start its work', () => existsSync(logs[0]!) && readFileSync(logs[0]!, 'utf8').includes('start'));
    const later = startCli([file, '--playbook', playbook, '--limit', 'h1']);
    await until('the second run to wait for the lock', () => /^waiting /m.test(later.output()));
    writeFileSync(go, ''); // the first run's work ends; then the second's starts (and ends at once: go exists)
    const second = await later.done;
    const one = await first.done;
    assert.equal(one.code, 0, one.stdout + one.stderr);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout, new RegExp(`^waiting +h1 +another run holds ${locks[0]}: ${holder(first.child.pid!).source}; waiting up to 300 s \\(--lock-timeout\\)$`, 'm'));
    assert.deepEqual(readFileSync(logs[0]!, 'utf8').trim().split('\n'), ['start', 'end', 'start', 'end']);
    assert.match(readFileSync(locks[0]!, 'utf8'), /^free after run=[0-9a-f]{8}\n$/, 'a released lock names no holder, only the run that released it');
  });

  it('--lock-timeout: past it the locked host fails naming the holder, and the other hosts carry on', async () => {
    const { file, logs, go } = inventory('timeout');
    const first = startCli([file, '--playbook', playbook, '--limit', 'h1']);
    await until('the first run to start its work', () => existsSync(logs[0]!) && readFileSync(logs[0]!, 'utf8').includes('start'));
    const second = await runCli([file, '--playbook', playbook, '--lock-timeout', '1', '-e', 'go=']);
    assert.equal(second.code, 3, second.stdout + second.stderr);
    assert.match(second.stdout, new RegExp(`^FAILED +h1 +host lock$\\n +h1: locked by another run, ${holder(first.child.pid!).source}, for more than 1 s \\(--lock-timeout\\); the lock is ${locks[0]} on the host$`, 'm'));
    assert.match(second.stdout, /^ {2}h2 +ok=0 changed=1 failed=0/m);
    assert.match(second.stdout, /^ {2}h1 +ok=0 changed=0 failed=1/m);
    writeFileSync(go, '');
    const one = await first.done;
    assert.equal(one.code, 0, one.stdout + one.stderr);
    assert.deepEqual(readFileSync(logs[0]!, 'utf8').trim().split('\n'), ['start', 'end'], 'the second run did nothing on h1');
  });
});
