/**
 * A no-op run costs each host one SSH handshake and two channels: the host lock's holder
 * (host/lock.ts, open for the whole run) and one fact batch, in which the facts of every
 * play ride with the host facts. Counted from real sshd's own log (channels it opened, logins it
 * accepted, commands that exited), not from timing: the two channels open together, so the lock
 * costs no round trip of its own; the key is offered with its signature at once. Run through the
 * bin users run (the bundle), whose own copy of ssh2 is the one ssh2-cpu.ts patches.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundledCliPath, runCli } from '../helpers/cli.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

const CHANNEL = /server_input_channel_open: ctype session/g;
const LOGIN = /Accepted publickey for root/g;
const EXITED = /session_exit_message: session \d+ channel/;
const PROVE = /rtype hostkeys-prove-00@openssh.com/g;
const IGNORED = /Received SSH2_MSG_IGNORE/g;
// sshd's answer to a key offered without a signature (asking whether it would be accepted)
const ASKED = /test pkalg/g;
const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;

describe('round trips of a run against real sshd', () => {
  let dir: string;
  let servers: Sshd[];
  let args: string[];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-round-trips-'));
    const first = await startSshd({ extraConfig: ['LogLevel DEBUG3'] });
    servers = [first, await startSshd({ extraConfig: ['LogLevel DEBUG3'], clientKeyPath: first.clientKeyPath })];
    writeFileSync(join(dir, 'known_hosts'), servers.map((s) => readFileSync(s.knownHostsFile, 'utf8')).join(''));
    const play = (name: string, n: number) => `- name: ${name}\n  hosts: all\n  become: false\n  tasks:\n`
      + Array.from({ length: n }, (_, i) => `    - name: ${name} dir ${i}\n      file: { path: "<%= root %>/${name}${i}", state: directory }\n`
        + `    - name: ${name} file ${i}\n      copy: { dest: "<%= root %>/${name}${i}/f", content: "<%= inventory_hostname %>\\n" }\n`
        + `    - name: ${name} guarded ${i}\n      command: { argv: [touch, "<%= root %>/${name}${i}/done"], creates: "<%= root %>/${name}${i}/done" }\n`).join('');
    // a task whose parameters read the host facts still has its facts in the first batch (when the
    // host is what validation presumes: Debian on amd64; this machine's init is not systemd)
    const factsTask = `    - name: by init system\n      copy: { dest: "<%= root %>/<%= facts.os.id %>-<%= facts.arch %>", content: "<%= facts.init %>\\n" }\n`;
    writeFileSync(join(dir, 'site.yml'), `${play('one', 3)}${factsTask}${play('two', 2)}`);
    const hosts = servers.map((s, i) => `        h${i}: { address: 127.0.0.1, port: ${s.port}, vars: { root: ${join(dir, `h${i}`)} } }`).join('\n');
    writeFileSync(join(dir, 'inventory.yaml'), `all:\n  vars:\n    ssh: { user: root, key: ${first.clientKeyPath}, known_hosts: ${join(dir, 'known_hosts')} }\n  children:\n    g:\n      hosts:\n${hosts}\n`);
    args = [join(dir, 'inventory.yaml'), '--playbook', join(dir, 'site.yml')];
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a no-op run of two plays, one task reading the host facts, is one login and two channels per host: the host lock and one fact batch, opened together', async () => {
    const first = await runCli(args, { cli: bundledCliPath });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const logs = servers.map((s) => s.log().length);
    const again = await runCli(args, { cli: bundledCliPath });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /No changes: 2 host/);
    await new Promise((r) => setTimeout(r, 200)); // sshd writes its log as the session ends
    servers.forEach((s, i) => {
      const log = s.log().slice(logs[i]);
      assert.equal(count(log, LOGIN), 1, `h${i}: logins\n${log}`);
      assert.equal(count(log, CHANNEL), 2, `h${i}: channels\n${log}`);
      // the host keys OpenSSH announces after login are not made to be proven (ssh2-cpu.ts dropHostKeysAnnouncements)
      assert.equal(count(log, PROVE), 0, `h${i}: hostkeys-prove requests\n${log}`);
      // and answered with an ignore message, whose ACK frees sshd's next packet at once
      assert.equal(count(log, IGNORED), 1, `h${i}: ignore messages\n${log}`);
      // the key's signature comes with the first offer: no question round trip (ssh.ts signWithoutAsking)
      assert.equal(count(log, ASKED), 0, `h${i}: key offered without a signature first\n${log}`);
      // one round trip: the fact batch's channel opens before any command of the connection exits
      const secondChannel = [...log.matchAll(CHANNEL)][1]!.index!;
      assert.ok(secondChannel < log.search(EXITED), `h${i}: the lock and the fact batch one after the other\n${log}`);
    });
  });
});
