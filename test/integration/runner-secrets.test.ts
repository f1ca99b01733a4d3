import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { events, runCli } from '../helpers/cli.js';

const playbook = new URL('../../../test/fixtures/runner/playbooks/secrets.yml', import.meta.url).pathname;

/** secret() values and sensitive tasks never reach the output, in any mode. */
describe('redaction against real sshd', () => {
  let h: Sshd;
  let dir: string;
  let inventory: string;
  const outputs: string[] = [];
  const token = () => readFileSync(join(dir, '.bootstrap', 'secrets', 'agent_token'), 'utf8').trim();

  function writeInventory(password: string, fail = 'none'): void {
    writeFileSync(
      inventory,
      `all:\n  vars:\n    ssh: { user: root, key: ${h.clientKeyPath}, known_hosts: ${h.knownHostsFile} }\n  children:\n    app:\n      hosts:\n` +
        `        h1: { address: 127.0.0.1, port: ${h.port}, vars: { root: ${join(dir, 'h1')}, db_password: ${password}, fail: ${fail} } }\n`,
    );
  }
  async function run(...args: string[]) {
    const res = await runCli([inventory, '--playbook', playbook, ...args]);
    outputs.push(res.stdout + res.stderr);
    return res;
  }
  const clean = (text: string) => {
    assert.ok(!text.includes(token()), `the token appears in:\n${text}`);
    assert.doesNotMatch(text, /hunter2-[a-z]+/, `the sensitive password appears in:\n${text}`);
  };

  before(async () => {
    h = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-secrets-'));
    mkdirSync(join(dir, 'h1'));
    inventory = join(dir, 'inventory.yaml');
  });
  after(async () => {
    await h?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('text output with --diff -v shows that sensitive content changed, not the token or the password', async () => {
    writeInventory('hunter2-one');
    const res = await run('--diff', '-v');
    assert.equal(res.code, 0, res.stderr + res.stdout);
    assert.equal(readFileSync(join(dir, 'h1', 'agent.conf'), 'utf8'), `token = ${token()}\n`, 'the host got the real token');
    assert.match(res.stdout, /agent\.conf\n\s*\(sensitive content changed\)/);
    assert.match(res.stdout, /db\.conf\n\s*\(sensitive content changed\)/);
    assert.match(res.stdout, /\[redacted\]/, 'the change title of the guarded command');
    clean(res.stdout);
  });

  it('--output json carries diffs only with --diff, and never the secrets', async () => {
    writeInventory('hunter2-two');
    const plain = await run('--output', 'json', '--check');
    assert.equal(plain.code, 0, plain.stderr);
    const changes = events(plain.stdout).filter((e) => e.type === 'task:result').flatMap((e) => e.changes);
    assert.ok(changes.length > 0);
    assert.ok(changes.every((c) => c.diff === undefined), 'no diff without --diff');
    const withDiff = await run('--output', 'json', '--diff');
    const diffs = events(withDiff.stdout).filter((e) => e.type === 'task:result').flatMap((e) => e.changes).map((c) => c.diff);
    assert.deepEqual(diffs.map((d) => d?.hidden), ['secret']);
  });

  it('a failing command that prints the token shows [redacted] instead', async () => {
    writeInventory('hunter2-two', 'secret');
    const res = await run('--output', 'json');
    assert.equal(res.code, 3);
    const failed = events(res.stdout).find((e) => e.status === 'failed')!;
    assert.match(failed.failure.stderrTail, /token \[redacted\] refused/);
    assert.match(failed.failure.message, /\[redacted\]/);
  });

  it('a failing sensitive task shows neither its command nor its output', async () => {
    writeInventory('hunter2-two', 'sensitive');
    const res = await run();
    assert.equal(res.code, 3);
    assert.match(res.stdout, /a command of this sensitive task failed \(exit 5\); its command line and output are not shown/);
  });

  it('no output of any run holds a secret', () => {
    assert.equal(outputs.length, 5);
    for (const text of outputs) clean(text);
  });
});

const registeredPlaybook = new URL('../../../test/fixtures/runner/playbooks/registered-secrets.yml', import.meta.url).pathname;

/** A registered value that holds a secret stays redacted where later tasks put it, in every output mode. */
describe('registered secrets against real sshd', () => {
  let h: Sshd;
  let dir: string;
  let inventory: string;
  const password = 'hunter2-registered';

  before(async () => {
    h = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-registered-'));
    mkdirSync(join(dir, 'h1'));
    inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      `all:\n  vars:\n    ssh: { user: root, key: ${h.clientKeyPath}, known_hosts: ${h.knownHostsFile} }\n  children:\n    app:\n      hosts:\n` +
        `        h1: { address: 127.0.0.1, port: ${h.port}, vars: { root: ${join(dir, 'h1')}, db_password: ${password} } }\n`,
    );
  });
  after(async () => {
    await h?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Neither secret, nor a piece of one (12 characters, as a shortened command line would cut it), is in `text`. */
  function assertClean(text: string): void {
    const token = readFileSync(join(dir, '.bootstrap', 'secrets', 'agent_token'), 'utf8').trim();
    for (const secret of [token, `password ${password}`]) {
      for (let i = 0; i + 12 <= secret.length; i++) {
        const piece = secret.slice(i, i + 12);
        assert.ok(!text.includes(piece), `${JSON.stringify(piece)} of a secret appears in:\n${text}`);
      }
    }
  }

  for (const mode of [[], ['-v'], ['--diff'], ['--diff', '-v'], ['--output', 'json'], ['--output', 'json', '--diff']]) {
    it(`${mode.join(' ') || 'text'}: later tasks' command lines, diffs and failures show [redacted]`, async () => {
      rmSync(join(dir, 'h1', 'copy.conf'), { force: true });
      const res = await runCli([inventory, '--playbook', registeredPlaybook, ...mode]);
      assert.equal(res.code, 0, res.stderr + res.stdout);
      const token = readFileSync(join(dir, '.bootstrap', 'secrets', 'agent_token'), 'utf8').trim();
      assert.equal(readFileSync(join(dir, 'h1', 'copy.conf'), 'utf8'), `token = ${token}\npassword ${password}\n`, 'the host got the real values');
      assert.match(res.stdout, /\[redacted\]/);
      assertClean(res.stdout + res.stderr);
    });
  }
});

/** user's password, a crypted hash, is in no output: not in a title, a command line or JSON, with -v and --diff. */
describe('user password against real sshd', () => {
  let h: Sshd;
  let dir: string;
  const hash = '$6$redactsalt$Zr0q3vC8oJm0c6nZ3m1Kf2lT9d8sQ4yW7xE1uP5aN0bV2hG6jR3tY8iO9pL4kS7dF1gH2jK5lZ8xC3vB6nM0q1';

  before(async () => {
    h = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-user-password-'));
    writeFileSync(
      join(dir, 'inventory.yaml'),
      `all:\n  vars:\n    ssh: { user: root, key: ${h.clientKeyPath}, known_hosts: ${h.knownHostsFile} }\n  children:\n    app:\n      hosts:\n        h1: { address: 127.0.0.1, port: ${h.port}, vars: { lock_file: ${join(dir, 'h1.lock')} } }\n`,
    );
    // a user no machine has: --check plans its creation and runs nothing
    writeFileSync(join(dir, 'user.yml'), `- hosts: app\n  tasks:\n    - name: a user with a password\n      user: { name: bsredact-nobody, password: "${hash}" }\n`);
  });
  after(async () => {
    await h?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const mode of [['--diff', '-v'], ['--output', 'json', '--diff']]) {
    it(`${mode.join(' ')}: the plan says the password is set, never what it is`, async () => {
      const res = await runCli([join(dir, 'inventory.yaml'), '--playbook', join(dir, 'user.yml'), '--check', ...mode]);
      assert.equal(res.code, 0, res.stderr + res.stdout);
      assert.match(res.stdout, /create user bsredact-nobody with its password/);
      for (let i = 0; i + 12 <= hash.length; i++) assert.ok(!(res.stdout + res.stderr).includes(hash.slice(i, i + 12)), `a piece of the hash appears in:\n${res.stdout}`);
    });
  }
});
