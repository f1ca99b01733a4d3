/**
 * Runs started at the same moment over the same hosts never wait for each other in a cycle: each
 * finishes, one after another. Three real sshd hosts on loopback, each with a lock_file of its own
 * so that they behave as three machines (and other runs on this machine are not in the way).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { startCli } from '../helpers/cli.js';
import { readRunLog } from '../helpers/run-log.js';

const playbook = new URL('../../../test/fixtures/runner/playbooks/exclusive.yml', import.meta.url).pathname;
const HOSTS = ['h1', 'h2', 'h3'];
/** the old per-host locking deadlocked on 4 of 4 first tries; 4 rounds of 2 and of 3 runs catch that */
const ROUNDS = 4;
/** far more than a run's work takes, far less than a deadlock's default 300 s */
const LOCK_TIMEOUT = 60;

describe('runs started together over the same hosts', () => {
  const servers: Sshd[] = [];
  let dir: string;

  before(async () => {
    const first = await startSshd();
    servers.push(first, await startSshd({ clientKeyPath: first.clientKeyPath }), await startSshd({ clientKeyPath: first.clientKeyPath }));
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-concurrent-'));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function inventory(name: string): { file: string; logs: string[] } {
    const logs = HOSTS.map((h) => join(dir, `${name}-${h}.log`));
    const file = join(dir, `${name}.yaml`);
    const known = servers.map((s) => s.knownHostsFile).join(', ');
    writeFileSync(
      file,
      `all:\n  vars:\n    ssh: { user: root, key: ${servers[0]!.clientKeyPath}, known_hosts: [${known}] }\n    hold: "0.3"\n  children:\n    app:\n      hosts:\n` +
        HOSTS.map((h, i) => `        ${h}: { address: 127.0.0.1, port: ${servers[i]!.port}, vars: { lock_file: ${join(dir, `${name}-${h}.lock`)}, log: ${logs[i]}, state_dir: ${join(dir, name, h)} } }\n`).join(''),
    );
    return { file, logs };
  }

  /** Each run's span over all hosts, from its first begin to its last end; fails unless every run began and ended on every host. */
  function spans(logs: string[], runs: number): Array<{ run: string; from: number; to: number }> {
    const byRun = new Map<string, { from: number; to: number; begun: number; ended: number }>();
    for (const log of logs) {
      for (const line of readRunLog(log)) {
        const span = byRun.get(line.run) ?? { from: Infinity, to: -Infinity, begun: 0, ended: 0 };
        if (line.what === 'begin') span.begun++, (span.from = Math.min(span.from, line.at));
        if (line.what === 'end') span.ended++, (span.to = Math.max(span.to, line.at));
        byRun.set(line.run, span);
      }
    }
    assert.equal(byRun.size, runs, `${runs} runs worked on the hosts`);
    for (const [run, s] of byRun) assert.deepEqual([run, s.begun, s.ended], [run, HOSTS.length, HOSTS.length], 'each run began and ended its work on every host');
    return [...byRun].map(([run, s]) => ({ run, from: s.from, to: s.to })).sort((a, b) => a.from - b.from);
  }

  for (const runs of [2, 3]) {
    it(`${runs} runs started at once, ${ROUNDS} times: each finishes, one after another`, async (t) => {
      for (let round = 1; round <= ROUNDS; round++) {
        const { file, logs } = inventory(`r${runs}-${round}`);
        const started = Date.now();
        const clis = Array.from({ length: runs }, () => startCli([file, '--playbook', playbook, '--lock-timeout', String(LOCK_TIMEOUT)]));
        const results = await Promise.all(clis.map((c) => c.done));
        const took = (Date.now() - started) / 1000;
        for (const r of results) assert.equal(r.code, 0, `round ${round}: a run failed after ${took.toFixed(1)} s\n${r.stdout}${r.stderr}`);
        const order = spans(logs, runs);
        for (let i = 1; i < order.length; i++) {
          assert.ok(order[i]!.from > order[i - 1]!.to, `round ${round}: run ${order[i]!.run} began before run ${order[i - 1]!.run} ended its work on every host`);
        }
        t.diagnostic(`round ${round}: ${runs} runs finished one after another in ${took.toFixed(1)} s`);
      }
    });
  }
});
