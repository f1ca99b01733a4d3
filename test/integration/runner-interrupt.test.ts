import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { until } from '../helpers/until.js';
import { events, startCli } from '../helpers/cli.js';

const playbook = new URL('../../../test/fixtures/runner/playbooks/interrupt.yml', import.meta.url).pathname;

/** Command lines of the processes running `sleep <marker>` on this machine (the hosts' sshd run here). */
function sleeping(marker: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', `^sleep ${marker}$`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('SIGINT against real sshd', () => {
  const servers: Sshd[] = [];
  let dir: string;

  before(async () => {
    const first = await startSshd();
    servers.push(first, await startSshd({ clientKeyPath: first.clientKeyPath }));
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-interrupt-'));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** An inventory of the two hosts, each sleeping `marker` seconds and then touching its own file. */
  function inventory(name: string, marker: string): { file: string; later: string[] } {
    const later = ['h1', 'h2'].map((h) => join(dir, `${name}-${h}-later`));
    const [a, b] = servers;
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      `all:\n  vars:\n    ssh: { user: root, key: ${a!.clientKeyPath}, known_hosts: [${a!.knownHostsFile}, ${b!.knownHostsFile}] }\n    marker: "${marker}"\n  children:\n    app:\n      hosts:\n` +
        `        h1: { address: 127.0.0.1, port: ${a!.port}, vars: { later_file: ${later[0]}, state_dir: ${join(dir, name, 'h1')} } }\n` +
        `        h2: { address: 127.0.0.1, port: ${b!.port}, vars: { later_file: ${later[1]}, state_dir: ${join(dir, name, 'h2')} } }\n`,
    );
    return { file, later };
  }

  it('one SIGINT: running commands finish within the grace period, later tasks do not start, the recap says interrupted, exit 130', async () => {
    // a sleep of 3.<pid> s: shorter than the grace period, and a command line no other process has
    const marker = `3.${process.pid}`;
    const { file, later } = inventory('once', marker);
    const cli = startCli([file, '--playbook', playbook]);
    await until('both hosts to run the long command', () => sleeping(marker).length === 2);
    cli.child.kill('SIGINT');
    const res = await cli.done;
    assert.equal(res.code, 130, `${res.stdout}\n${res.stderr}`);
    assert.match(res.stdout, /^INTERRUPTED {2}SIGINT: no new task starts; running commands get 10 s to finish/m);
    // the long command was let finish on both hosts: changed, not failed
    assert.equal(res.stdout.match(/^changed +h[12] +a long command$/gm)?.length, 2, res.stdout);
    assert.match(res.stdout, /^ {2}h1 +ok=0 changed=1 failed=0 skipped=0 unreachable=0 {2}interrupted$/m);
    assert.match(res.stdout, /^ {2}h2 +ok=0 changed=1 failed=0 skipped=0 unreachable=0 {2}interrupted$/m);
    assert.match(res.stdout, /^Interrupted: h1, h2 did not finish/m);
    for (const f of later) assert.equal(existsSync(f), false, `${f}: the later task ran`);
  });

  it('a second SIGINT aborts: the running commands are stopped on the hosts, exit 130 without waiting out the grace period', async () => {
    const marker = `61.${process.pid}`;
    const { file, later } = inventory('twice', marker);
    const cli = startCli([file, '--playbook', playbook, '--output', 'json']);
    await until('both hosts to run the long command', () => sleeping(marker).length === 2);
    cli.child.kill('SIGINT');
    await until('the stop to be reported', () => cli.output().includes('"phase":"stopping"'));
    const second = Date.now();
    cli.child.kill('SIGINT');
    const res = await cli.done;
    const took = (Date.now() - second) / 1000;
    assert.equal(res.code, 130, res.stderr);
    assert.ok(took < 9, `aborted in ${took.toFixed(1)} s, before the grace period ended`);
    const evs = events(res.stdout);
    assert.deepEqual(evs.filter((e) => e.type === 'run:interrupt').map((e) => e.phase), ['stopping', 'aborting']);
    const end = evs.find((e) => e.type === 'run:end')!;
    for (const h of ['h1', 'h2']) {
      assert.equal(end.recap[h].interrupted, true, h);
      assert.equal(end.recap[h].unreachable, false, `${h}: we closed the connection, the host is not unreachable`);
    }
    assert.deepEqual(sleeping(marker), [], 'no sleep left on the hosts');
    for (const f of later) assert.equal(existsSync(f), false, `${f}: the later task ran`);
  });
});
