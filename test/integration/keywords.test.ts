/**
 * The Ansible keywords against real sshd: one playbook per case (input), the events it must
 * produce and the recap. Two hosts on loopback, each working under its own temp `root`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startSshd } from '../helpers/sshd.js';
import { events, runCli } from '../helpers/cli.js';

type Sshd = Awaited<ReturnType<typeof startSshd>>;
type Event = Record<string, any>;

interface Case {
  name: string;
  playbook: string;
  args?: string[];
  /** files written before the run, relative to the test dir */
  files?: Record<string, string>;
  code: number;
  /** [host, task, status] of every task:result, in order per host */
  results?: Record<string, Array<[string, string]>>;
  recap?: Record<string, Partial<Record<'ok' | 'changed' | 'failed' | 'skipped' | 'ignored' | 'rescued', number>> & { unreachable?: boolean }>;
  check?: (ctx: { evs: Event[]; root: (h: string) => string; stdout: string; logins: (sshd: 'h1' | 'h2' | 'h3') => number }) => void;
}

const resultOf = (evs: Event[], host: string, task: string) => evs.find((e) => e.type === 'task:result' && e.host === host && e.task === task)!;

const play = (tasks: string, extra = '') => `- name: p\n  hosts: app\n  become: false\n${extra}  tasks:\n${tasks}`;

const cases: Case[] = [
  {
    name: 'register exposes rc, stdout, stdout_lines and stderr; changed_when: false makes a read ok; failed_when decides failure',
    playbook: play(`    - name: read
      command: { argv: [sh, -c, "echo hello; echo second; echo warn >&2; exit 3"] }
      register: out
      changed_when: false
      failed_when: "out.rc !== 3"
    - name: use it
      copy: { dest: "<%= root %>/out.txt", content: "<%= out.stdout_lines[1] %> rc=<%= out.rc %> err=<%= out.stderr.trim() %> changed=<%= out.changed %>\\n" }
`),
    code: 0,
    results: { h1: [['read', 'ok'], ['use it', 'changed']] },
    recap: { h1: { ok: 1, changed: 1, failed: 0 } },
    check: ({ root }) => assert.equal(readFileSync(join(root('h1'), 'out.txt'), 'utf8'), 'second rc=3 err=warn changed=false\n'),
  },
  {
    name: 'a loop registers one result per item in results[]',
    playbook: play(`    - name: per item
      command: { argv: [echo, "<%= item %>"] }
      loop: [a, b]
      register: out
      changed_when: false
    - name: joined
      copy: { dest: "<%= root %>/items.txt", content: "<%= out.results.map((r) => r.item + '=' + r.stdout.trim()).join(',') %>\\n" }
`),
    code: 0,
    check: ({ root }) => assert.equal(readFileSync(join(root('h1'), 'items.txt'), 'utf8'), 'a=a,b=b\n'),
  },
  {
    name: 'ignore_errors: the failure is shown and counted ignored; the host carries on',
    playbook: play(`    - name: fails
      shell: { cmd: "echo nope >&2; exit 4" }
      ignore_errors: true
    - name: still runs
      command: { argv: ["true"] }
      changed_when: false
`),
    code: 0,
    results: { h1: [['fails', 'failed'], ['still runs', 'ok']] },
    recap: { h1: { ok: 1, failed: 0, ignored: 1 } },
    check: ({ evs, stdout }) => {
      assert.equal(evs.find((e) => e.type === 'task:result' && e.task === 'fails')!.ignored, true);
      assert.equal(evs.find((e) => e.type === 'task:result' && e.task === 'fails')!.failure.exitCode, 4);
      void stdout;
    },
  },
  {
    name: 'ignore_errors does not ignore a host that becomes unreachable (as Ansible)',
    // the command runs under GNU timeout (the command timeout), so the sshd session is its parent's parent
    playbook: play(`    - name: drops the connection
      shell: { cmd: "kill -9 $(ps -o ppid= -p $PPID)" }
      ignore_errors: true
      when: "inventory_hostname === 'h2'"
    - name: after
      command: { argv: ["true"] }
      changed_when: false
`),
    code: 4,
    recap: { h1: { ok: 1, failed: 0 }, h2: { ignored: 0, unreachable: true } },
    check: ({ evs }) => assert.equal(evs.some((e) => e.type === 'task:result' && e.host === 'h2' && e.task === 'after'), false),
  },
  {
    name: 'until with retries: 0 runs the task once and fails when the condition is false',
    playbook: play(`    - name: wait for a file
      command: { argv: [test, -e, "<%= root %>/never"] }
      register: probe
      until: "probe.rc === 0"
      retries: 0
      delay: 0
      changed_when: false
      failed_when: false
`),
    code: 3,
    results: { h1: [['wait for a file', 'failed']] },
    check: ({ evs }) => {
      assert.equal(evs.filter((e) => e.type === 'task:retry').length, 0);
      assert.match(evs.find((e) => e.type === 'task:result' && e.host === 'h1')!.failure.message, /until "probe.rc === 0" still false after 1 attempt\(s\)/);
    },
  },
  {
    name: 'until re-runs until the condition holds, shows each retry and keeps the last result',
    playbook: play(`    - name: count to three
      shell: { cmd: "n=$(cat <%= root %>/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > <%= root %>/n; echo $n" }
      register: count
      until: "count.stdout.trim() === '3'"
      retries: 5
      delay: 0
    - name: last result
      copy: { dest: "<%= root %>/count.txt", content: "<%= count.stdout.trim() %>\\n" }
`),
    code: 0,
    results: { h1: [['count to three', 'changed'], ['last result', 'changed']] },
    check: ({ evs, root }) => {
      assert.deepEqual(evs.filter((e) => e.type === 'task:retry' && e.host === 'h1').map((e) => [e.attempt, e.of]), [[1, 6], [2, 6]]);
      assert.equal(readFileSync(join(root('h1'), 'count.txt'), 'utf8'), '3\n');
    },
  },
  {
    name: 'block/rescue/always: a rescued failure counts as rescued, always runs, the play goes on',
    playbook: play(`    - name: guarded
      block:
        - name: breaks
          shell: { cmd: "exit 2" }
        - name: never reached
          copy: { dest: "<%= root %>/unreached", content: "x\\n" }
      rescue:
        - name: repair
          copy: { dest: "<%= root %>/repaired", content: "x\\n" }
      always:
        - name: cleanup
          copy: { dest: "<%= root %>/cleaned", content: "x\\n" }
    - name: after the block
      command: { argv: ["true"] }
      changed_when: false
`),
    code: 0,
    results: { h1: [['breaks', 'failed'], ['repair', 'changed'], ['cleanup', 'changed'], ['after the block', 'ok']] },
    recap: { h1: { failed: 0, rescued: 1, changed: 2, ok: 1 } },
    check: ({ root }) => assert.equal(existsSync(join(root('h1'), 'unreached')), false),
  },
  {
    name: 'a rescue that fails: always still runs, then the host fails and goes no further',
    playbook: play(`    - block:
        - name: breaks
          shell: { cmd: "exit 2" }
      rescue:
        - name: repair fails too
          shell: { cmd: "exit 5" }
      always:
        - name: cleanup
          copy: { dest: "<%= root %>/cleaned", content: "x\\n" }
    - name: after the block
      command: { argv: ["true"] }
`),
    code: 3,
    results: { h1: [['breaks', 'failed'], ['repair fails too', 'failed'], ['cleanup', 'changed']] },
    recap: { h1: { failed: 1, rescued: 1 } },
  },
  {
    name: 'a block passes when, tags and notify to its tasks',
    playbook: `- name: p
  hosts: app
  become: false
  handlers:
    - name: note
      copy: { dest: "<%= root %>/noted", content: "x\\n" }
  tasks:
    - block:
        - name: only on h1
          copy: { dest: "<%= root %>/h1-only", content: "x\\n" }
      when: "inventory_hostname === 'h1'"
      tags: [chosen]
      notify: note
    - name: untagged
      copy: { dest: "<%= root %>/untagged", content: "x\\n" }
`,
    args: ['--tags', 'chosen'],
    code: 0,
    results: { h1: [['only on h1', 'changed'], ['note', 'changed']], h2: [['only on h1', 'skipped']] },
    check: ({ root }) => {
      assert.equal(existsSync(join(root('h1'), 'untagged')), false);
      assert.equal(existsSync(join(root('h2'), 'h1-only')), false);
    },
  },
  {
    name: 'run_once runs on the first host and shares its registered result',
    playbook: play(`    - name: once
      command: { argv: [echo, "<%= inventory_hostname %>"] }
      run_once: true
      register: who
      changed_when: false
    - name: everyone sees it
      copy: { dest: "<%= root %>/who.txt", content: "<%= who.stdout.trim() %>\\n" }
`),
    code: 0,
    results: { h1: [['once', 'ok'], ['everyone sees it', 'changed']], h2: [['everyone sees it', 'changed']] },
    check: ({ root }) => {
      assert.equal(readFileSync(join(root('h1'), 'who.txt'), 'utf8'), 'h1\n');
      assert.equal(readFileSync(join(root('h2'), 'who.txt'), 'utf8'), 'h1\n');
    },
  },
  {
    name: 'run_once with serial: 1 runs once per batch (the first host of each batch)',
    playbook: play(`    - name: once per batch
      command: { argv: [echo, "<%= inventory_hostname %>"] }
      run_once: true
      register: who
      changed_when: false
    - name: record
      copy: { dest: "<%= root %>/who.txt", content: "<%= who.stdout.trim() %>\\n" }
`, '  serial: 1\n'),
    code: 0,
    results: { h1: [['once per batch', 'ok'], ['record', 'changed']], h2: [['once per batch', 'ok'], ['record', 'changed']] },
    check: ({ root }) => assert.equal(readFileSync(join(root('h2'), 'who.txt'), 'utf8'), 'h2\n'),
  },
  {
    name: 'run_once under a --limit that leaves out the first host runs on the first host the limit keeps (as the ACL steps rely on)',
    playbook: play(`    - name: once
      command: { argv: [sh, -c, 'echo $SSHD_NAME'] }
      run_once: true
      register: who
      changed_when: false
    - name: record
      copy: { dest: "<%= root %>/who.txt", content: "<%= who.stdout.trim() %>\\n" }
`),
    args: ['--limit', 'h2'],
    code: 0,
    results: { h2: [['once', 'ok'], ['record', 'changed']] },
    check: ({ root }) => assert.equal(readFileSync(join(root('h2'), 'who.txt'), 'utf8'), 'h2\n'),
  },
  {
    name: 'a play whose hosts --limit leaves out is skipped with the reason (a --limit without a consul server and the ACL play)',
    playbook: `${play(`    - name: on h1
      command: { argv: ["true"] }
      changed_when: false
`)}- name: only h2
  hosts: h2
  become: false
  tasks:
    - name: never here
      command: { argv: ["true"] }
`,
    args: ['--limit', 'h1'],
    code: 0,
    results: { h1: [['on h1', 'ok']] },
    check: ({ evs }) => assert.deepEqual(evs.filter((e) => e.type === 'play:skipped').map((e) => [e.play, e.reason]), [['only h2', 'no host of "h2" is in --limit "h1"']]),
  },
  {
    name: 'listen: one notification runs every handler listening; meta: flush_handlers runs them at that point',
    playbook: `- name: p
  hosts: app
  become: false
  handlers:
    - name: first
      listen: config changed
      shell: { cmd: "echo first >> <%= root %>/handlers" }
    - name: second
      listen: config changed
      shell: { cmd: "echo second >> <%= root %>/handlers" }
  tasks:
    - name: config
      copy: { dest: "<%= root %>/config", content: "x\\n" }
      notify: config changed
    - meta: flush_handlers
    - name: handlers already ran
      command: { argv: [grep, -q, second, "<%= root %>/handlers"] }
      changed_when: false
`,
    code: 0,
    results: { h1: [['config', 'changed'], ['first', 'changed'], ['second', 'changed'], ['handlers already ran', 'ok']] },
    check: ({ root }) => assert.equal(readFileSync(join(root('h1'), 'handlers'), 'utf8'), 'first\nsecond\n'),
  },
  {
    name: 'check mode: a task that reads a registered value check mode did not produce would run',
    playbook: play(`    - name: probe
      command: { argv: [cat, "<%= root %>/missing"] }
      register: probe
    - name: depends
      copy: { dest: "<%= root %>/dep", content: "<%= probe.stdout %>" }
    - name: independent
      copy: { dest: "<%= root %>/indep", content: "x\\n" }
`),
    args: ['--check'],
    code: 0,
    results: { h1: [['probe', 'changed'], ['depends', 'changed'], ['independent', 'changed']] },
    check: ({ evs, stdout, root }) => {
      const dep = evs.find((e) => e.type === 'task:result' && e.host === 'h1' && e.task === 'depends')!;
      assert.equal(dep.dependsOn, 'probe');
      assert.deepEqual(dep.changes.map((c: { title: string }) => c.title), ['would run; depends on "probe"']);
      assert.equal(existsSync(join(root('h1'), 'dep')), false);
      void stdout;
    },
  },
  {
    name: 'a loop goes on past a failed item: every item runs, .results[] has each, the task fails at the end',
    playbook: play(`    - name: per item
      shell: { cmd: "echo <%= item %> >> <%= root %>/ran; [ <%= item %> != b ]" }
      loop: [a, b, c]
      register: out
      ignore_errors: true
    - name: results
      copy: { dest: "<%= root %>/results.txt", content: "<%= out.failed %> <%= out.results.map((r) => r.item + ':' + r.failed + ':' + r.rc).join(',') %>\\n" }
    - name: fails on x, y still runs
      shell: { cmd: "echo <%= item %> >> <%= root %>/ran2; [ <%= item %> != x ]" }
      loop: [x, y]
    - name: not reached
      copy: { dest: "<%= root %>/unreached", content: "x\\n" }
`),
    args: ['--limit', 'h1'],
    code: 3,
    results: { h1: [['per item', 'failed'], ['results', 'changed'], ['fails on x, y still runs', 'failed']] },
    recap: { h1: { ignored: 1, failed: 1, changed: 1 } },
    check: ({ evs, root }) => {
      assert.equal(readFileSync(join(root('h1'), 'ran'), 'utf8'), 'a\nb\nc\n');
      assert.equal(readFileSync(join(root('h1'), 'results.txt'), 'utf8'), 'true a:false:0,b:true:1,c:false:0\n');
      assert.equal(readFileSync(join(root('h1'), 'ran2'), 'utf8'), 'x\ny\n');
      assert.equal(existsSync(join(root('h1'), 'unreached')), false);
      const failure = resultOf(evs, 'h1', 'per item').failure;
      assert.match(failure.message, /^1 of 3 item\(s\) failed \(\[b\]\); \[b\] h1: .* exited 1/);
      assert.equal(failure.exitCode, 1);
    },
  },
  {
    name: "delegate_to a host of the play runs over that host's connection, with the delegating host's vars; the result is the delegating host's",
    playbook: play(`    - name: where
      command: { argv: [sh, -c, 'echo "$SSHD_NAME <%= root %>"'] }
      delegate_to: "<%= inventory_hostname === 'h1' ? 'h2' : 'h1' %>"
      register: where
      changed_when: false
    - name: record
      copy: { dest: "<%= root %>/where.txt", content: "<%= where.stdout %>" }
`),
    code: 0,
    results: { h1: [['where', 'ok'], ['record', 'changed']], h2: [['where', 'ok'], ['record', 'changed']] },
    recap: { h1: { ok: 1, changed: 1 }, h2: { ok: 1, changed: 1 } },
    check: ({ evs, root, logins }) => {
      assert.equal(readFileSync(join(root('h1'), 'where.txt'), 'utf8'), `h2 ${root('h1')}`);
      assert.equal(readFileSync(join(root('h2'), 'where.txt'), 'utf8'), `h1 ${root('h2')}`);
      assert.equal(resultOf(evs, 'h1', 'where').delegatedTo, 'h2');
      assert.equal(resultOf(evs, 'h2', 'where').delegatedTo, 'h1');
      assert.deepEqual([logins('h1'), logins('h2')], [1, 1], 'one connection per host');
    },
  },
  {
    name: 'delegate_to in a loop is rendered per item, as in Ansible: each item runs on its own delegate',
    playbook: play(`    - name: visit
      command: { argv: [sh, -c, 'echo "$SSHD_NAME" >> <%= root %>/visited'] }
      delegate_to: "<%= item %>"
      loop: "['h2', 'h3']"
      when: "inventory_hostname === 'h1'"
`),
    code: 0,
    results: { h1: [['visit', 'changed']], h2: [['visit', 'skipped']] },
    recap: { h1: { changed: 1 }, h2: { skipped: 1 } },
    check: ({ evs, root }) => {
      assert.equal(readFileSync(join(root('h1'), 'visited'), 'utf8'), 'h2\nh3\n');
      assert.equal(resultOf(evs, 'h1', 'visit').delegatedTo, 'h2, h3');
    },
  },
  {
    name: 'delegate_to a host outside --limit and one outside the play: each is connected once, on first use, and is not in the recap',
    playbook: play(`    - name: on h2 (outside --limit)
      command: { argv: [sh, -c, 'echo $SSHD_NAME'] }
      delegate_to: h2
      register: a
      changed_when: false
    - name: on h3 (outside the play), per item
      command: { argv: [sh, -c, 'echo $SSHD_NAME <%= item %>'] }
      delegate_to: h3
      loop: [one, two]
      register: b
      changed_when: false
    - name: a file on h3
      copy: { dest: "<%= root %>/from-h3", content: "<%= a.stdout.trim() %> <%= b.results.map((r) => r.stdout.trim()).join(',') %>\\n" }
      delegate_to: h3
`),
    args: ['--limit', 'h1'],
    code: 0,
    results: { h1: [['on h2 (outside --limit)', 'ok'], ['on h3 (outside the play), per item', 'ok'], ['a file on h3', 'changed']] },
    recap: { h1: { ok: 2, changed: 1 } },
    check: ({ evs, root, logins }) => {
      assert.equal(readFileSync(join(root('h1'), 'from-h3'), 'utf8'), 'h2 h3 one,h3 two\n');
      assert.deepEqual(Object.keys(evs.find((e) => e.type === 'run:end')!.recap), ['h1']);
      assert.deepEqual([logins('h1'), logins('h2'), logins('h3')], [1, 1, 1]);
    },
  },
  {
    name: "delegate_to an unreachable host fails the delegating host's task only",
    playbook: play(`    - name: on the gone host
      command: { argv: ["true"] }
      delegate_to: gone
      when: "inventory_hostname === 'h1'"
    - name: after
      command: { argv: ["true"] }
      changed_when: false
`),
    code: 3,
    results: { h1: [['on the gone host', 'failed']], h2: [['on the gone host', 'skipped'], ['after', 'ok']] },
    recap: { h1: { failed: 1, unreachable: false }, h2: { ok: 1, failed: 0, unreachable: false } },
    check: ({ evs }) => {
      const failed = resultOf(evs, 'h1', 'on the gone host');
      assert.equal(failed.delegatedTo, 'gone');
      assert.match(failed.failure.message, /^delegate_to gone: gone: /);
      assert.equal(evs.some((e) => e.type === 'host:unreachable'), false);
    },
  },
  {
    name: '-e wins over inventory and vars_files; --skip-tags and --start-at-task leave tasks out',
    playbook: `- name: p
  hosts: app
  become: false
  vars_files: [vars.yml]
  tasks:
    - name: skipped by start
      copy: { dest: "<%= root %>/early", content: "x\\n" }
    - name: start here
      copy: { dest: "<%= root %>/greeting", content: "<%= greeting %> <%= from_file %>\\n" }
    - name: skipped by tag
      copy: { dest: "<%= root %>/tagged", content: "x\\n" }
      tags: [slow]
`,
    files: { 'vars.yml': 'from_file: vf\ngreeting: from-vars-file\n' },
    args: ['-e', 'greeting=from-e', '--skip-tags', 'slow', '--start-at-task', 'start here', '--limit', 'h1'],
    code: 0,
    results: { h1: [['start here', 'changed']] },
    check: ({ root }) => assert.equal(readFileSync(join(root('h1'), 'greeting'), 'utf8'), 'from-e vf\n'),
  },
];

describe('playbook keywords against real sshd', () => {
  let h1: Sshd;
  let h2: Sshd;
  /** in the inventory, in no play: only reached through delegate_to */
  let h3: Sshd;
  /** a port nothing listens on: the inventory's unreachable host */
  let gonePort: number;
  let dir: string;
  before(async () => {
    // each sshd names itself to the commands it runs, so a test can tell which connection ran one
    h1 = await startSshd({ extraConfig: ['SetEnv SSHD_NAME=h1'] });
    h2 = await startSshd({ clientKeyPath: h1.clientKeyPath, extraConfig: ['SetEnv SSHD_NAME=h2'] });
    h3 = await startSshd({ clientKeyPath: h1.clientKeyPath, extraConfig: ['SetEnv SSHD_NAME=h3'] });
    gonePort = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-keywords-'));
    writeFileSync(join(dir, 'known_hosts'), [h1, h2, h3].map((h) => readFileSync(h.knownHostsFile, 'utf8')).join(''));
  });
  after(async () => {
    await h1?.stop();
    await h2?.stop();
    await h3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  cases.forEach((c, i) => {
    it(c.name, async () => {
      const caseDir = join(dir, `case${i}`);
      const root = (h: string) => join(caseDir, h);
      mkdirSync(root('h1'), { recursive: true });
      mkdirSync(root('h2'), { recursive: true });
      for (const [name, text] of Object.entries(c.files ?? {})) writeFileSync(join(caseDir, name), text);
      writeFileSync(join(caseDir, 'site.yml'), c.playbook);
      writeFileSync(
        join(caseDir, 'inventory.yaml'),
        `all:
  vars:
    ssh: { user: root, key: ${h1.clientKeyPath}, known_hosts: ${join(dir, 'known_hosts')} }
    greeting: from-inventory
  children:
    app:
      hosts:
        h1: { address: 127.0.0.1, port: ${h1.port}, vars: { root: ${root('h1')} } }
        h2: { address: 127.0.0.1, port: ${h2.port}, vars: { root: ${root('h2')} } }
    other:
      hosts:
        h3: { address: 127.0.0.1, port: ${h3.port}, vars: { root: ${root('h3')} } }
        gone: { address: 127.0.0.1, port: ${gonePort} }
`,
      );
      const logStart = { h1: h1.log().length, h2: h2.log().length, h3: h3.log().length };
      const servers = { h1, h2, h3 };
      const logins = (name: 'h1' | 'h2' | 'h3') => (servers[name].log().slice(logStart[name]).match(/Accepted publickey for root/g) ?? []).length;
      const res = await runCli([join(caseDir, 'inventory.yaml'), '--playbook', join(caseDir, 'site.yml'), '--output', 'json', ...(c.args ?? [])]);
      const evs = events(res.stdout);
      const detail = `${res.stderr}\n${res.stdout}`;
      assert.equal(res.code, c.code, detail);
      for (const [host, expected] of Object.entries(c.results ?? {})) {
        const got = evs.filter((e) => e.type === 'task:result' && e.host === host).map((e) => [e.task, e.status]);
        assert.deepEqual(got, expected, `${host}: ${detail}`);
      }
      const recap = evs.find((e) => e.type === 'run:end')?.recap ?? {};
      for (const [host, expected] of Object.entries(c.recap ?? {})) {
        for (const [key, value] of Object.entries(expected)) assert.equal(recap[host]?.[key], value, `${host}.${key}: ${JSON.stringify(recap[host])}`);
      }
      c.check?.({ evs, root, stdout: res.stdout, logins });
    });
  });

  it('--list-hosts and --list-tasks print without contacting a host; offline errors name file:line:col', async () => {
    const caseDir = join(dir, 'listing');
    mkdirSync(caseDir, { recursive: true });
    writeFileSync(join(caseDir, 'site.yml'), play(`    - name: one\n      command: { argv: ["true"] }\n      tags: [t1]\n    - name: two\n      command: { argv: ["true"] }\n      when: "later.rc === 0"\n    - name: three\n      command: { argv: ["true"] }\n      register: later\n`));
    writeFileSync(join(caseDir, 'inventory.yaml'), `all:\n  children:\n    app:\n      hosts:\n        h1: { address: 127.0.0.1, port: ${h1.port} }\n`);
    const before = h1.log().length;
    const bad = await runCli([join(caseDir, 'inventory.yaml'), '--playbook', join(caseDir, 'site.yml'), '--list-tasks']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /site\.yml:10:13 plays\.0\.tasks\.1\.when: `later` is used before it is registered/);
    writeFileSync(join(caseDir, 'site.yml'), play(`    - name: one\n      command: { argv: ["true"] }\n      tags: [t1]\n    - name: two\n      command: { argv: ["true"] }\n`));
    const tasks = await runCli([join(caseDir, 'inventory.yaml'), '--playbook', join(caseDir, 'site.yml'), '--list-tasks', '--list-hosts', '--skip-tags', 't1']);
    assert.equal(tasks.code, 0, tasks.stderr);
    assert.equal(tasks.stdout, 'play "p"\n  hosts (1): h1\n  tasks (1):\n    two\n');
    assert.equal(h1.log().length, before, 'sshd saw no connection');
  });
});
