/**
 * The oracle's cases (test/integration/ansible-oracle.test.ts): one playbook intent each, written
 * for ansible-playbook; bootstrap runs its translation (translate.ts), which changes only what the
 * docs/playbooks.md's "Coming from Ansible" table says differs: Jinja becomes EJS (`{{ x }}` -> `<%= x %>`) or
 * a JavaScript expression (`when`, `failed_when`, ...); a case's `js` translates the Jinja that is
 * not JavaScript. Hosts h1, h2, h3 form the group `app`; each has a `root` directory to write in.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const HOSTS = ['h1', 'h2', 'h3'] as const;
export type Host = (typeof HOSTS)[number];

/** A reply the test server makes from the request: a redirect, or what depends on the request's headers. */
export interface ServedReply {
  status: number;
  headers?: Record<string, string>;
  body: string | Buffer;
}

/** The tarball served at /app.tar.gz (unarchive with a URL src), made once: the same bytes for both engines. */
let tarball: Buffer | undefined;
function servedTarball(): Buffer {
  if (tarball) return tarball;
  const dir = mkdtempSync(join(tmpdir(), 'bootstrap-oracle-served-'));
  try {
    mkdirSync(join(dir, 'app', 'bin'), { recursive: true });
    writeFileSync(join(dir, 'app', 'conf'), 'served\n');
    writeFileSync(join(dir, 'app', 'bin', 'run'), '#!/bin/sh\n', { mode: 0o755 });
    execFileSync('tar', ['-czf', join(dir, 'app.tar.gz'), '--owner=root', '--group=root', '--mtime=2020-01-01', '-C', dir, 'app']);
    tarball = readFileSync(join(dir, 'app.tar.gz'));
    return tarball;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Files the test serves over HTTP on loopback, at @@URL@@ in a playbook (get_url, unarchive), or replies made from the request. */
const HELLO = 'hello from the oracle\n';
const digest = (algorithm: string, text: string) => createHash(algorithm).update(text).digest('hex');
export const SERVED: Record<string, string | ((request: { headers: IncomingHttpHeaders }) => ServedReply)> = {
  // a redirect to /echo, which answers with the x-oracle-* headers it was sent, one name=value a line
  '/hop': () => ({ status: 302, headers: { location: '/echo' }, body: 'moved\n' }),
  '/echo': (r) => ({ status: 200, body: Object.entries(r.headers).filter(([k]) => k.startsWith('x-oracle-')).map(([k, v]) => `${k}=${v}\n`).sort().join('') }),
  // a checksum file only for a request with the token header
  '/TOKENSUMS': (r) => (r.headers['x-oracle-token'] === 't' ? { status: 200, body: `${digest('sha256', HELLO)}  hello.txt\n` } : { status: 403, body: 'forbidden\n' }),
  '/app.tar.gz': () => ({ status: 200, body: servedTarball() }),
  '/hello.txt': HELLO,
  '/other.txt': 'other\n',
  // checksum files get_url reads its checksum from: GNU lines (one in binary mode), a BSD line, one without hello.txt
  '/SHA512SUMS': `${digest('sha512', 'other\n')}  other.txt\n${digest('sha512', HELLO)} *hello.txt\n`,
  '/SHA1SUMS': `SHA1 (other.txt) = ${digest('sha1', 'other\n')}\nSHA1 (hello.txt) = ${digest('sha1', HELLO)}\n`,
  '/OTHERSUMS': `${digest('sha256', 'other\n')}  other.txt\n`,
};
const HELLO_SHA256 = digest('sha256', HELLO);
/** crypted passwords (openssl passwd -6) for the user case */
const HASH = '$6$oraclesalt$Q450Jp2Hx3j3o5okNig4LQ3dEeZBKQWZdHjVczLq5I4NtQQfwOZ.Ih8T3ZG7kp5wXkfG.9vMKZbIBS1sWF/zc/';
const OTHER_HASH = '$6$othersalt$eMcU/nJ8pRnR7JyhmYydf4xIZpFEZN9gbUjJ67B9PG9TZgoBq5B5mUj.2afJl1okAmT9zZv82ieToiVvvaEr50';

export interface OracleOutcome {
  exit: string;
  results: Record<string, string[]>;
  recap: Record<string, { rescued: number; ignored: number }>;
  files: Record<string, Record<string, string>>;
}

export interface OracleCase {
  name: string;
  /** the Ansible playbook; bootstrap runs its translation (translate.ts) */
  ansible: string;
  /** Jinja expressions of `ansible` that are not JavaScript, with the JavaScript they translate to */
  js?: Record<string, string>;
  /** command-line arguments both get (-e, --tags) */
  args?: string[];
  /** files beside each engine's playbook (vars files, task files: bootstrap gets their translation) */
  files?: Record<string, string>;
  /**
   * Commands run on this machine (which the loopback hosts are) before each engine's run and after
   * the case, their failures ignored: they remove what a case makes outside the hosts' roots
   * (throwaway users and groups), so both engines start from the same machine.
   */
  cleanup?: string[][];
  /** makes what the playbook reads beside it (a tarball), in each engine's directory */
  prepare?: (dir: string) => void;
  /**
   * include_role / include_tasks tasks of the playbook: Ansible reports the include itself as a task
   * result ("included: ..."); bootstrap reads includes when the playbook loads and has no such line
   * (README: Coming from Ansible), so these are left out of Ansible's results
   */
  includes?: string[];
  /** an assertion on Ansible's outcome: the case exercises what its name says */
  check?: (outcome: OracleOutcome) => void;
}

/** One play on `app` without privilege escalation; `extra` holds more play keys (indented by 2). */
export const ansiblePlay = (tasks: string, extra = '') => `- name: p\n  hosts: app\n  gather_facts: false\n  become: false\n${extra}  tasks:\n${tasks}`;

/** Two plays; in the first, in batches as `serial` (play keys) says, a task fails on h1. */
const rolling = (serial: string) => `${ansiblePlay(
  `    - name: fails on h1
      command: { argv: [test, "{{ inventory_hostname }}", "!=", h1] }
      changed_when: false
    - name: second
      copy: { dest: "{{ root }}/second", content: "2" }
`,
  serial,
)}- name: later
  hosts: app
  gather_facts: false
  become: false
  tasks:
    - name: later play
      copy: { dest: "{{ root }}/later", content: "l" }
`;

/** Translations of booleans Jinja prints as Python does (True/False). */
const pythonBooleans = (...exprs: string[]) => Object.fromEntries(exprs.map((e) => [e, `${e} ? 'True' : 'False'`]));

/** The stat case's boolean keys, per registered result: a file (0640), a directory, /dev/null, a fifo, a socket, a setuid+setgid file, links. */
const STAT_BOOLEANS = [
  ...['rusr', 'wusr', 'xusr', 'rgrp', 'wgrp', 'xgrp', 'roth', 'woth', 'xoth', 'isuid', 'isgid', 'readable', 'writeable', 'executable', 'ischr', 'isblk', 'isfifo', 'issock'].map((k) => `sf.stat.${k}`),
  ...['isdir', 'readable', 'executable', 'xoth', 'isfifo'].map((k) => `sd.stat.${k}`),
  ...['ischr', 'isblk', 'isfifo', 'issock', 'readable', 'writeable', 'executable', 'rusr', 'woth', 'xoth'].map((k) => `sz.stat.${k}`),
  ...['isfifo', 'ischr', 'issock', 'isreg'].map((k) => `sp.stat.${k}`),
  ...['issock', 'isfifo', 'isreg'].map((k) => `ss.stat.${k}`),
  ...['isuid', 'isgid', 'xusr', 'xgrp', 'xoth', 'wgrp', 'executable'].map((k) => `sx.stat.${k}`),
  ...['readable', 'writeable', 'executable', 'rusr'].map((k) => `sl.stat.${k}`),
  ...['readable', 'writeable', 'executable'].map((k) => `sdn.stat.${k}`),
  "sl.stat.lnk_source == sf.stat.path", "sdn.stat.lnk_source == root + '/gone'",
];
/** stat(2)'s numbers of the file against `stat -c '%i %d %h %b %o %Z'` in the play, and what both engines see alike */
const STAT_NUMBERS = {
  "[sf.stat.inode, sf.stat.dev, sf.stat.nlink, sf.stat.blocks, sf.stat.block_size, sf.stat.ctime | int] | join(' ') == sc.stdout":
    "[sf.stat.inode, sf.stat.dev, sf.stat.nlink, sf.stat.blocks, sf.stat.block_size, Math.trunc(sf.stat.ctime)].join(' ') === sc.stdout ? 'True' : 'False'",
  'slf.stat.lnk_source is defined': "'lnk_source' in slf.stat ? 'True' : 'False'",
  'sdf.stat.lnk_source is defined': "'lnk_source' in sdf.stat ? 'True' : 'False'",
};
const STAT_PRINTED = ['sf.stat.mtime', 'sf.stat.atime', 'sf.stat.nlink', 'sf.stat.device_type', 'sz.stat.device_type', 'sz.stat.mode', 'sz.stat.size', 'sx.stat.mode', 'sp.stat.size', 'slf.stat.mtime'];

export const oracleCases: OracleCase[] = [
  {
    name: 'register: stdout and stderr lose their trailing newline, stdout_lines is unchanged; when compares stdout',
    js: { 'who.stdout_lines | length': 'who.stdout_lines.length', 'both.stdout_lines | length': 'both.stdout_lines.length' },
    ansible: ansiblePlay(`    - name: who
      command: { argv: [echo, "{{ inventory_hostname }}"] }
      register: who
      changed_when: false
    - name: both streams
      shell: { cmd: "printf 'out\\n\\n'; echo err >&2" }
      register: both
      changed_when: false
    - name: write it
      copy: { dest: "{{ root }}/who.txt", content: "[{{ who.stdout }}] [{{ both.stdout }}] [{{ both.stderr }}] {{ who.stdout_lines | length }} {{ both.stdout_lines | length }}" }
    - name: only on h3
      copy: { dest: "{{ root }}/h3.txt", content: "h3" }
      when: who.stdout == 'h3'
`),
    check: (o) => assert.equal(o.files.h3['h3.txt'], 'h3'),
  },
  {
    name: 'until retries until the condition holds and keeps the last result; one that never holds fails after retries + 1 runs',
    ansible: ansiblePlay(`    - name: count to three
      shell: { cmd: "n=$(cat {{ root }}/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > {{ root }}/n; echo $n" }
      register: count
      until: count.stdout == '3'
      retries: 5
      delay: 0
    - name: record
      copy: { dest: "{{ root }}/count", content: "{{ count.stdout }}" }
    - name: never on h2
      shell: { cmd: "echo x >> {{ root }}/tries; exit 1" }
      register: never
      until: never.rc == 0
      retries: 2
      delay: 0
      when: inventory_hostname == 'h2'
    - name: after
      copy: { dest: "{{ root }}/after", content: "a" }
`),
    check: (o) => assert.equal(o.files.h2.tries, 'x\nx\nx\n'),
  },
  {
    name: 'run_once runs on the first host and every host gets its registered result',
    ansible: ansiblePlay(`    - name: once
      command: { argv: [echo, "{{ inventory_hostname }}"] }
      register: first
      run_once: true
      changed_when: false
    - name: everyone writes it
      copy: { dest: "{{ root }}/first", content: "{{ first.stdout }}" }
    - name: once writes
      copy: { dest: "{{ root }}/once", content: "o" }
      run_once: true
`),
  },
  {
    name: 'block/rescue/always: a failure runs rescue and the host carries on; a failing rescue still runs always and fails the host',
    ansible: ansiblePlay(`    - name: guarded
      block:
        - name: may fail
          command: { argv: [test, "{{ inventory_hostname }}", "=", h1] }
          changed_when: false
        - name: after the failure
          copy: { dest: "{{ root }}/block", content: "b" }
      rescue:
        - name: rescue it
          command: { argv: [test, "{{ inventory_hostname }}", "=", h2] }
          changed_when: false
        - name: rescued
          copy: { dest: "{{ root }}/rescue", content: "r" }
      always:
        - name: always
          copy: { dest: "{{ root }}/always", content: "a" }
    - name: after the block
      copy: { dest: "{{ root }}/after", content: "x" }
`),
    check: (o) => assert.deepEqual(Object.keys(o.files.h3), ['always']),
  },
  {
    name: 'failed_when and changed_when decide the status from the registered result',
    js: pythonBooleans('three.failed', 'three.changed'),
    ansible: ansiblePlay(`    - name: exits three
      command: { argv: [sh, -c, "exit 3"] }
      register: three
      failed_when: three.rc != 3
      changed_when: three.rc == 0
    - name: changed by rule
      command: { argv: ["true"] }
      changed_when: inventory_hostname == 'h1'
    - name: fails by rule
      command: { argv: ["true"] }
      failed_when: inventory_hostname == 'h3'
    - name: after
      copy: { dest: "{{ root }}/after", content: "{{ three.rc }} {{ three.failed }} {{ three.changed }}" }
`),
  },
  {
    name: 'when on registered values: rc, a skipped result',
    ansible: ansiblePlay(`    - name: marker on h2
      copy: { dest: "{{ root }}/marker", content: "m" }
      when: inventory_hostname == 'h2'
    - name: probe
      command: { argv: [test, -e, "{{ root }}/marker"] }
      register: probe
      failed_when: false
      changed_when: false
    - name: when absent
      copy: { dest: "{{ root }}/absent", content: "{{ probe.rc }}" }
      when: probe.rc != 0
    - name: when present
      copy: { dest: "{{ root }}/present", content: "{{ probe.rc }}" }
      when: probe.rc == 0
    - name: never runs
      command: { argv: ["true"] }
      register: nothing
      when: false
    - name: saw it skipped
      copy: { dest: "{{ root }}/skipped", content: "s" }
      when: nothing.skipped
`),
  },
  {
    name: 'loops with when: items skipped one by one, a loop with every item skipped is skipped, results[] per item',
    js: { "echoed.results | map(attribute='stdout') | join(',')": "echoed.results.map((r) => r.stdout).join(',')" },
    ansible: ansiblePlay(`    - name: some items
      copy: { dest: "{{ root }}/item-{{ item }}", content: "{{ item }}" }
      loop: [a, b, c]
      when: item != 'b'
    - name: no item left
      copy: { dest: "{{ root }}/none-{{ item }}", content: "{{ item }}" }
      loop: [a]
      when: item == 'z'
    - name: per item
      command: { argv: [echo, "{{ item }}"] }
      loop: [x, y]
      register: echoed
      changed_when: false
    - name: joined
      copy: { dest: "{{ root }}/joined", content: "{{ echoed.results | map(attribute='stdout') | join(',') }}" }
    - name: empty loop
      copy: { dest: "{{ root }}/empty", content: "e" }
      loop: []
`),
  },
  {
    name: 'handlers: notify by name and by listen topic, flush_handlers, a second notification after a flush',
    ansible: `- name: p
  hosts: app
  gather_facts: false
  become: false
  handlers:
    - name: restart a
      copy: { dest: "{{ root }}/handler-a", content: "a" }
    - name: by topic
      copy: { dest: "{{ root }}/handler-topic", content: "t" }
      listen: topic
    - name: never notified
      copy: { dest: "{{ root }}/handler-never", content: "n" }
  tasks:
    - name: change
      copy: { dest: "{{ root }}/conf", content: "c" }
      notify: restart a
      when: inventory_hostname != 'h2'
    - name: change by topic
      copy: { dest: "{{ root }}/conf2", content: "c" }
      notify: topic
    - name: flush
      meta: flush_handlers
    - name: the topic handler ran
      command: { argv: [test, -e, "{{ root }}/handler-topic"] }
      changed_when: false
    - name: change again
      copy: { dest: "{{ root }}/conf3", content: "c" }
      notify: restart a
    - name: no change
      copy: { dest: "{{ root }}/conf", content: "c" }
      notify: by topic
      when: inventory_hostname != 'h2'
`,
  },
  {
    name: 'tags: --tags selects tagged tasks, always runs, never runs only when asked for by name',
    args: ['--tags', 't1'],
    ansible: ansiblePlay(`    - name: t1
      copy: { dest: "{{ root }}/t1", content: "1" }
      tags: [t1]
    - name: t2
      copy: { dest: "{{ root }}/t2", content: "2" }
      tags: t2
    - name: untagged
      copy: { dest: "{{ root }}/untagged", content: "u" }
    - name: always
      copy: { dest: "{{ root }}/always", content: "a" }
      tags: [always]
    - name: never
      copy: { dest: "{{ root }}/never", content: "n" }
      tags: [never]
    - name: never but t1
      copy: { dest: "{{ root }}/never-t1", content: "n" }
      tags: [never, t1]
`),
  },
  {
    name: '-e key=value and JSON win over play vars and vars_files',
    args: ['-e', 'greeting=hi', '-e', '{"n": 3}'],
    files: { 'vars.yml': 'from_file: vf\nn: 1\n' },
    ansible: ansiblePlay(
      `    - name: greet
      copy: { dest: "{{ root }}/greeting", content: "{{ greeting }} {{ n + 1 }} {{ from_file }}" }
`,
      '  vars: { greeting: play }\n  vars_files: [vars.yml]\n',
    ),
    check: (o) => assert.equal(o.files.h1.greeting, 'hi 4 vf'),
  },
  {
    name: 'serial with max_fail_percentage: a batch over the limit stops its other hosts after that task, and the later batches and plays',
    ansible: rolling('  serial: 2\n  max_fail_percentage: 40\n'),
    check: (o) => assert.deepEqual(o.results.h2, ['fails on h1: ok']),
  },
  {
    name: 'serial without max_fail_percentage: a batch goes on unless all its hosts failed',
    ansible: rolling('  serial: 2\n'),
    check: (o) => assert.equal(o.files.h3.later, 'l'),
  },
  {
    name: 'loop_control: loop_var, index_var, label, extended',
    js: {
      "'F' if ansible_loop.first else '-'": "ansible_loop.first ? 'F' : '-'",
      "'L' if ansible_loop.last else '-'": "ansible_loop.last ? 'L' : '-'",
      "ansible_loop.previtem | default('none')": "ansible_loop.previtem ?? 'none'",
      "ansible_loop.nextitem | default('none')": "ansible_loop.nextitem ?? 'none'",
    },
    ansible: ansiblePlay(`    - name: named
      copy: { dest: "{{ root }}/lc-{{ idx }}-{{ entry.name }}", content: "{{ entry.name }}" }
      loop: [{ name: a }, { name: b }]
      loop_control:
        loop_var: entry
        index_var: idx
        label: "{{ entry.name }}"
    - name: extended
      copy: { dest: "{{ root }}/ext-{{ item }}", content: "{{ ansible_loop.index }}/{{ ansible_loop.length }} {{ ansible_loop.index0 }} {{ ansible_loop.revindex }} {{ 'F' if ansible_loop.first else '-' }}{{ 'L' if ansible_loop.last else '-' }} {{ ansible_loop.previtem | default('none') }} {{ ansible_loop.nextitem | default('none') }}" }
      loop: [x, y, z]
      loop_control: { extended: true, pause: 1 }
`),
    check: (o) => assert.equal(o.files.h1['ext-y'], '2/3 1 2 -- x z'),
  },
  {
    name: 'gather_facts: true gives the play the host facts',
    js: { "ansible_facts['distribution_release']": 'facts.os.codename' },
    ansible: `- name: p
  hosts: app
  gather_facts: true
  become: false
  tasks:
    - name: codename
      copy: { dest: "{{ root }}/codename", content: "{{ ansible_facts['distribution_release'] }}" }
`,
  },
  {
    name: 'set_fact (cacheable too), debug (msg, var, registered, verbosity under and over the run\'s -v), assert (that, fail_msg) and fail',
    args: ['-v'],
    js: { ...pythonBooleans('quiet.skipped'), 'quiet.msg is defined': "'msg' in quiet ? 'True' : 'False'" },
    ansible: ansiblePlay(`    - name: set
      set_fact: { greeting: "hi {{ inventory_hostname }}", n: 2 }
    - name: set cacheable
      set_fact: { cached: c, cacheable: true }
    - name: show
      debug: { msg: "{{ greeting }}" }
      register: shown
    - name: show var
      debug: { var: n }
    - name: only with -vv
      debug: { msg: "more detail", verbosity: 2 }
      register: quiet
    - name: with -v
      debug: { var: greeting, verbosity: 1 }
      register: loud
    - name: write
      copy: { dest: "{{ root }}/fact", content: "{{ greeting }} {{ n + 1 }} {{ shown.msg }} {{ cached }}" }
    - name: write verbosity
      copy: { dest: "{{ root }}/verbosity", content: "{{ quiet.skipped }} {{ quiet.msg is defined }} {{ loud.greeting }}" }
    - name: holds
      assert:
        that: ["n == 2", "greeting != ''"]
        fail_msg: nope
    - name: not on h2
      assert: { that: "inventory_hostname != 'h2'", fail_msg: "h2 is not welcome" }
    - name: not on h3
      fail: { msg: "no h3" }
      when: inventory_hostname == 'h3'
    - name: after
      copy: { dest: "{{ root }}/after", content: "a" }
`),
    check: (o) => {
      assert.deepEqual([o.files.h1.fact, o.results.h2.at(-1), o.results.h3.at(-1)], ['hi h1 3 hi h1 c', 'not on h2: failed', 'not on h3: failed']);
      assert.deepEqual([o.files.h1.verbosity, o.results.h1[4], o.results.h1[5]], ['True False hi h1', 'only with -vv: skipped', 'with -v: ok']);
    },
  },
  {
    name: 'stat: a file, a directory, a symlink (followed or not, also dangling) and a missing path; file\'s mime type and charset, lsattr\'s attributes, each left out when turned off (under aliases)',
    js: {
      ...pythonBooleans('sf.stat.exists', 'sf.stat.isreg', 'sf.stat.isdir', 'sd.stat.isdir', 'sl.stat.islnk', 'sm.stat.exists', 'slf.stat.islnk', 'slf.stat.isreg', 'sdf.stat.exists', 'sdn.stat.islnk'),
      'sl.stat.lnk_target | basename': "sl.stat.lnk_target.split('/').pop()",
      "sf.stat.attributes | join(',')": "sf.stat.attributes.join(',')",
      "sl.stat.attributes | join(',')": "sl.stat.attributes.join(',')",
      'sl.stat.version is none': "sl.stat.version === null ? 'True' : 'False'",
      'sf.stat.version is none': "sf.stat.version === null ? 'True' : 'False'",
      'slf.stat.lnk_target is defined': "'lnk_target' in slf.stat ? 'True' : 'False'",
      'sn.stat.mimetype is defined': "'mimetype' in sn.stat ? 'True' : 'False'",
      'sn.stat.charset is defined': "'charset' in sn.stat ? 'True' : 'False'",
      'sn.stat.attributes is defined': "'attributes' in sn.stat ? 'True' : 'False'",
      'sn.stat.attr_flags is defined': "'attr_flags' in sn.stat ? 'True' : 'False'",
      ...pythonBooleans(...STAT_BOOLEANS),
      ...STAT_NUMBERS,
    },
    ansible: ansiblePlay(`    - name: seed
      copy: { dest: "{{ root }}/f", content: "hello\\n", mode: "0640" }
    - name: link
      file: { path: "{{ root }}/l", src: "{{ root }}/f", state: link }
    - name: mtime with a fraction (a float either way)
      command: { argv: [touch, -m, -d, "@1577880000.25", "{{ root }}/f"] }
    - name: atime ahead of now, which reading the file leaves alone (relatime)
      command: { argv: [touch, -a, -d, "@4102444800.5", "{{ root }}/f"] }
    - name: dangling link
      command: { argv: [ln, -s, "{{ root }}/gone", "{{ root }}/d"], creates: "{{ root }}/d" }
    - name: stat file
      stat: { path: "{{ root }}/f", checksum_algorithm: sha256 }
      register: sf
    - name: stat dir
      stat: { path: "{{ root }}" }
      register: sd
    - name: stat link
      stat: { path: "{{ root }}/l" }
      register: sl
    - name: stat link followed
      stat: { path: "{{ root }}/l", follow: true, checksum_algo: md5 }
      register: slf
    - name: stat dangling followed
      stat: { path: "{{ root }}/d", follow: true }
      register: sdf
    - name: stat dangling
      stat: { path: "{{ root }}/d" }
      register: sdn
    - name: stat without mime and attributes
      stat: { path: "{{ root }}/f", mime: false, attr: false }
      register: sn
    - name: stat missing
      stat: { path: "{{ root }}/nothing" }
      register: sm
    - name: stat a character device
      stat: { path: /dev/null, get_mime: false }
      register: sz
    - name: fifo
      command: { argv: [mkfifo, "{{ root }}/p"] }
    - name: socket
      command: { argv: [python3, -c, "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", "{{ root }}/s"] }
    - name: setuid and setgid
      copy: { dest: "{{ root }}/x", content: "#!/bin/sh\\n", mode: "6754" }
    - name: stat fifo
      stat: { path: "{{ root }}/p" }
      register: sp
    - name: stat socket
      stat: { path: "{{ root }}/s", get_attributes: false }
      register: ss
    - name: stat setuid
      stat: { path: "{{ root }}/x" }
      register: sx
    - name: the file's stat another way
      command: { argv: [stat, -c, "%i %d %h %b %o %Z", "{{ root }}/f"] }
      register: sc
      changed_when: false
    - name: write keys
      copy: { dest: "{{ root }}/keys", content: "@@KEYS@@" }
    - name: write
      copy: { dest: "{{ root }}/out", content: "{{ sf.stat.exists }} {{ sf.stat.isreg }} {{ sf.stat.isdir }} {{ sf.stat.mode }} {{ sf.stat.size }} {{ sf.stat.checksum }} {{ sf.stat.pw_name }} {{ sf.stat.uid }} | {{ sd.stat.isdir }} | {{ sl.stat.islnk }} {{ sl.stat.lnk_target | basename }} | {{ sm.stat.exists }}" }
    - name: write more
      copy: { dest: "{{ root }}/more", content: "{{ sf.stat.mimetype }} {{ sf.stat.charset }} [{{ sf.stat.attributes | join(',') }}] [{{ sf.stat.attr_flags }}] {{ sf.stat.version is none }} | {{ sd.stat.mimetype }} {{ sd.stat.charset }} | {{ sl.stat.mimetype }} {{ sl.stat.charset }} [{{ sl.stat.attributes | join(',') }}] [{{ sl.stat.attr_flags }}] {{ sl.stat.version is none }} | {{ slf.stat.islnk }} {{ slf.stat.isreg }} {{ slf.stat.mode }} {{ slf.stat.size }} {{ slf.stat.checksum }} {{ slf.stat.lnk_target is defined }} {{ slf.stat.mimetype }} | {{ sdf.stat.exists }} | {{ sdn.stat.islnk }} {{ sdn.stat.mimetype }} {{ sdn.stat.charset }} | {{ sn.stat.mimetype is defined }} {{ sn.stat.charset is defined }} {{ sn.stat.attributes is defined }} {{ sn.stat.attr_flags is defined }}" }
    - name: no dangling link left (the comparison reads every file under the roots)
      file: { path: "{{ root }}/d", state: absent }
    - name: no fifo left
      file: { path: "{{ root }}/p", state: absent }
    - name: no socket left
      file: { path: "{{ root }}/s", state: absent }
`).replace('@@KEYS@@', [...STAT_BOOLEANS, ...Object.keys(STAT_NUMBERS), ...STAT_PRINTED].map((e) => `{{ ${e} }}`).join(' ')),
    check: (o) => {
      assert.match(o.files.h1.out, /^True True False 0640 6 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03 root 0 \| True \| True f \| False$/);
      assert.match(o.files.h1.more, /^text\/plain us-ascii \[\S*\] \[\S*\] False \| inode\/directory binary \| inode\/symlink binary \[\] \[\] True \| False True 0640 6 b1946ac92492d2347c6235b4d2611184 False inode\/symlink \| False \| True unknown unknown \| False False False False$/);
      const keys = [
        'True True False True False False False False False False False True True False False False False False', // the 0640 file
        'True True True \\S+ False', // the directory
        'True False False False True True False True True False', // /dev/null
        'True False False False', 'True False False', // the fifo, the socket
        'True True True True False False True', // 6754
        'True True False True', 'False False False', 'True True', // links: access follows them; lnk_source
        'True False False', // inode, dev, nlink, blocks, block_size and ctime as stat -c reads them; no lnk_source when followed
        '1577880000\\.25 4102444800\\.5 1 0 259 0666 0 6754 0 1577880000\\.25',
      ];
      assert.match(o.files.h1.keys, new RegExp(`^${keys.join(' ')}$`));
    },
  },
  {
    name: 'lineinfile: regexp replaces, insertafter/insertbefore/BOF, backrefs, search_string, absent, create, a missing file fails',
    ansible: ansiblePlay(`    - name: seed
      copy: { dest: "{{ root }}/conf", content: "# comment\\nPort 22\\n#PermitRootLogin yes\\nListen 80\\nListen 81\\n" }
    - name: replace by regexp
      lineinfile: { path: "{{ root }}/conf", regexp: '^#?PermitRootLogin', line: PermitRootLogin no }
    - name: the same again
      lineinfile: { path: "{{ root }}/conf", regexp: '^#?PermitRootLogin', line: PermitRootLogin no }
    - name: add at the end
      lineinfile: { path: "{{ root }}/conf", line: UseDNS no }
    - name: insert after
      lineinfile: { path: "{{ root }}/conf", line: Listen 82, insertafter: '^Listen' }
    - name: insert before, first match
      lineinfile: { path: "{{ root }}/conf", line: Listen 79, insertbefore: '^Listen', firstmatch: true }
    - name: at the top
      lineinfile: { path: "{{ root }}/conf", line: '# top', insertbefore: BOF }
    - name: backrefs
      lineinfile: { path: "{{ root }}/conf", regexp: '^Port (\\d+)$', line: 'Port \\1\\1', backrefs: true }
    - name: backrefs without a match
      lineinfile: { path: "{{ root }}/conf", regexp: '^Nope (\\d+)', line: 'x \\1', backrefs: true }
    - name: absent by regexp
      lineinfile: { path: "{{ root }}/conf", regexp: '^Listen 8[01]', state: absent }
    - name: search_string
      lineinfile: { path: "{{ root }}/conf", search_string: UseDNS, line: UseDNS yes }
    - name: create
      lineinfile: { path: "{{ root }}/new", line: first, create: true }
    - name: missing on h2
      lineinfile: { path: "{{ root }}/missing", line: x }
      when: inventory_hostname == 'h2'
`),
    check: (o) => assert.equal(o.files.h1.conf, '# top\n# comment\nPort 2222\nPermitRootLogin no\nListen 79\nListen 82\nUseDNS yes\n'),
  },
  {
    name: 'blockinfile: insert, keep, replace, a second marker after a line, BOF with append_newline, remove, create',
    ansible: ansiblePlay(`    - name: seed
      copy: { dest: "{{ root }}/b", content: "line1\\nline2\\nlast" }
    - name: insert
      blockinfile: { path: "{{ root }}/b", block: "a\\nb" }
    - name: the same again
      blockinfile: { path: "{{ root }}/b", block: "a\\nb" }
    - name: replace
      blockinfile: { path: "{{ root }}/b", block: "c\\n" }
    - name: second marker
      blockinfile: { path: "{{ root }}/b", marker: "// {mark} two", block: x, insertafter: '^line1' }
    - name: at the top
      blockinfile: { path: "{{ root }}/b", marker: "# {mark} top", block: t, insertbefore: BOF, append_newline: true }
    - name: remove the first
      blockinfile: { path: "{{ root }}/b", state: absent }
    - name: create
      blockinfile: { path: "{{ root }}/nb", block: n, create: true, marker_begin: START, marker_end: STOP }
`),
    check: (o) => assert.equal(o.files.h1.b, '# BEGIN top\nt\n# END top\n\nline1\n// BEGIN two\nx\n// END two\nline2\nlast\n'),
  },
  {
    name: 'group and user: create (with a password), keep, change, a password kept, not updated on_create (the missing home made, create_home being true by default), updated, password_expire_account_disable; local (libuser) and seuser on this machine; remove; systemd scope global (no running systemd needed): enable, keep, mask, keep, unmask with disable, keep (throwaway names, on h1 only: the loopback hosts share one /etc)',
    cleanup: [
      ['userdel', 'bsoracle-u'], ['rm', '-rf', '/var/tmp/bsoracle-u'], ['groupdel', 'bsoracle-g'], ['groupdel', 'bsoracle-s'], ['userdel', 'bsoracle-l'], ['groupdel', 'bsoracle-l'], ['groupdel', 'bsoracle-lg'], ['userdel', 'bsoracle-se'], ['groupdel', 'bsoracle-se'],
      ['rm', '-f', '/usr/lib/systemd/user/bsoracle-unit.service', '/etc/systemd/user/bsoracle-unit.service', '/etc/systemd/user/default.target.wants/bsoracle-unit.service'],
    ],
    ansible: ansiblePlay(`    - name: group
      group: { name: bsoracle-g, gid: 43210 }
      when: inventory_hostname == 'h1'
    - name: supplementary group
      group: { name: bsoracle-s }
      when: inventory_hostname == 'h1'
    - name: group again
      group: { name: bsoracle-g, gid: 43210 }
      when: inventory_hostname == 'h1'
    - name: user
      user: { name: bsoracle-u, uid: 43211, group: bsoracle-g, groups: [bsoracle-s], shell: /bin/sh, home: /var/tmp/bsoracle-u, create_home: false, comment: oracle, password: "${HASH}" }
      when: inventory_hostname == 'h1'
    - name: user again
      user: { name: bsoracle-u, uid: 43211, group: bsoracle-g, groups: [bsoracle-s], shell: /bin/sh, home: /var/tmp/bsoracle-u, create_home: false, comment: oracle, password: "${HASH}" }
      when: inventory_hostname == 'h1'
    - name: another password, on_create
      user: { name: bsoracle-u, password: "${OTHER_HASH}", update_password: on_create }
      when: inventory_hostname == 'h1'
    - name: first password
      shell: { cmd: "getent shadow bsoracle-u | cut -d: -f2" }
      register: first
      changed_when: false
      when: inventory_hostname == 'h1'
    - name: another password
      user: { name: bsoracle-u, password: "${OTHER_HASH}" }
      when: inventory_hostname == 'h1'
    - name: the home made on_create
      shell: { cmd: "stat -c '%a %U %G' /var/tmp/bsoracle-u; ls -A /var/tmp/bsoracle-u; find /var/tmp/bsoracle-u ! -user bsoracle-u" }
      register: home
      changed_when: false
      when: inventory_hostname == 'h1'
    - name: record home
      copy: { dest: "{{ root }}/home", content: "{{ home.stdout }}" }
      when: inventory_hostname == 'h1'
    - name: passwords
      shell: { cmd: "getent shadow bsoracle-u | cut -d: -f2" }
      register: second
      changed_when: false
      when: inventory_hostname == 'h1'
    - name: record passwords
      copy: { dest: "{{ root }}/passwords", content: "{{ first.stdout }} {{ second.stdout }}" }
      when: inventory_hostname == 'h1'
    - name: another shell
      user: { name: bsoracle-u, shell: /bin/bash }
      when: inventory_hostname == 'h1'
    - name: groups appended
      user: { name: bsoracle-u, groups: bsoracle-s, append: true }
      when: inventory_hostname == 'h1'
    - name: look
      shell: { cmd: "id bsoracle-u; getent passwd bsoracle-u" }
      register: looked
      changed_when: false
      when: inventory_hostname == 'h1'
    - name: record
      copy: { dest: "{{ root }}/id", content: "{{ looked.stdout }}" }
      when: inventory_hostname == 'h1'
    - name: disabled days after the password expires
      user: { name: bsoracle-u, password_expire_account_disable: 9 }
      when: inventory_hostname == 'h1'
    - name: inactive field
      shell: { cmd: "getent shadow bsoracle-u | cut -d: -f7" }
      register: inactive
      changed_when: false
      when: inventory_hostname == 'h1'
    - name: record inactive
      copy: { dest: "{{ root }}/inactive", content: "{{ inactive.stdout }}" }
      when: inventory_hostname == 'h1'
    - name: a local user
      user: { name: bsoracle-l, local: true, create_home: false }
      ignore_errors: true
      when: inventory_hostname == 'h1'
    - name: a local group
      group: { name: bsoracle-lg, local: true }
      ignore_errors: true
      when: inventory_hostname == 'h1'
    - name: an SELinux user
      user: { name: bsoracle-se, seuser: user_u, create_home: false }
      ignore_errors: true
      when: inventory_hostname == 'h1'
    - name: user gone
      user: { name: bsoracle-u, state: absent }
      when: inventory_hostname == 'h1'
    - name: groups gone
      group: { name: "{{ item }}", state: absent }
      loop: [bsoracle-g, bsoracle-s]
      when: inventory_hostname == 'h1'
    - name: gone already
      group: { name: bsoracle-g, state: absent }
      when: inventory_hostname == 'h1'
    - name: a user unit
      copy: { dest: /usr/lib/systemd/user/bsoracle-unit.service, content: "[Unit]\\nDescription=oracle\\n[Service]\\nExecStart=/bin/true\\n[Install]\\nWantedBy=default.target\\n" }
      when: inventory_hostname == 'h1'
    - name: enabled for every user
      systemd: { name: bsoracle-unit, scope: global, enabled: true }
      when: inventory_hostname == 'h1'
    - name: enabled already
      systemd: { name: bsoracle-unit, scope: global, enabled: true, no_block: true }
      when: inventory_hostname == 'h1'
    - name: masked for every user
      systemd: { name: bsoracle-unit, scope: global, masked: true, enabled: false }
      when: inventory_hostname == 'h1'
    - name: masked already
      systemd: { name: bsoracle-unit, scope: global, masked: true }
      when: inventory_hostname == 'h1'
    - name: state when masked
      shell: { cmd: "systemctl --global is-enabled bsoracle-unit.service > {{ root }}/unit; true" }
      when: inventory_hostname == 'h1'
    - name: unmasked and disabled
      systemd: { name: bsoracle-unit, scope: global, masked: false, enabled: false }
      when: inventory_hostname == 'h1'
    - name: disabled already
      systemd: { name: bsoracle-unit, scope: global, masked: false, enabled: false }
      when: inventory_hostname == 'h1'
    - name: state at the end
      shell: { cmd: "systemctl --global is-enabled bsoracle-unit.service >> {{ root }}/unit; true" }
      when: inventory_hostname == 'h1'
`),
    check: (o) => {
      assert.equal(o.files.h1.unit, 'masked\ndisabled\n');
      assert.deepEqual(o.results.h1.filter((r) => /^((enabled|masked) (for every user|already)|unmasked and disabled|disabled already):/.test(r)), ['enabled for every user: changed', 'enabled already: ok', 'masked for every user: changed', 'masked already: ok', 'unmasked and disabled: changed', 'disabled already: ok']);
      assert.equal(o.files.h1.passwords, `${HASH} ${OTHER_HASH}`);
      assert.match(o.files.h1.id, /^uid=43211\(bsoracle-u\) gid=43210\(bsoracle-g\) groups=43210\(bsoracle-g\),\d+\(bsoracle-s\)\nbsoracle-u:x:43211:43210:oracle:\/var\/tmp\/bsoracle-u:\/bin\/bash$/);
      // the home on_create made: /etc/skel's files, all the user's, the mode login.defs gives
      const skel = spawnSync('ls', ['-A', '/etc/skel'], { encoding: 'utf8' }).stdout.trim();
      assert.match(o.files.h1.home, new RegExp(`^[0-7]{3} bsoracle-u bsoracle-g${skel ? `\n${skel.replace(/\./g, '\\.')}` : ''}$`));
      assert.equal(o.files.h1.inactive, '9');
      // libuser's commands, and an SELinux kernel for useradd -Z, as this machine has them or not
      const has = (cmd: string) => spawnSync('sh', ['-c', cmd], { stdio: 'ignore' }).status === 0;
      const libuser = has('command -v luseradd && command -v lgroupadd');
      const selinux = has('test -e /sys/fs/selinux/enforce');
      const status = (task: string) => o.results.h1.find((r) => r.startsWith(`${task}:`));
      assert.deepEqual([status('a local user'), status('a local group'), status('an SELinux user')], [
        `a local user: ${libuser ? 'changed' : 'failed (ignored)'}`, `a local group: ${libuser ? 'changed' : 'failed (ignored)'}`, `an SELinux user: ${selinux ? 'changed' : 'failed (ignored)'}`,
      ]);
    },
  },
  {
    name: 'get_url: download, keep an existing file, checksum matches (kept) and differs (downloaded), sha1/md5/sha512 and checksum files (GNU, BSD), headers after a redirect and unredirected_headers, a checksum file fetched with the headers, tmp_dest (and a missing one), ciphers and use_gssapi: false taken, a wrong checksum fails, a directory dest, a missing URL fails, a checksum file without the name fails',
    ansible: ansiblePlay(`    - name: download
      get_url: { url: "@@URL@@/hello.txt", dest: "{{ root }}/hello", mode: "0600" }
    - name: exists already
      get_url: { url: "@@URL@@/other.txt", dest: "{{ root }}/hello" }
    - name: checksum matches
      get_url: { url: "@@URL@@/hello.txt", dest: "{{ root }}/hello", checksum: "sha256:${HELLO_SHA256}" }
    - name: seed a stale copy
      copy: { dest: "{{ root }}/stale", content: "old" }
    - name: checksum differs
      get_url: { url: "@@URL@@/hello.txt", dest: "{{ root }}/stale", checksum: "sha256:${HELLO_SHA256}" }
    - name: sha1 matches
      get_url: { url: "@@URL@@/other.txt", dest: "{{ root }}/hello", checksum: "sha1:${digest('sha1', HELLO)}" }
    - name: md5 download
      get_url: { url: "@@URL@@/hello.txt", dest: "{{ root }}/md5", checksum: "md5:${digest('md5', HELLO).toUpperCase()}" }
    - name: sha512 from a checksum file
      get_url: { url: "@@URL@@/hello.txt", dest: "{{ root }}/sums", checksum: "sha512:@@URL@@/SHA512SUMS" }
    - name: sha512 from a checksum file again
      get_url: { url: "@@URL@@/hello.txt", dest: "{{ root }}/sums", checksum: "sha512:@@URL@@/SHA512SUMS" }
    - name: seed another stale copy
      copy: { dest: "{{ root }}/stale2", content: "old" }
    - name: sha1 from a BSD checksum file, the file differs
      get_url: { url: "@@URL@@/hello.txt", dest: "{{ root }}/stale2", checksum: "sha1:@@URL@@/SHA1SUMS", mode: "0640" }
    - name: headers follow a redirect
      get_url: { url: "@@URL@@/hop", dest: "{{ root }}/echo-all", headers: { X-Oracle-Keep: k, X-Oracle-Drop: d } }
    - name: unredirected headers stay behind
      get_url: { url: "@@URL@@/hop", dest: "{{ root }}/echo-some", headers: { X-Oracle-Keep: k, X-Oracle-Drop: d }, unredirected_headers: [x-oracle-DROP] }
    - name: a checksum file behind a header
      get_url: { url: "@@URL@@/hello.txt", dest: "{{ root }}/tok", checksum: "sha256:@@URL@@/TOKENSUMS", headers: { X-Oracle-Token: t } }
    - name: a directory to stage in
      file: { path: "{{ root }}/stage", state: directory }
    - name: staged in tmp_dest, with ciphers and use_gssapi false
      get_url: { url: "@@URL@@/hello.txt", dest: "{{ root }}/staged", tmp_dest: "{{ root }}/stage", ciphers: [ECDHE-RSA-AES256-GCM-SHA384, ECDHE-RSA-AES128-GCM-SHA256], use_gssapi: false }
    - name: tmp_dest missing
      get_url: { url: "@@URL@@/hello.txt", dest: "{{ root }}/nostage", tmp_dest: "{{ root }}/nowhere" }
      ignore_errors: true
    - name: wrong checksum on h2
      get_url: { url: "@@URL@@/other.txt", dest: "{{ root }}/wrong", checksum: "sha256:${HELLO_SHA256}" }
      when: inventory_hostname == 'h2'
    - name: into a directory
      get_url: { url: "@@URL@@/other.txt", dest: "{{ root }}/" }
    - name: missing url on h3
      get_url: { url: "@@URL@@/nothing", dest: "{{ root }}/nothing" }
      when: inventory_hostname == 'h3'
    - name: modes
      shell: { cmd: "stat -c %a {{ root }}/hello {{ root }}/stale {{ root }}/stale2" }
      register: modes
      changed_when: false
    - name: record
      copy: { dest: "{{ root }}/modes", content: "{{ modes.stdout }}" }
    - name: no line for the file on h1
      get_url: { url: "@@URL@@/hello.txt", dest: "{{ root }}/nosum", checksum: "sha256:@@URL@@/OTHERSUMS" }
`),
    check: (o) => {
      assert.deepEqual(
        [o.files.h1.hello, o.files.h1.stale, o.files.h1['other.txt'], o.files.h1.md5, o.files.h1.sums, o.files.h1.stale2, o.results.h2.at(-1), o.results.h1.at(-1), o.results.h1.find((r) => r.startsWith('sha512 from a checksum file again'))],
        [HELLO, HELLO, 'other\n', HELLO, HELLO, HELLO, 'wrong checksum on h2: failed', 'no line for the file on h1: failed', 'sha512 from a checksum file again: ok'],
      );
      assert.deepEqual([o.files.h1['echo-all'], o.files.h1['echo-some'], o.files.h1.tok, o.files.h1.staged], ['x-oracle-drop=d\nx-oracle-keep=k\n', 'x-oracle-keep=k\n', HELLO, HELLO]);
      assert.equal(o.results.h1.find((r) => r.startsWith('tmp_dest missing:')), 'tmp_dest missing: failed (ignored)');
    },
  },
  {
    name: 'unarchive: a laptop tarball unpacked, kept, repaired after a change, creates, a missing dest fails; a tarball on the host with remote_src; a tarball from a URL (validate_certs, io_buffer_size taken), kept, a missing URL fails; owner/group on a tarball; a zip with owner/group/mode, kept, a mode repaired, on the host with remote_src',
    prepare: (dir) => {
      const tree = join(dir, 'tree');
      mkdirSync(join(tree, 'app', 'bin'), { recursive: true });
      writeFileSync(join(tree, 'app', 'conf'), 'v1\n');
      writeFileSync(join(tree, 'app', 'bin', 'run'), '#!/bin/sh\necho run\n', { mode: 0o755 });
      symlinkSync('conf', join(tree, 'app', 'link'));
      execFileSync('tar', ['-czf', join(dir, 'app.tar.gz'), '--owner=root', '--group=root', '--mtime=2020-01-01', '-C', tree, 'app']);
      // a zip by Python's zipfile (python3 is on every test machine, zip is not), without the link (zipfile follows it)
      const ztree = join(dir, 'ztree');
      mkdirSync(join(ztree, 'web', 'static'), { recursive: true });
      writeFileSync(join(ztree, 'web', 'index.html'), '<p>z</p>\n');
      writeFileSync(join(ztree, 'web', 'static', 'app.js'), 'go()\n');
      // zipfile stores each member's mtime: fixed, so both engines' copies are the same bytes
      const fixed = new Date('2020-01-01T00:00:00Z');
      for (const p of ['web/index.html', 'web/static/app.js', 'web/static', 'web']) utimesSync(join(ztree, p), fixed, fixed);
      execFileSync('python3', ['-m', 'zipfile', '-c', join(dir, 'web.zip'), 'web'], { cwd: ztree });
    },
    ansible: ansiblePlay(`    - name: unpack
      unarchive: { src: app.tar.gz, dest: "{{ root }}" }
    - name: again
      unarchive: { src: app.tar.gz, dest: "{{ root }}" }
    - name: tamper on h2
      copy: { dest: "{{ root }}/app/conf", content: "changed" }
      when: inventory_hostname == 'h2'
    - name: repaired
      unarchive: { src: app.tar.gz, dest: "{{ root }}" }
    - name: creates
      unarchive: { src: app.tar.gz, dest: "{{ root }}/nowhere", creates: "{{ root }}/app" }
    - name: the tarball on the host
      copy: { src: app.tar.gz, dest: "{{ root }}/remote.tgz" }
    - name: a directory for it
      file: { path: "{{ root }}/r", state: directory }
    - name: remote
      unarchive: { src: "{{ root }}/remote.tgz", dest: "{{ root }}/r", remote_src: true }
    - name: remote again
      unarchive: { src: "{{ root }}/remote.tgz", dest: "{{ root }}/r", remote_src: true }
    - name: a directory for the download
      file: { path: "{{ root }}/u", state: directory }
    - name: a tarball from a URL
      unarchive: { src: "@@URL@@/app.tar.gz", dest: "{{ root }}/u", remote_src: true, validate_certs: false, io_buffer_size: 1024 }
    - name: a tarball from a URL again
      unarchive: { src: "@@URL@@/app.tar.gz", dest: "{{ root }}/u", remote_src: true }
    - name: a URL that is not there
      unarchive: { src: "@@URL@@/nothing.tar.gz", dest: "{{ root }}/u", remote_src: true }
      ignore_errors: true
    - name: a directory for owners
      file: { path: "{{ root }}/o", state: directory }
    - name: tarball with owner and group
      unarchive: { src: app.tar.gz, dest: "{{ root }}/o", owner: nobody, group: nogroup }
    - name: tarball with owner and group again
      unarchive: { src: app.tar.gz, dest: "{{ root }}/o", owner: nobody, group: nogroup }
    - name: a directory for the zip
      file: { path: "{{ root }}/z", state: directory }
    - name: zip
      unarchive: { src: web.zip, dest: "{{ root }}/z", owner: nobody, group: nogroup, mode: "0640" }
    - name: zip again
      unarchive: { src: web.zip, dest: "{{ root }}/z", owner: nobody, group: nogroup, mode: "0640" }
    - name: a mode changed on h2
      file: { path: "{{ root }}/z/web/index.html", mode: "0600" }
      when: inventory_hostname == 'h2'
    - name: zip repairs the mode
      unarchive: { src: web.zip, dest: "{{ root }}/z", owner: nobody, group: nogroup, mode: "0640" }
    - name: the zip on the host
      copy: { src: web.zip, dest: "{{ root }}/remote.zip" }
    - name: a directory for the remote zip
      file: { path: "{{ root }}/rz", state: directory }
    - name: remote zip
      unarchive: { src: "{{ root }}/remote.zip", dest: "{{ root }}/rz", remote_src: true, mode: "0600" }
    - name: remote zip again
      unarchive: { src: "{{ root }}/remote.zip", dest: "{{ root }}/rz", remote_src: true, mode: "0600" }
    - name: attributes
      shell: { cmd: "cd {{ root }} && stat -c '%U:%G %a %n' o/app o/app/conf o/app/bin/run z/web z/web/index.html z/web/static/app.js rz/web/index.html" }
      register: attributes
      changed_when: false
    - name: record attributes
      copy: { dest: "{{ root }}/attributes", content: "{{ attributes.stdout }}" }
    - name: no such directory on h3
      unarchive: { src: app.tar.gz, dest: "{{ root }}/missing" }
      when: inventory_hostname == 'h3'
`),
    check: (o) => {
      assert.deepEqual([o.files.h2['app/conf'], o.files.h1['r/app/bin/run'], o.results.h3.at(-1), o.files.h1['z/web/static/app.js']], ['v1\n', '#!/bin/sh\necho run\n', 'no such directory on h3: failed', 'go()\n']);
      assert.equal(o.files.h1.attributes, 'nobody:nogroup 755 o/app\nnobody:nogroup 644 o/app/conf\nnobody:nogroup 755 o/app/bin/run\nnobody:nogroup 640 z/web\nnobody:nogroup 640 z/web/index.html\nnobody:nogroup 640 z/web/static/app.js\nroot:root 600 rz/web/index.html');
      assert.deepEqual(['zip again', 'zip repairs the mode', 'remote zip again'].map((t) => o.results.h2.find((r) => r.startsWith(`${t}:`))), ['zip again: ok', 'zip repairs the mode: changed', 'remote zip again: ok']);
      assert.deepEqual([o.files.h1['u/app/conf'], ...['a tarball from a URL', 'a tarball from a URL again', 'a URL that is not there'].map((t) => o.results.h1.find((r) => r.startsWith(`${t}:`)))], ['served\n', 'a tarball from a URL: changed', 'a tarball from a URL again: ok', 'a URL that is not there: failed (ignored)']);
    },
  },
  {
    name: 'ignore_errors; a failed host skips its handlers and the later plays, the others go on',
    ansible: `- name: p
  hosts: app
  gather_facts: false
  become: false
  handlers:
    - name: handler
      copy: { dest: "{{ root }}/handler", content: "h" }
  tasks:
    - name: fails but ignored
      command: { argv: ["false"] }
      ignore_errors: true
    - name: notifies
      copy: { dest: "{{ root }}/conf", content: "c" }
      notify: handler
    - name: fails on h2
      command: { argv: [test, "{{ inventory_hostname }}", "!=", h2] }
      changed_when: false
    - name: after
      copy: { dest: "{{ root }}/after", content: "a" }
- name: q
  hosts: app
  gather_facts: false
  become: false
  tasks:
    - name: second play
      copy: { dest: "{{ root }}/second", content: "s" }
`,
    check: (o) => assert.deepEqual(Object.keys(o.files.h2), ['conf']),
  },
  {
    name: 'command and shell: creates, removes, chdir',
    ansible: ansiblePlay(`    - name: marker
      copy: { dest: "{{ root }}/m", content: "m" }
    - name: creates an existing path
      command: { argv: [touch, "{{ root }}/x"], creates: "{{ root }}/m" }
    - name: creates a missing path
      command: { argv: [touch, "{{ root }}/y"], creates: "{{ root }}/none" }
    - name: removes a missing path
      command: { argv: [touch, "{{ root }}/z"], removes: "{{ root }}/none" }
    - name: removes an existing path
      shell: { cmd: "rm m && touch gone", chdir: "{{ root }}", removes: "{{ root }}/m" }
    - name: chdir
      shell: { cmd: "basename $(pwd) > here", chdir: "{{ root }}" }
`),
  },
  {
    name: '--check: nothing changes on the hosts; what would change says changed',
    args: ['--check'],
    ansible: ansiblePlay(`    - name: a file
      copy: { dest: "{{ root }}/f", content: "f" }
    - name: a line
      lineinfile: { path: "{{ root }}/l", line: x, create: true }
    - name: a stat
      stat: { path: "{{ root }}/f" }
      register: st
    - name: a fact
      set_fact: { seen: "{{ st.stat.exists }}" }
    - name: a message
      debug: { msg: "{{ seen }}" }
`),
    check: (o) => assert.deepEqual(o.files.h1, {}),
  },
  {
    name: '--limit and --skip-tags; a block with when, tags and notify passed to its tasks',
    args: ['--limit', 'h1,h3', '--skip-tags', 'slow'],
    ansible: `- name: p
  hosts: app
  gather_facts: false
  become: false
  handlers:
    - name: from the block
      copy: { dest: "{{ root }}/handler", content: "h" }
  tasks:
    - name: fast
      copy: { dest: "{{ root }}/fast", content: "f" }
    - name: slow
      copy: { dest: "{{ root }}/slow", content: "s" }
      tags: [slow]
    - name: on h3
      block:
        - name: in the block
          copy: { dest: "{{ root }}/block", content: "b" }
        - name: slow in the block
          copy: { dest: "{{ root }}/block-slow", content: "b" }
          tags: slow
      when: inventory_hostname == 'h3'
      notify: from the block
`,
    check: (o) => assert.deepEqual([Object.keys(o.files.h2), Object.keys(o.files.h3)], [[], ['block', 'fast', 'handler']]),
  },
  {
    name: 'import_tasks with when passed to its tasks, a task file importing another',
    files: {
      'common.yml': `- name: from the file
  copy: { dest: "{{ root }}/common", content: "c" }
- name: tagged inside
  copy: { dest: "{{ root }}/inner", content: "{{ inventory_hostname }}" }
  tags: [inner]
`,
      'nested.yml': `- import_tasks: common.yml
- name: nested
  copy: { dest: "{{ root }}/nested", content: "n" }
`,
    },
    ansible: ansiblePlay(`    - name: import
      import_tasks: common.yml
      when: inventory_hostname != 'h2'
    - import_tasks: nested.yml
    - name: after
      copy: { dest: "{{ root }}/after", content: "a" }
`),
  },
  ...roleCases(),
];


function roleCases(): OracleCase[] {
  /** One play on `app` as ansiblePlay, with `roles:` (indented by 4) before its tasks. */
  const rolePlay = (roles: string, tasks = '', extra = '') => ansiblePlay(tasks, `${extra}  roles:\n${roles}`);
  return [
    {
      name: 'roles: defaults < play vars < role vars < the vars of a use; a use with other vars runs again; the play\'s tasks see the roles\' defaults and vars',
      files: {
        'roles/web/defaults/main.yml': 'port: 80\ncolor: blue\nshade: light\nonly_default: d\n',
        'roles/web/vars/main.yml': 'color: red\n',
        'roles/web/tasks/main.yml': `- name: write
  copy: { dest: "{{ root }}/web-{{ shade }}", content: "{{ port }} {{ color }} {{ shade }} {{ only_default }} {{ role_name }}" }
`,
      },
      ansible: rolePlay(
        `    - web
    - { role: web, vars: { shade: dark, color: vars-of-use } }
    - web
`,
        `    - name: play task
      copy: { dest: "{{ root }}/play", content: "{{ port }} {{ color }} {{ only_default }}" }
`,
        '  vars: { port: 8080, color: green }\n',
      ),
      check: (o) => assert.deepEqual(o.files.h1, { 'web-light': '8080 red light d web', 'web-dark': '8080 vars-of-use dark d web', play: '8080 red d' }),
    },
    {
      name: 'roles: meta dependencies run once, before the role that needs them; a dependency with other vars runs again; when and tags of a use pass to its tasks and dependencies',
      args: ['--skip-tags', 'skipped'],
      files: {
        'roles/common/defaults/main.yml': 'label: plain\n',
        'roles/common/tasks/main.yml': `- name: mark
  shell: { cmd: "echo common-{{ label }} >> {{ root }}/order" }
`,
        'roles/a/meta/main.yml': 'dependencies:\n  - common\n',
        'roles/a/tasks/main.yml': `- name: a
  shell: { cmd: "echo a >> {{ root }}/order" }
`,
        'roles/b/meta/main.yml': 'dependencies:\n  - role: common\n  - role: common\n    vars: { label: for-b }\n',
        'roles/b/tasks/main.yml': `- name: b
  shell: { cmd: "echo b >> {{ root }}/order" }
`,
        'roles/c/meta/main.yml': 'dependencies: [a]\n',
        'roles/c/tasks/main.yml': `- name: c
  shell: { cmd: "echo c >> {{ root }}/order" }
`,
        'roles/d/tasks/main.yml': `- name: d
  shell: { cmd: "echo d >> {{ root }}/order" }
`,
      },
      ansible: rolePlay(`    - a
    - b
    - { role: c, when: inventory_hostname != 'h2' }
    - { role: d, tags: [skipped] }
`),
      check: (o) => assert.equal(o.files.h1.order, 'common-plain\na\ncommon-for-b\nb\nc\n'),
    },
    {
      name: 'roles: a role\'s handlers notified from its tasks (by name and as "role : name"), its templates/ and files/ found first, pre_tasks and post_tasks around it with their handlers flushed',
      files: {
        'roles/svc/defaults/main.yml': 'listen_port: 8000\n',
        'roles/svc/templates/svc.conf.j2': 'port={{ listen_port }} host={{ inventory_hostname }}\n',
        'roles/svc/files/static.txt': 'static from the role\n',
        'roles/svc/handlers/main.yml': `- name: restart svc
  shell: { cmd: "echo restarted >> {{ root }}/events" }
- name: reload svc
  shell: { cmd: "echo reloaded >> {{ root }}/events" }
`,
        'roles/svc/tasks/main.yml': `- name: config
  template: { src: svc.conf.j2, dest: "{{ root }}/svc.conf" }
  notify: restart svc
- name: static file
  copy: { src: static.txt, dest: "{{ root }}/static.txt" }
  notify: "svc : reload svc"
- name: unchanged
  copy: { dest: "{{ root }}/svc.conf", content: "port={{ listen_port }} host={{ inventory_hostname }}\\n" }
  notify: "svc : restart svc"
`,
      },
      ansible: `- name: p
  hosts: app
  gather_facts: false
  become: false
  handlers:
    - name: play handler
      shell: { cmd: "echo play-handler >> {{ root }}/events" }
  pre_tasks:
    - name: before
      shell: { cmd: "echo pre >> {{ root }}/events" }
      notify: play handler
  roles:
    - svc
  tasks:
    - name: task
      shell: { cmd: "echo task >> {{ root }}/events" }
  post_tasks:
    - name: after
      shell: { cmd: "echo post >> {{ root }}/events" }
      notify: "svc : restart svc"
`,
      check: (o) => assert.equal(o.files.h1.events, 'pre\nplay-handler\ntask\nrestarted\nreloaded\npost\nrestarted\n'),
    },
    {
      name: 'include_role with tasks_from and vars, import_role with when; their handlers join the play\'s',
      files: {
        'roles/tool/defaults/main.yml': 'what: default\n',
        'roles/tool/tasks/main.yml': `- name: main
  copy: { dest: "{{ root }}/tool-main", content: "{{ what }}" }
  notify: tool done
`,
        'roles/tool/tasks/extra.yml': `- name: extra
  copy: { dest: "{{ root }}/tool-extra", content: "{{ what }}" }
`,
        'roles/tool/handlers/main.yml': `- name: tool done
  shell: { cmd: "echo done >> {{ root }}/tool-events" }
`,
      },
      ansible: ansiblePlay(`    - name: the extra tasks
      include_role: { name: tool, tasks_from: extra }
      vars: { what: included }
    - name: the main tasks
      import_role: { name: tool }
      when: inventory_hostname != 'h2'
    - name: after
      copy: { dest: "{{ root }}/after", content: "a" }
`),
      includes: ['the extra tasks'],
      check: (o) => assert.deepEqual(o.files.h1, { 'tool-extra': 'included', 'tool-main': 'default', 'tool-events': 'done\n', after: 'a' }),
    },
  ];
}
