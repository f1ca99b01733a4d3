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
    let left = '';
    try {
      left = execFileSync('pgrep', ['-af', `sleep ${marker}`], { encoding: 'utf8' });
    } catch {
      left = ''; // pgrep exits 1 when nothing matches
    }
    assert.equal(left, '', 'the sleep in the command\'s process group was killed');
    // wait_for's own timeout (2 s) bounds its wait, not --command-timeout 1: its loop ends with its own message
    const waited = events(res.stdout).find((e) => e.type === 'task:result' && e.host === 'h2')!;
    assert.equal(waited.status, 'failed');
    assert.match(waited.failure.stderrTail, /^timed out after 2s waiting for 127\.0\.0\.1:\d+$/);
  });
});
