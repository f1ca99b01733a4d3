import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { events, runCli } from '../helpers/cli.js';

const playbook = new URL('../../../test/fixtures/runner/playbooks/handlers.yml', import.meta.url).pathname;

/** Handlers notified by a change survive a later failure: recorded on the host, run by the next run. */
describe('pending handlers against real sshd', () => {
  let h: Sshd;
  let dir: string;
  let inventory: string;
  const root = () => join(dir, 'h1');
  const stateFile = () => join(root(), 'state', 'pending-handlers.json');
  const restarts = () => (existsSync(join(root(), 'restarts')) ? readFileSync(join(root(), 'restarts'), 'utf8') : '');

  function writeInventory(version: number, fail: boolean): void {
    writeFileSync(
      inventory,
      `all:\n  vars:\n    ssh: { user: root, key: ${h.clientKeyPath}, known_hosts: ${h.knownHostsFile} }\n  children:\n    app:\n      hosts:\n` +
        `        h1: { address: 127.0.0.1, port: ${h.port}, vars: { root: ${root()}, state_dir: ${join(root(), 'state')}, version: ${version}, fail: ${fail} } }\n`,
    );
  }
  const apply = (...args: string[]) => runCli([inventory, '--playbook', playbook, '--output', 'json', ...args]);
  const handlerResults = (stdout: string) => events(stdout).filter((e) => e.type === 'task:result' && e.handler);

  before(async () => {
    h = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-handlers-'));
    mkdirSync(root());
    inventory = join(dir, 'inventory.yaml');
  });
  after(async () => {
    await h?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a change followed by a failure leaves its handler recorded on the host, not run', async () => {
    writeInventory(1, true);
    const res = await apply();
    assert.equal(res.code, 3, res.stderr);
    assert.equal(restarts(), '');
    const state = JSON.parse(readFileSync(stateFile(), 'utf8'));
    assert.deepEqual(state.pending.map((p: { play: string; handler: string }) => [p.play, p.handler]), [['app', 'restart app']]);
    const started = events(res.stdout).find((e) => e.type === 'run:start');
    assert.ok(started);
    assert.match(state.pending[0].since, /^\d{4}-\d\d-\d\dT/);
  });

  it('the next run, with nothing to change, runs it and says where it comes from', async () => {
    writeInventory(1, false);
    const before = JSON.parse(readFileSync(stateFile(), 'utf8')).pending[0].since;
    const res = await runCli([inventory, '--playbook', playbook]);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    assert.match(res.stdout, new RegExp(`changed\\s+h1\\s+handler: restart app \\(pending from the run of ${before.replace(/[.]/g, '\\.')}\\)`));
    assert.match(res.stdout, /ok\s+h1\s+app config/);
    assert.equal(restarts(), 'version 1\n');
    assert.equal(existsSync(stateFile()), false, 'the handler left the pending list');
  });

  it('a run after that runs no handler', async () => {
    const res = await apply();
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(handlerResults(res.stdout), []);
    assert.equal(restarts(), 'version 1\n');
  });

  it('--force-handlers runs the notified handler at the point of failure', async () => {
    writeInventory(2, true);
    const res = await apply('--force-handlers');
    assert.equal(res.code, 3, res.stderr);
    assert.deepEqual(handlerResults(res.stdout).map((e) => [e.task, e.status]), [['restart app', 'changed']]);
    assert.equal(restarts(), 'version 1\nversion 2\n');
    assert.equal(existsSync(stateFile()), false);
  });
});
