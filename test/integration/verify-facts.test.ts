import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { runCli } from '../helpers/cli.js';

/** A login user that is not root, with passwordless sudo (as the README asks), for the length of this file. */
const USER = 'bootstrap-verify';
const SUDOERS = `/etc/sudoers.d/${USER}-test`;
function ensureSudoUser(): void {
  try {
    execFileSync('id', [USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/bin/sh', '--password', '*', USER]);
  }
  writeFileSync(SUDOERS, `${USER} ALL=(root) NOPASSWD: ALL\n`, { mode: 0o440 });
}

/** A value kept as the inventory's secret: it must never be printed. */
const SECRET = '5e3c7a1d-9b2f-4c8e-a6d4-0f1e2d3c4b5a';

type Check = { check: string; host?: string; ok: boolean; detail: string };

/**
 * `verify` and `facts` against real sshd: lb1 is reached as a non-root user that only
 * ~/.ssh/config names (the inventory sets none), web1 as root. Commands that need root on lb1
 * go through sudo because the host's facts say its login user is not root, as in apply.
 */
describe('verify and facts: privileges, --limit, -e, -v and redaction', () => {
  let lb: Sshd;
  let web: Sshd;
  let dir: string;
  let inventory: string;
  let sshConfig: string;
  const cli = (args: string[]) => runCli([...args, '--ssh-config', sshConfig]);

  before(async () => {
    ensureSudoUser();
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-verify-facts-'));
    chmodSync(dir, 0o755);
    lb = await startSshd();
    // web1's tools print the secret (as a failing command might quote a config line holding it)
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const tool of ['service', 'dpkg']) writeFileSync(join(bin, tool), `#!/bin/sh\necho "${SECRET} from ${tool}"\n`, { mode: 0o755 });
    web = await startSshd({ clientKeyPath: lb.clientKeyPath, extraConfig: [`SetEnv PATH=${bin}:/usr/sbin:/usr/bin:/sbin:/bin`] });
    // sshd reads authorized_keys as the logging-in user
    chmodSync(lb.dir, 0o755);
    chmodSync(join(lb.dir, 'authorized_keys'), 0o644);
    const known = join(dir, 'known_hosts');
    writeFileSync(known, readFileSync(lb.knownHostsFile, 'utf8') + readFileSync(web.knownHostsFile, 'utf8'));
    sshConfig = join(dir, 'ssh_config');
    writeFileSync(
      sshConfig,
      [
        ...['Host verify-lb', '  HostName 127.0.0.1', `  Port ${lb.port}`, `  User ${USER}`, `  IdentityFile ${lb.clientKeyPath}`],
        ...['Host verify-web', '  HostName 127.0.0.1', `  Port ${web.port}`, '  User root', `  IdentityFile ${lb.clientKeyPath}`],
        '',
      ].join('\n'),
    );
    inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      `all:\n  vars:\n    ssh: { known_hosts: ${known} }\n  children:\n    lb:\n      hosts:\n        lb1: { address: verify-lb }\n    web:\n      hosts:\n        web1: { address: verify-web }\n`,
    );
    mkdirSync(join(dir, '.bootstrap', 'secrets'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, '.bootstrap', 'secrets', 'consul_management_token'), `${SECRET}\n`, { mode: 0o600 });
  });
  after(async () => {
    rmSync(SUDOERS, { force: true });
    await Promise.all([lb?.stop(), web?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const checks = (stdout: string): Check[] => JSON.parse(stdout);
  const find = (list: Check[], check: string, host: string) => list.find((c) => c.check === check && c.host === host);

  it('runs root-only checks through sudo for a login user from ~/.ssh/config, and says so with -v', async () => {
    const r = await cli(['verify', inventory, '--output', 'json', '-v', '--requests', '1']);
    assert.equal(r.code, 5, r.stderr); // no consul here: verification fails, but each check ran
    const list = checks(r.stdout);
    assert.match(find(list, 'connect', 'lb1')?.detail ?? '', new RegExp(`^as ${USER} \\(not root: what needs root runs through sudo -n\\); connected in \\d+ ms, facts in \\d+ ms$`));
    assert.match(find(list, 'connect', 'web1')?.detail ?? '', /^as root; connected/);
    // nginx -t needs root (it opens /run/nginx.pid): it passes only through sudo
    assert.deepEqual(find(list, 'nginx -t', 'lb1'), { check: 'nginx -t', host: 'lb1', ok: true, detail: 'configuration valid' });
  });

  it('--limit checks only the matching hosts', async () => {
    const r = await cli(['verify', inventory, '--limit', 'web1', '--output', 'json', '--forks', '1']);
    assert.equal(r.code, 5, r.stderr);
    const list = checks(r.stdout);
    assert.ok(list.some((c) => c.check === 'service docker' && c.host === 'web1'), r.stdout);
    // lb1 is the consul server the membership is read on, nothing of it is checked
    assert.deepEqual(list.filter((c) => c.host === 'lb1' && c.check !== 'consul members').map((c) => c.check), []);
    assert.equal(find(list, 'consul raft', 'lb1'), undefined);
  });

  it('-e reaches verify: load_balancer=haproxy checks haproxy instead of nginx', async () => {
    const r = await cli(['verify', inventory, '--limit', 'lb1', '-e', 'load_balancer=haproxy', '--output', 'json']);
    const list = checks(r.stdout);
    assert.ok(find(list, 'haproxy -c', 'lb1'), r.stdout);
    assert.equal(find(list, 'nginx -t', 'lb1'), undefined);
    assert.ok(find(list, 'service haproxy', 'lb1'));
  });

  it('-e reaches facts, over every other source: ssh.user wins over ~/.ssh/config', async () => {
    const plain = await cli(['facts', inventory, '--limit', 'lb1', '--output', 'json']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(JSON.parse(plain.stdout).lb1.user, USER);
    assert.equal(JSON.parse(plain.stdout).lb1.isRoot, false);
    const root = await cli(['facts', inventory, '--limit', 'lb1', '--output', 'json', '-e', '{"ssh":{"user":"root"}}', '-v']);
    assert.equal(root.code, 0, root.stderr);
    assert.equal(JSON.parse(root.stdout).lb1.isRoot, true);
    assert.match(root.stderr, /^lb1: as root; connected in \d+ ms, facts in \d+ ms$/m);
  });

  it('never prints a kept secret: facts and verify, text and JSON', async () => {
    const outputs = await Promise.all([
      cli(['facts', inventory, '--limit', 'web1']),
      cli(['facts', inventory, '--limit', 'web1', '--output', 'json', '-v']),
      cli(['verify', inventory, '--limit', 'web1', '-v']),
      cli(['verify', inventory, '--limit', 'web1', '--output', 'json']),
    ]);
    for (const r of outputs) {
      const all = r.stdout + r.stderr;
      assert.ok(!all.includes(SECRET), `the secret is printed:\n${all}`);
      assert.match(all, /\[redacted\] from (dpkg|service)/, 'the output where the secret was');
    }
  });
});
