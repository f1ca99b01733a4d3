import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { startCli, type CliResult } from '../helpers/cli.js';
import { processesOfRun } from '../helpers/run-log.js';
import { until } from '../helpers/until.js';

/**
 * A run killed mid-transfer, as a laptop dies or a connection drops: the CLI (SIGKILL), or the
 * host's sshd connection processes. Every destination must then hold its old content or its
 * new content, byte for byte, never anything else. The kill points are the temp file's size on
 * the host (seeded, so a failure replays): the test waits for the file to grow that far, not for
 * a time.
 */

const HOSTS = ['h1', 'h2', 'h3'];
const BIG = 32 * 1024 * 1024;
const CONF_LINES = 32 * 1024; // 69 bytes a line: about 2.2 MB
const CLI_KILLS = 10;
const SSHD_KILLS = 4;
const SEED = Number(process.env.CRASH_SEED ?? 20260422);

/** mulberry32: a small seeded generator, so the kill points of a failed run can be replayed */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Blocks this process for `ms` (a poll that must not miss a short transfer, without spinning the CPU). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function confText(version: string): string {
  const lines: string[] = [];
  for (let i = 0; i < CONF_LINES; i++) lines.push(`upstream_${String(i).padStart(6, '0')} ${'x'.repeat(40)} version=${version}`);
  return `${lines.join('\n')}\n`;
}

/** sshd processes below the listener of `server` (its connections), never the listener itself. */
function connectionProcesses(server: Sshd): number[] {
  const listener = Number(readFileSync(join(server.dir, 'sshd.pid'), 'utf8').trim());
  const below = (pid: number): number[] => {
    let children: number[] = [];
    try {
      children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
    return children.flatMap((c) => {
      let comm = '';
      try {
        comm = readFileSync(`/proc/${c}/comm`, 'utf8').trim();
      } catch {
        return [];
      }
      return comm === 'sshd' || comm.startsWith('sshd-') ? [c, ...below(c)] : [];
    });
  };
  return below(listener);
}

describe('crash-safe writes against real sshd: kills mid-transfer leave each file old or new', () => {
  const servers: Sshd[] = [];
  let dir: string;
  let playbook: string;
  let inventory: string;
  const oldBig = randomBytes(BIG);
  const newBig = randomBytes(BIG);
  const oldConf = Buffer.from(confText('old'));
  const newConf = Buffer.from(confText('new'));
  const dests = () => HOSTS.flatMap((h) => [{ host: h, name: 'big.bin', old: oldBig, new: newBig }, { host: h, name: 'app.conf', old: oldConf, new: newConf }]);
  const rootOf = (host: string) => join(dir, 'hosts', host);

  before(async () => {
    const first = await startSshd();
    servers.push(first);
    for (const _ of HOSTS.slice(1)) servers.push(await startSshd({ clientKeyPath: first.clientKeyPath }));
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-crash-'));
    mkdirSync(join(dir, 'playbooks'));
    mkdirSync(join(dir, 'templates'));
    writeFileSync(join(dir, 'playbooks', 'big.bin'), newBig);
    writeFileSync(join(dir, 'templates', 'app.conf.ejs'), confText('<%= version %>'));
    playbook = join(dir, 'playbooks', 'crash.yml');
    writeFileSync(
      playbook,
      [
        '- name: files',
        '  hosts: all',
        '  become: false',
        '  tasks:',
        '    - name: a large config',
        '      template: { src: app.conf.ejs, dest: "<%= root %>/app.conf" }',
        '    - name: a large file',
        '      copy: { src: big.bin, dest: "<%= root %>/big.bin" }',
        '',
      ].join('\n'),
    );
    inventory = join(dir, 'inventory.yaml');
    const ssh = `ssh: { user: root, key: ${first.clientKeyPath}, known_hosts: [${servers.map((s) => s.knownHostsFile).join(', ')}] }`;
    writeFileSync(
      inventory,
      `all:\n  vars:\n    ${ssh}\n    version: new\n  children:\n    app:\n      hosts:\n` +
        HOSTS.map((h, i) => `        ${h}: { address: 127.0.0.1, port: ${servers[i]!.port}, vars: { root: ${rootOf(h)}, lock_file: ${join(dir, `${h}.lock`)} } }\n`).join(''),
    );
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Every destination back to its old content, so each run has all six transfers to make. */
  function resetToOld(): void {
    for (const d of dests()) {
      mkdirSync(rootOf(d.host), { recursive: true });
      const path = join(rootOf(d.host), d.name);
      let same = false;
      try {
        same = statSync(path).size === d.old.length && readFileSync(path).equals(d.old);
      } catch {
        // absent
      }
      if (!same) writeFileSync(path, d.old);
    }
  }

  /** Each destination: 'old', 'new', or what it is instead (a corrupt file). */
  function check(): { checked: number; corrupt: string[] } {
    const corrupt: string[] = [];
    for (const d of dests()) {
      const path = join(rootOf(d.host), d.name);
      const bytes = readFileSync(path);
      if (!bytes.equals(d.old) && !bytes.equals(d.new)) {
        const prefixOfNew = bytes.length < d.new.length && d.new.subarray(0, bytes.length).equals(bytes);
        corrupt.push(`${d.host}/${d.name}: ${bytes.length} bytes${prefixOfNew ? ', a prefix of the new content' : ''}`);
      }
    }
    return { checked: dests().length, corrupt };
  }

  /** The temp files beside the destinations: [host, name, size]. */
  function temps(): Array<{ host: string; name: string; size: number }> {
    const found: Array<{ host: string; name: string; size: number }> = [];
    for (const host of HOSTS) {
      for (const name of readdirSync(rootOf(host))) {
        if (!name.includes('.bootstrap-tmp-')) continue;
        try {
          found.push({ host, name, size: statSync(join(rootOf(host), name)).size });
        } catch {
          // renamed or removed meanwhile
        }
      }
    }
    return found;
  }

  /**
   * Starts a run and waits until the temp file of `target` on `host` holds at least `bytes`
   * (polled every millisecond). Returns the run and its id (from the temp file's name), or no id
   * when the transfer ended before the poll saw it that large.
   */
  function runUntil(host: string, target: string, bytes: number): { cli: ReturnType<typeof startCli>; runId?: string; seen: number } {
    const cli = startCli([inventory, '--playbook', playbook]);
    const prefix = `.${target}.bootstrap-tmp-`;
    const deadline = Date.now() + 60_000;
    let runId: string | undefined;
    let seen = 0;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`no temp file of ${target} on ${host} grew to ${bytes} bytes within 60 s: ${cli.output()}`);
      if (cli.child.exitCode !== null) return { cli, seen };
      const temp = readdirSync(rootOf(host)).find((n) => n.startsWith(prefix));
      if (temp) {
        runId = temp.slice(prefix.length);
        try {
          seen = statSync(join(rootOf(host), temp)).size;
        } catch {
          // renamed into place between the listing and the stat: too late for this point
          return { cli, runId, seen };
        }
        if (seen >= bytes) return { cli, runId, seen };
      } else if (runId) {
        return { cli, runId, seen }; // it was there and is gone: the transfer ended before the point
      }
      pause(1);
    }
  }

  /** Waits until nothing of the run is left on the hosts (its commands finish or fail once their stdin is cut). */
  async function settle(runId: string | undefined): Promise<void> {
    if (!runId) return;
    const deadline = Date.now() + 30_000;
    while (processesOfRun(runId).length > 0) {
      if (Date.now() > deadline) throw new Error(`run ${runId} still has processes on the hosts 30 s after the kill: ${processesOfRun(runId).join(' ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('SIGKILL of the CLI and of the hosts\' sshd at random points of the transfers: every file is old or new', async () => {
    const next = random(SEED);
    let kills = 0;
    let midTransfer = 0;
    let checked = 0;
    const corrupt: string[] = [];
    const killOnce = async (what: 'cli' | 'sshd') => {
      resetToOld();
      const hostIndex = Math.floor(next() * HOSTS.length);
      const host = HOSTS[hostIndex]!;
      const target = next() < 0.5 ? 'big.bin' : 'app.conf';
      const size = target === 'big.bin' ? BIG : newConf.length;
      const bytes = Math.max(1, Math.floor(next() * size));
      const { cli, runId, seen } = runUntil(host, target, bytes);
      let result: CliResult;
      if (what === 'cli') {
        cli.child.kill('SIGKILL');
        result = await cli.done;
      } else {
        for (const pid of connectionProcesses(servers[hostIndex]!)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        result = await cli.done;
      }
      kills++;
      if (runId && seen >= bytes && seen < size) midTransfer++;
      await settle(runId);
      const after = check();
      checked += after.checked;
      corrupt.push(...after.corrupt.map((c) => `kill ${kills} (${what} at ${target} on ${host} >= ${bytes} bytes, exit ${result.code ?? "by signal"}): ${c}`));
    };
    for (let i = 0; i < CLI_KILLS; i++) await killOnce('cli');
    for (let i = 0; i < SSHD_KILLS; i++) await killOnce('sshd');
    const left = temps();
    console.log(`crash-safe writes (seed ${SEED}): ${kills} kills tried (${CLI_KILLS} CLI, ${SSHD_KILLS} sshd), ${midTransfer} landed mid-transfer, ${checked} files checked byte for byte, ${corrupt.length} corrupt, ${left.length} temp files left`);
    assert.deepEqual(corrupt, [], 'a destination holds neither its old nor its new content');
    assert.ok(midTransfer >= Math.ceil(kills / 2), `only ${midTransfer} of ${kills} kills landed mid-transfer`);
    // A cut upload fails its check on the host and the failing script removes its temp file; a
    // script killed with its session (sshd killed, or the dead run's commands ended by the next
    // lock holder) cannot, and then the next run removes what it left.
    if (left.length > 0) {
      const rerun = await startCli([inventory, '--playbook', playbook]).done;
      assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
      for (const t of left) {
        const dest = join(rootOf(t.host), t.name.replace(/^\.(.*)\.bootstrap-tmp-.*$/, '$1'));
        assert.ok(rerun.stdout.includes(`left beside ${dest} by runs that ended`), `the next run removes ${t.name} on ${t.host}: ${rerun.stdout}`);
      }
    }
    assert.deepEqual(temps(), [], 'temp files left on the hosts');
  });

  it('a double Ctrl-C mid-transfer: the aborted run removes its own temp files; every file is old or new', async () => {
    // The second SIGINT lands mid-transfer, but the rest of the file may still arrive before the
    // abort reaches the host: such a run ends with every file new, and the scenario is tried again.
    let aborted = 0;
    for (let attempt = 1; attempt <= 5 && aborted === 0; attempt++) {
      resetToOld();
      const { cli, runId } = runUntil('h2', 'big.bin', BIG / 4);
      assert.ok(runId, 'the transfer was seen');
      cli.child.kill('SIGINT');
      await until('the run to stop starting tasks', () => /^INTERRUPTED +SIGINT/m.test(cli.output()));
      assert.ok(temps().some((t) => t.host === 'h2' && t.name.startsWith('.big.bin.') && t.size < BIG), 'the second SIGINT comes mid-transfer');
      cli.child.kill('SIGINT');
      const res = await cli.done;
      assert.ok(res.code === 130 || res.code === 0, `exit ${res.code}: ${res.stdout}${res.stderr}`);
      if (res.code === 130) aborted++;
      await settle(runId);
      assert.deepEqual(check().corrupt, []);
      assert.deepEqual(temps(), []);
    }
    assert.equal(aborted, 1, 'in 5 attempts, no abort reached the host before its transfer ended');
  });

  it('the next run removes the temp files that ended runs left beside its targets (bootstrap\'s own pattern only)', async () => {
    resetToOld();
    const root = rootOf('h3');
    // what a run killed with its host-side commands (kill -9 on the host) leaves, and names that only look alike
    const leftovers = ['.app.conf.bootstrap-tmp-0123abcd', '.big.bin.bootstrap-tmp-89ab4567'];
    const alike = ['.app.conf.bootstrap-tmp-mine', 'app.conf.bootstrap-tmp-0123abcd', '.other.bootstrap-tmp-0123abcd'];
    for (const name of [...leftovers, ...alike]) writeFileSync(join(root, name), 'partial');
    const cli = startCli([inventory, '--playbook', playbook]);
    const res = await cli.done;
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, new RegExp(`^ +- remove 1 temp file\\(s\\) left beside ${join(root, 'app.conf')} by runs that ended$`, 'm'));
    assert.match(res.stdout, new RegExp(`^ +- remove 1 temp file\\(s\\) left beside ${join(root, 'big.bin')} by runs that ended$`, 'm'));
    assert.deepEqual(readdirSync(root).sort(), ['app.conf', 'big.bin', ...alike].sort());
    for (const name of alike) rmSync(join(root, name));
    const { corrupt, checked } = check();
    assert.deepEqual(corrupt, []);
    for (const d of dests()) assert.ok(readFileSync(join(rootOf(d.host), d.name)).equals(d.new), `${d.host}/${d.name} is new`);
    assert.equal(checked, 6);
  });
});
