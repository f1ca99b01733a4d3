import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { events, runCli } from '../helpers/cli.js';

const playbook = new URL('../../../test/fixtures/runner/playbooks/timeouts.yml', import.meta.url).pathname;
const bounds = new URL('../../../test/fixtures/runner/playbooks/bounds.yml', import.meta.url).pathname;

/** A loopback port nothing listens on (bound, then closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('command timeouts against real sshd', () => {
  let h: Sshd;
  let dir: string;
  // a sleep length no other process on the machine uses, to find leftovers by
  const marker = `61.${process.pid}`;
  const leftover = () => {
    try {
      return execFileSync('pgrep', ['-af', `sleep ${marker}`], { encoding: 'utf8' });
    } catch {
      return ''; // pgrep exits 1 when nothing matches
    }
  };

  before(async () => {
    h = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-timeouts-'));
    writeFileSync(
      join(dir, 'inventory.yaml'),
      `all:\n  vars:\n    ssh: { user: root, key: ${h.clientKeyPath}, known_hosts: ${h.knownHostsFile} }\n  children:\n    app:\n      hosts:\n` +
        `        h1: { address: 127.0.0.1, port: ${h.port}, vars: { marker: "${marker}" } }\n` +
        `    waiter:\n      hosts:\n        h2: { address: 127.0.0.1, port: ${h.port}, vars: { closed_port: ${await closedPort()} } }\n`,
    );
  });
  after(async () => {
    await h?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a task past its timeout fails with the time it ran, and its process group is killed on the host', async () => {
    const res = await runCli([join(dir, 'inventory.yaml'), '--playbook', playbook, '--output', 'json', '--command-timeout', '1']);
    assert.equal(res.code, 3, res.stderr);
    const failed = events(res.stdout).find((e) => e.type === 'task:result' && e.status === 'failed' && e.host === 'h1')!;
    assert.match(failed.failure.stderrTail, /^timed out after 1 s \(ran 1\.\d s\); its process group was killed on the host$/);
    assert.equal(leftover(), '', 'the sleep in the command\'s process group was killed');
    // wait_for's own timeout (2 s) bounds its wait, not --command-timeout 1: its loop ends with its own message
    const waited = events(res.stdout).find((e) => e.type === 'task:result' && e.host === 'h2')!;
    assert.equal(waited.status, 'failed');
    assert.match(waited.failure.stderrTail, /^timed out after 2s waiting for 127\.0\.0\.1:\d+$/);
  });

  it('--connect-timeout: a host that accepts TCP and never speaks SSH is unreachable after it; a fact batch past --command-timeout fails its host; the others carry on', async () => {
    const silent = createServer(() => undefined); // accepts, says nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    const inventory = join(dir, 'bounds.yaml');
    const hostVars = `vars: { marker: "${marker}" }`;
    writeFileSync(
      inventory,
      `all:\n  vars:\n    ssh: { user: root, key: ${h.clientKeyPath}, known_hosts: ${h.knownHostsFile} }\n  children:\n    app:\n      hosts:\n` +
        `        silent: { address: 127.0.0.1, port: ${silentPort} }\n` +
        `        ok: { address: 127.0.0.1, port: ${h.port}, ${hostVars} }\n` +
        `        slowfacts: { address: 127.0.0.1, port: ${h.port}, ${hostVars} }\n`,
    );
    try {
      const started = Date.now();
      const res = await runCli([inventory, '--playbook', bounds, '--output', 'json', '--connect-timeout', '2', '--command-timeout', '2']);
      const took = (Date.now() - started) / 1000;
      assert.equal(res.code, 4, res.stderr);
      const evs = events(res.stdout);
      const unreachable = evs.find((e) => e.type === 'host:unreachable' && e.host === 'silent');
      assert.match(unreachable?.message ?? '', new RegExp(`^silent: timed out after 2s connecting to 127\\.0\\.0\\.1:${silentPort}: no SSH handshake`));
      const gather = evs.find((e) => e.type === 'task:result' && e.host === 'slowfacts' && e.task === 'gather facts');
      assert.equal(gather?.status, 'failed', JSON.stringify(evs.filter((e) => e.host === 'slowfacts')));
      assert.match(gather.failure.message, /^gathering facts timed out after 2 s \(ran 2\.\d s\); its process group was killed on the host/);
      const end = evs.find((e) => e.type === 'run:end')!;
      assert.equal(end.recap.ok.changed, 1, 'the healthy host ran its task');
      assert.equal(end.recap.ok.failed, 0);
      assert.equal(end.recap.silent.unreachable, true);
      assert.ok(took < 30, `bounded: the run took ${took.toFixed(1)} s`);
      assert.equal(leftover(), '', 'the fact batch\'s sleep was killed on the host');
    } finally {
      silent.close();
    }
  });
});
