import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { events, startCli, type CliResult } from '../helpers/cli.js';
import { until } from '../helpers/until.js';

const fixtures = new URL('../../../test/fixtures/runner/playbooks/', import.meta.url).pathname;

/** A local user with a POSIX shell, no password and no sudo rights: `sudo -n` asks it for a password. */
const NO_SUDO_USER = 'bootstrap-nopw';
function ensureUser(name: string): void {
  try {
    execFileSync('id', [name], { stdio: 'ignore' });
  } catch {
    // '*' keeps the account usable for key logins (sshd refuses locked '!' accounts without PAM)
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/bin/sh', '--password', '*', name]);
  }
}

/**
 * One run over five real sshd hosts: a healthy one, and four that break during fact gathering
 * (sudo wants a password, a stat whose output does not parse, a connection dropped between
 * plays, a login shell that refuses commands). The healthy host must finish both plays. Each host
 * has a lock_file of its own: the hosts behave as five machines, and the dropped one's lock holder
 * ends only what ran under its own lock.
 */
describe('one host failing while facts are gathered does not stop the others', () => {
  const servers: Sshd[] = [];
  let dir: string;
  let res: CliResult;
  const root = (h: string) => join(dir, h);

  before(async () => {
    ensureUser(NO_SUDO_USER);
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-failures-'));
    chmodSync(dir, 0o755);
    // a host whose stat ends its fields with newlines instead of the NULs the file fact asks for
    const badBin = join(dir, 'odd-stat-bin');
    mkdirSync(badBin);
    writeFileSync(join(badBin, 'stat'), '#!/bin/sh\n/usr/bin/stat "$@" | tr "\\\\0" "\\\\n"\n', { mode: 0o755 });
    const ok = await startSshd();
    const shared = { clientKeyPath: ok.clientKeyPath };
    const nosudo = await startSshd(shared);
    const badStat = await startSshd({ ...shared, extraConfig: [`SetEnv PATH=${badBin}:/usr/sbin:/usr/bin:/sbin:/bin`] });
    const drop = await startSshd(shared);
    const nologin = await startSshd(shared);
    servers.push(ok, nosudo, badStat, drop, nologin);
    // sshd reads authorized_keys as the logging-in user
    for (const s of [nosudo, nologin]) {
      chmodSync(s.dir, 0o755);
      chmodSync(join(s.dir, 'authorized_keys'), 0o644);
    }
    const known = join(dir, 'known_hosts');
    writeFileSync(known, servers.map((s) => readFileSync(s.knownHostsFile, 'utf8')).join(''));
    const dropPid = readFileSync(join(drop.dir, 'sshd.pid'), 'utf8').trim();
    const go = join(dir, 'go');
    const host = (name: string, s: Sshd, extra = '', vars = '') =>
      `        ${name}: { address: 127.0.0.1, port: ${s.port}${extra}, vars: { root: ${root(name)}, lock_file: ${join(dir, `${name}.lock`)}${vars} } }\n`;
    const inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      `all:\n  vars:\n    ssh: { user: root, key: ${ok.clientKeyPath}, known_hosts: ${known} }\n  children:\n    app:\n      hosts:\n` +
        host('ok', ok, '', `, go: ${go}`) +
        host('nosudo', nosudo, `, user: ${NO_SUDO_USER}`) +
        host('badstat', badStat) +
        host('drop', drop) +
        host('nologin', nologin, ', user: nobody'),
    );
    const cli = startCli([inventory, '--playbook', join(fixtures, 'failures.yml'), '--output', 'json']);
    // drop is done with the first play (its last task has a result) while ok still works in it:
    // cut drop's connection (sshd's per-connection processes), then let ok end the play
    const lastOfFirst = 'hold the play open until the test has cut drop\'s connection';
    await until("drop's end of the first play", () => cli.output().split('\n').some((l) => l.includes('"type":"task:result"') && l.includes('"host":"drop"') && l.includes(lastOfFirst)), 60_000);
    execFileSync('pkill', ['-KILL', '-P', dropPid]);
    writeFileSync(go, '');
    res = await cli.done;
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const all = () => events(res.stdout);
  const failureOf = (host: string) => all().find((e) => e.type === 'task:result' && e.host === host && e.status === 'failed');
  const unreachable = (host: string) => all().find((e) => e.type === 'host:unreachable' && e.host === host);

  it('prints the recap and exits 4 (a host was unreachable)', () => {
    const end = all().find((e) => e.type === 'run:end');
    assert.ok(end, `no recap; exit ${res.code}: ${res.stderr}`);
    assert.equal(res.code, 4, res.stderr);
    assert.deepEqual(Object.keys(end.recap).sort(), ['badstat', 'drop', 'nologin', 'nosudo', 'ok']);
  });

  it('the healthy host finishes both plays', () => {
    assert.equal(readFileSync(join(root('ok'), 'second'), 'utf8'), 'second\n');
    assert.equal(all().find((e) => e.type === 'run:end')!.recap.ok.failed, 0);
  });

  it('sudo asking for a password fails that host, saying it needs passwordless sudo', () => {
    const failed = failureOf('nosudo');
    assert.ok(failed, res.stdout);
    assert.equal(failed.task, 'gather facts');
    assert.match(failed.failure.message, /sudo .*password/);
    assert.match(failed.failure.message, /NOPASSWD/);
  });

  it('fact output that does not parse fails that host, naming the fact', () => {
    const failed = failureOf('badstat');
    assert.ok(failed, res.stdout);
    assert.match(failed.failure.message, /^fact file:\/tmp\b.*: file facts: unexpected record/);
    assert.equal(existsSync(join(root('badstat'), 'second')), false);
  });

  it('a connection dropped between two plays makes that host unreachable after the first', () => {
    assert.equal(readFileSync(join(root('drop'), 'first'), 'utf8'), 'first\n');
    assert.equal(existsSync(join(root('drop'), 'second')), false);
    assert.match(unreachable('drop')?.message ?? '', /^drop: connection .*(closed|lost|failed)/);
  });

  it('a login shell that refuses commands is reported as such, with what to do', () => {
    const message = unreachable('nologin')?.message ?? '';
    assert.match(message, /login shell of nobody refuses to run commands/);
    assert.match(message, /This account is currently not available/);
  });
});
