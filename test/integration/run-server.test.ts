/**
 * The run server (--persist) with the bundled bin users run, against real sshd: a re-run is run
 * by the server (the host's lock names a run-server.js process as its holder), sees every edit,
 * gives the same exit codes and errors as a local run, hears Ctrl-C and a killed client as a
 * local run would, and a second run while one is served runs locally beside it, on the same kept
 * connection, which the first one's abort leaves to it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { bundledCliPath, runCli, startCli } from '../helpers/cli.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { pollUntil } from '../helpers/until.js';

/** The pid of the process that held the host's lock in a run, from the `holder` debug line. */
function holderPid(stdout: string): number {
  const pid = /holder: user=\S+ host=\S+ pid=(\d+)/.exec(stdout)?.[1];
  assert.ok(pid, stdout);
  return Number(pid);
}

/** Whether the run that printed `stdout` ran in a run server (a live run-server.js process of this build). */
function servedIn(stdout: string): boolean {
  const pid = holderPid(stdout);
  return existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(bundledCliPath.replace(/cli\.js$/, 'run-server.js'));
}

/** An aborted run's stop ends its lock's holder too, which leaves its name in the file: free is what flock says. */
const lockFree = (file: string) => spawnSync('flock', ['-n', file, 'true']).status === 0;

const fileNumber = (file: string) => async () => (existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0);

describe('the run server (--persist): a re-run in a process that has the CLI loaded', () => {
  let dir: string;
  let server: Sshd;
  let args: string[];
  const env = () => ({ BOOTSTRAP_KEEPER_DIR: join(dir, 'keeper') });
  const cli = () => runCli([...args, '-v', '--persist', '30'], { cli: bundledCliPath, env: env() });
  const start = (...extra: string[]) => startCli([...args, '-v', '--persist', '30', ...extra], { cli: bundledCliPath, env: env() });
  const playbook = (content: string, extraTask = '') =>
    writeFileSync(
      join(dir, 'site.yml'),
      '- name: p\n  hosts: all\n  become: false\n  tasks:\n' +
        `    - name: a file\n      copy: { dest: "<%= root %>/f", content: "${content}\\n" }\n` +
        '    - name: who holds the lock\n      command: { argv: [cat, "<%= lock_file %>"] }\n      register: held\n      changed_when: false\n' +
        '    - name: holder\n      debug: { msg: "holder: <%= held.stdout %>" }\n' +
        extraTask,
    );
  const serverUp = () => pollUntil('the run server listening', async () => existsSync(join(dir, 'keeper', 'runs.sock')), (up) => up, 60_000, 50);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-run-server-'));
    server = await startSshd();
    playbook('one');
    writeFileSync(
      join(dir, 'inventory.yaml'),
      `all:\n  vars:\n    ssh: { user: root, key: ${server.clientKeyPath}, known_hosts: ${server.knownHostsFile} }\n  children:\n    g:\n      hosts:\n        h0: { address: 127.0.0.1, port: ${server.port}, vars: { root: ${dir}, lock_file: ${join(dir, 'host.lock')} } }\n`,
    );
    args = [join(dir, 'inventory.yaml'), '--playbook', join(dir, 'site.yml')];
  });
  after(async () => {
    // the server would wait its 30 s for another run
    for (const pid of spawnSync('pgrep', ['-f', 'run-server.js'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
      const environ = existsSync(`/proc/${pid}/environ`) ? readFileSync(`/proc/${pid}/environ`, 'utf8') : '';
      if (environ.split('\0').includes(`BOOTSTRAP_KEEPER_DIR=${join(dir, 'keeper')}`)) process.kill(Number(pid));
    }
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the first run is local and starts the server; the next is served, and sees an edited playbook', async () => {
    const run = start();
    const first = await run.done;
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.equal(holderPid(first.stdout), run.child.pid, 'the first run ran in its own process');
    await serverUp();
    playbook('two');
    const served = await cli();
    assert.equal(served.code, 0, served.stdout + served.stderr);
    assert.ok(servedIn(served.stdout), served.stdout);
    assert.match(served.stdout, /changed\s+h0\s+a file/);
    assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'two\n');
    const again = await cli();
    assert.match(again.stdout, /ok\s+h0\s+a file/);
    assert.ok(servedIn(again.stdout), again.stdout);
    assert.equal(holderPid(again.stdout), holderPid(served.stdout), 'the same server');
  });

  it('a served run exits and reports as a local run: invalid input (2, nothing contacted), a failed task (3)', async () => {
    await serverUp();
    writeFileSync(join(dir, 'broken.yml'), '- name: p\n  hosts: all\n  tasks:\n    - name: x\n      copy: { nope: 1 }\n');
    const invalid = await runCli([join(dir, 'inventory.yaml'), '--playbook', join(dir, 'broken.yml'), '--persist', '30'], { cli: bundledCliPath, env: env() });
    assert.equal(invalid.code, 2, invalid.stdout + invalid.stderr);
    assert.match(invalid.stderr, /broken\.yml:5:\d+.*nope/);
    assert.match(invalid.stderr, /Nothing was contacted\./);
    playbook('two', '    - name: fails\n      command: { argv: [sh, -c, "echo boom >&2; exit 7"] }\n');
    const failed = await cli();
    assert.equal(failed.code, 3, failed.stdout);
    assert.ok(servedIn(failed.stdout), failed.stdout);
    assert.match(failed.stdout, /exit 7[\s\S]*boom/);
    playbook('two');
  });

  it('Ctrl-C reaches a served run as it reaches a local one: 130, the command on the host ended, the lock free', async () => {
    await serverUp();
    playbook('two', `    - name: long\n      command: { argv: [sh, -c, "echo $$ > ${dir}/long.pid; exec sleep 60"] }\n`);
    rmSync(join(dir, 'long.pid'), { force: true });
    const run = start();
    const pid = await pollUntil('the long command started', fileNumber(join(dir, 'long.pid')), (p) => p > 0, 60_000, 50);
    run.child.kill('SIGINT');
    const res = await run.done;
    assert.equal(res.code, 130, res.stdout + res.stderr);
    assert.ok(servedIn(res.stdout), res.stdout);
    assert.equal(existsSync(`/proc/${pid.value}`), false, 'the sleep on the host was ended');
    assert.ok(lockFree(join(dir, 'host.lock')), 'no process holds the host lock');
  });

  it('a client killed mid-run stops its served run; a run beside a served one runs locally; both leave the lock free', async () => {
    await serverUp();
    playbook('two', `    - name: long\n      command: { argv: [sh, -c, "echo $$ > ${dir}/long.pid; exec sleep 60"] }\n`);
    rmSync(join(dir, 'long.pid'), { force: true });
    const killed = start();
    const pid = await pollUntil('the long command started', fileNumber(join(dir, 'long.pid')), (p) => p > 0, 60_000, 50).catch((e: Error) => assert.fail(`${e.message}\n${killed.output()}`));
    // a second run while the server is busy runs here, and waits for the host's lock
    const beside = start('--lock-timeout', '60');
    await pollUntil('the second run waiting for the lock', async () => beside.output(), (out) => /waiting\s+h0\s+another run holds/.test(out), 60_000, 50);
    killed.child.kill('SIGKILL');
    await pollUntil('the sleep of the killed run ended', async () => existsSync(`/proc/${pid.value}`), (alive) => !alive, 60_000, 50);
    // it takes the lock and starts its own long command; Ctrl-C stops it
    const second = await pollUntil('the second run\'s long command', fileNumber(join(dir, 'long.pid')), (p) => p > 0 && p !== pid.value, 60_000, 50).catch((e: Error) => assert.fail(`${e.message}\n${beside.output()}\n${killed.output()}`));
    beside.child.kill('SIGINT');
    const res = await beside.done;
    assert.equal(res.code, 130, res.stdout + res.stderr);
    assert.equal(holderPid(res.stdout), beside.child.pid, 'the run beside the served one ran in its own process');
    assert.equal(existsSync(`/proc/${second.value}`), false);
    assert.ok(lockFree(join(dir, 'host.lock')), 'no process holds the host lock');
    playbook('two');
    const after = await cli();
    assert.equal(after.code, 0, after.stdout + after.stderr);
    assert.ok(servedIn(after.stdout), `the server serves again: ${after.stdout}`);
  });
});
