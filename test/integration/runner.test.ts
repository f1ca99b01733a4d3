import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd } from '../helpers/sshd.js';
import { events, runCli } from '../helpers/cli.js';

type Sshd = Awaited<ReturnType<typeof startSshd>>;
const fixture = new URL('../../../test/fixtures/runner/playbooks/site.yml', import.meta.url).pathname;

/** Two real sshd hosts, each provisioning files under its own temp root. */
describe('bootstrap apply against real sshd', () => {
  let h1: Sshd;
  let h2: Sshd;
  let dir: string;
  let inventory: string;
  const root = (h: string) => join(dir, h);

  function writeInventory(extra: { h2Vars?: string; h1Port?: number; listenPort?: number } = {}): void {
    writeFileSync(
      inventory,
      `all:
  vars:
    ssh: { user: root, key: ${h1.clientKeyPath}, known_hosts: ${join(dir, 'known_hosts')} }
    # both hosts are this machine: one run shares the lock; a lock of our own keeps other runs on it out of the way
    lock_file: ${join(dir, 'run.lock')}
    listen_port: ${extra.listenPort ?? 8080}
    upstreams: [one, two]
  children:
    app:
      hosts:
        h1: { address: 127.0.0.1, port: ${extra.h1Port ?? h1.port}, vars: { root: ${root('h1')}, state_dir: ${root('h1')}/state } }
        h2: { address: 127.0.0.1, port: ${h2.port}, vars: { root: ${root('h2')}, state_dir: ${root('h2')}/state${extra.h2Vars ?? ''} } }
`,
    );
  }

  const apply = (...args: string[]) => runCli([inventory, '--playbook', fixture, '--output', 'json', ...args]);
  const recap = (stdout: string) => events(stdout).find((e) => e.type === 'run:end')!.recap;

  before(async () => {
    h1 = await startSshd();
    h2 = await startSshd({ clientKeyPath: h1.clientKeyPath });
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-runner-'));
    inventory = join(dir, 'inventory.yaml');
    writeFileSync(join(dir, 'known_hosts'), readFileSync(h1.knownHostsFile, 'utf8') + readFileSync(h2.knownHostsFile, 'utf8'));
    writeInventory();
  });
  after(async () => {
    await h1?.stop();
    await h2?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('facts reports what was discovered on each host, in one connection', async () => {
    const res = await runCli(['facts', inventory, '--output', 'json']);
    assert.equal(res.code, 0, res.stderr);
    const facts = JSON.parse(res.stdout);
    assert.deepEqual(Object.keys(facts), ['h1', 'h2']);
    const os = readFileSync('/etc/os-release', 'utf8');
    assert.equal(facts.h1.os.id, /^ID=(.*)$/m.exec(os)![1]!.replace(/"/g, ''));
    assert.equal(facts.h1.isRoot, true);
    assert.ok(['systemd', 'upstart', 'other'].includes(facts.h2.init));
  });

  it('invalid input exits 2 naming file, line, column and key path, and contacts no host', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(inventory, 'utf8').replace(`port: ${h2.port}`, 'port: twenty-two'));
    const before = h2.log().length;
    const res = await runCli([bad, '--playbook', fixture]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /bad\.yaml:\d+:\d+ all\.children\.app\.hosts\.h2\.port: expected an integer 1-65535, got "twenty-two"/);
    assert.match(res.stderr, /Nothing was contacted/);
    assert.equal(h2.log().length, before, 'sshd saw no connection');
  });

  it('check mode on fresh hosts plans changes and changes nothing', async () => {
    const res = await apply('--check');
    assert.equal(res.code, 0, res.stderr);
    assert.ok(recap(res.stdout).h1.changed >= 5);
    assert.equal(existsSync(root('h1')), false);
  });

  it('applies, runs the notified handler once, and renders the template', async () => {
    const res = await apply();
    assert.equal(res.code, 0, res.stderr + res.stdout);
    const r = recap(res.stdout);
    assert.equal(r.h1.failed, 0);
    assert.equal(r.h1.changed, 7); // 6 tasks + the handler (the `when` task is skipped)
    assert.equal(r.h1.skipped, 1);
    assert.equal(readFileSync(join(root('h1'), 'etc/app.conf'), 'utf8'), '# rendered for h1\nlisten 8080\nupstream one\nupstream two\n');
    assert.equal(readFileSync(join(root('h2'), 'etc/motd'), 'utf8'), 'hello from h2\n');
    assert.equal(readFileSync(join(root('h1'), 'reloads'), 'utf8').trim().split('\n').length, 1);
    assert.equal(readFileSync(join(root('h1'), 'etc/b.txt'), 'utf8'), 'b\n');
  });

  it('re-running changes nothing and says so', async () => {
    const res = await runCli([inventory, '--playbook', fixture]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /h1\s+ok=\d+ changed=0 failed=0/);
    assert.match(res.stdout, /h2\s+ok=\d+ changed=0 failed=0/);
    assert.match(res.stdout, /No changes: 2 host\(s\)/);
    const oks = events((await apply()).stdout).filter((e) => e.type === 'task:result' && e.status === 'ok');
    assert.ok(oks.every((e) => typeof e.reason === 'string' && e.reason.length > 0), 'every ok explains itself');
  });

  it('--check --diff after a var change shows the diff and leaves the file alone', async () => {
    writeInventory({ listenPort: 9090 });
    const res = await runCli([inventory, '--playbook', fixture, '--check', '--diff']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /-listen 8080\n\s*\+listen 9090/);
    assert.match(readFileSync(join(root('h1'), 'etc/app.conf'), 'utf8'), /listen 8080/);
    const applied = await apply('--diff');
    assert.equal(recap(applied.stdout).h1.changed, 2); // the template and its handler
    assert.match(readFileSync(join(root('h1'), 'etc/app.conf'), 'utf8'), /listen 9090/);
    assert.equal(readFileSync(join(root('h1'), 'reloads'), 'utf8').trim().split('\n').length, 2);
    writeInventory();
    assert.equal((await apply()).code, 0);
  });

  it('--tags runs only the tagged task', async () => {
    rmSync(join(root('h1'), 'etc/tagged'));
    const res = await apply('--tags', 'extra', '--limit', 'h1');
    assert.equal(res.code, 0, res.stderr);
    const results = events(res.stdout).filter((e) => e.type === 'task:result');
    assert.deepEqual(results.map((e) => [e.host, e.task, e.status]), [['h1', 'tagged task', 'changed']]);
  });

  it('a failing command on one host is reported with host, task, command, exit code and stderr; the other host carries on', async () => {
    writeInventory({ h2Vars: ', fail: true' });
    const res = await runCli([inventory, '--playbook', fixture]);
    assert.equal(res.code, 3, res.stdout + res.stderr);
    assert.match(res.stdout, /FAILED\s+h2\s+the failing step/);
    assert.match(res.stdout, /exit code: 7/);
    assert.match(res.stdout, /\| about to fail/);
    assert.match(res.stdout, /h1\s+ok=\d+ changed=0 failed=0/);
    assert.match(res.stdout, /h2\s+ok=\d+ changed=0 failed=1/);
  });

  it('an unreachable host is reported and does not stop the others', async () => {
    writeInventory({ h1Port: 1 });
    const res = await apply();
    assert.equal(res.code, 4);
    const r = recap(res.stdout);
    assert.equal(r.h1.unreachable, true);
    assert.equal(r.h2.unreachable, false);
    assert.ok(r.h2.ok > 0);
    writeInventory();
  });

  it('a changed host key is refused, even with --accept-new-host-keys', async () => {
    const impostor = await startSshd({ clientKeyPath: h1.clientKeyPath });
    try {
      writeInventory({ h1Port: impostor.port });
      // known_hosts names h1's key for [127.0.0.1]:h1.port; record the impostor under its own port with h1's key
      const known = join(dir, 'known_hosts');
      const original = readFileSync(known, 'utf8');
      writeFileSync(known, original + readFileSync(h1.knownHostsFile, 'utf8').replace(`]:${h1.port} `, `]:${impostor.port} `));
      const res = await runCli([inventory, '--playbook', fixture, '--accept-new-host-keys']);
      assert.equal(res.code, 4);
      assert.match(res.stdout + res.stderr, /h1: .*(changed|CHANGED)/);
      assert.equal(readFileSync(known, 'utf8').includes(impostor.hostPublicKey.split(' ')[1]!), false, 'the new key was not recorded');
      writeFileSync(known, original);
    } finally {
      await impostor.stop();
      writeInventory();
    }
  });
});
