/**
 * --persist against real sshd: a re-run within the persist time reaches each host through the
 * connection the keeper kept (no second login, counted from sshd's log), the keeper re-reads
 * known_hosts before handing a kept connection over, replaces a connection whose server went away,
 * and exits once its connections have been idle for the persist time.
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

const run = promisify(execFile);
const LOGIN = /Accepted publickey for root/g;
const logins = (text: string) => text.match(LOGIN)?.length ?? 0;
const settle = () => new Promise((r) => setTimeout(r, 200)); // sshd writes its log as a session ends

describe('the connection keeper (--persist) against real sshd', () => {
  let dir: string;
  let keeperDir: string;
  let server: Sshd;
  let args: string[];
  const env = () => ({ BOOTSTRAP_KEEPER_DIR: keeperDir });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-keeper-'));
    keeperDir = join(dir, 'keeper');
    // keys of our own, so that the server can be started again on the same port with the same keys
    const keys = await startSshd();
    for (const [from, to] of [[keys.hostKeyPath, 'host_key'], [keys.clientKeyPath, 'client_key'], [`${keys.clientKeyPath}.pub`, 'client_key.pub']] as const) copyFileSync(from, join(dir, to));
    await keys.stop();
    server = await startSshd({ hostKeyPath: join(dir, 'host_key'), clientKeyPath: join(dir, 'client_key'), extraConfig: ['LogLevel DEBUG1'] });
    writeFileSync(join(dir, 'known_hosts'), readFileSync(server.knownHostsFile));
    writeFileSync(join(dir, 'site.yml'), '- name: p\n  hosts: all\n  become: false\n  tasks:\n    - name: a file\n      copy: { dest: "<%= root %>/f", content: "x\\n" }\n');
    writeFileSync(
      join(dir, 'inventory.yaml'),
      `all:\n  vars:\n    ssh: { user: root, key: ${server.clientKeyPath}, known_hosts: ${join(dir, 'known_hosts')} }\n  children:\n    g:\n      hosts:\n        h0: { address: 127.0.0.1, port: ${server.port}, vars: { root: ${dir}, lock_file: ${join(dir, 'host.lock')} } }\n`,
    );
    args = [join(dir, 'inventory.yaml'), '--playbook', join(dir, 'site.yml')];
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a re-run within --persist seconds logs in no second time, and still sees every change', async () => {
    const first = await runCli([...args, '--persist', '30'], { env: env() });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /changed=1/);
    await settle();
    const before = server.log().length;
    writeFileSync(join(dir, 'f'), 'drifted\n');
    const again = await runCli([...args], { env: { ...env(), BOOTSTRAP_PERSIST: '30' } });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /changed=1/, 'the drifted file is put back through the kept connection');
    assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'x\n');
    // the host lock's holder ended with the run, though its channel was on the kept connection
    assert.match(readFileSync(join(dir, 'host.lock'), 'utf8'), /^free after run=/);
    await settle();
    assert.equal(logins(server.log().slice(before)), 0, server.log().slice(before));
  });

  it('a host key no longer in known_hosts is refused, even with a connection kept to it', async () => {
    const known = readFileSync(join(dir, 'known_hosts'));
    writeFileSync(join(dir, 'known_hosts'), '');
    try {
      const refused = await runCli([...args, '--persist', '30'], { env: env() });
      assert.notEqual(refused.code, 0, refused.stdout);
      assert.match(refused.stdout + refused.stderr, /h0: .*(not in|unknown|no entry|not known)/i);
    } finally {
      writeFileSync(join(dir, 'known_hosts'), known);
    }
  });

  it('a kept connection whose server went away is replaced by a new login', async () => {
    const warm = await runCli([...args, '--persist', '30'], { env: env() });
    assert.equal(warm.code, 0, warm.stdout + warm.stderr);
    const { port } = server;
    await server.stop();
    server = await startSshd({ port, hostKeyPath: join(dir, 'host_key'), clientKeyPath: join(dir, 'client_key'), extraConfig: ['LogLevel DEBUG1'] });
    const again = await runCli([...args, '--persist', '1'], { env: env() });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    await settle();
    assert.equal(logins(server.log()), 1, server.log());
  });

  it('a kept connection that no longer answers (its sshd processes stopped: a host gone without a word) is replaced after the keepalive wait', async () => {
    const warm = await runCli([...args, '--persist', '30'], { env: env() });
    assert.equal(warm.code, 0, warm.stdout + warm.stderr);
    await settle();
    const listener = readFileSync(join(server.dir, 'sshd.pid'), 'utf8').trim();
    const connection = (await run('pgrep', ['-P', listener])).stdout.trim().split('\n');
    const stopped = [...connection, ...(await Promise.all(connection.map((pid) => run('pgrep', ['-P', pid]).then((r) => r.stdout.trim().split('\n'), () => [])))).flat()].filter(Boolean);
    await run('kill', ['-STOP', ...stopped]);
    try {
      const before = server.log().length;
      const again = await runCli([...args, '--persist', '1'], { env: env() });
      assert.equal(again.code, 0, again.stdout + again.stderr);
      await settle();
      assert.equal(logins(server.log().slice(before)), 1, server.log().slice(before));
    } finally {
      await run('kill', ['-CONT', ...stopped]);
    }
  });

  it('the keeper closes its connections after --persist seconds idle, and exits', async () => {
    const run = await runCli([...args, '--persist', '1'], { env: env() });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.ok(existsSync(join(keeperDir, 'keeper.sock')));
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok(!existsSync(join(keeperDir, 'keeper.sock')), 'the keeper is still listening');
    await settle();
    assert.match(server.log().split('Accepted publickey').at(-1)!, /(Disconnected from|Received disconnect from|Connection closed by)/);
  });

  it('refuses a keeper directory others can open, before it connects', async () => {
    const open = join(dir, 'open');
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    const before = server.log().length;
    const refused = await runCli([...args, '--persist', '5'], { env: { BOOTSTRAP_KEEPER_DIR: open } });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout + refused.stderr, /h0: .*keeper's directory .*open must be a directory owned by uid 0 with mode 0700 \(it is mode 777/);
    assert.equal(logins(server.log().slice(before)), 0);
  });
});
