import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ConfigErrors } from '../../src/errors.js';
import type { Module } from '../../src/modules/types.js';
import { loadPlaybooks } from '../../src/playbook/load-playbooks.js';
import type { Field } from '../../src/schema/types.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/config/', import.meta.url));

/** Parameter schemas as in the module contract; planning is not exercised here. */
function module(name: string, params: Record<string, Field>): Module {
  return { name, params, facts: () => [], plan: () => ({ changes: [] }) };
}
const stringOrList: Field = { type: 'oneOf', alternatives: [{ type: 'string' }, { type: 'list', items: { type: 'string' } }], hint: 'a string or a list of strings' };
const modules = new Map<string, Module>([
  ['package', module('package', { name: { ...stringOrList, required: true }, state: { type: 'string', enum: ['present', 'absent', 'latest'] } })],
  ['template', module('template', { src: { type: 'string', required: true }, dest: { type: 'string', required: true }, mode: { type: 'mode' } })],
  ['copy', module('copy', { dest: { type: 'string', required: true }, content: { type: 'string' } })],
  ['service', module('service', { name: { type: 'string', required: true }, state: { type: 'string', enum: ['started', 'stopped', 'restarted', 'reloaded'] } })],
]);
export const lookup = (name: string) => modules.get(name);

function playbookErrors(text: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'playbook-test-'));
  writeFileSync(join(dir, 'site.yml'), text);
  try {
    loadPlaybooks([join(dir, 'site.yml')], lookup);
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, `expected ConfigErrors, got ${err}`);
    return err.errors.map((e) => e.message.split(`${dir}/`).join(''));
  }
  return [];
}

const play = (tasks: string) => `- hosts: web\n  tasks:\n${tasks}`;

describe('loadPlaybooks rejects bad input with file:line:col, key path and message', () => {
  const cases: Array<[string, string, string[]]> = [
    ['empty file', '', ['site.yml: the playbook is empty; expected a list of plays (- hosts: ...)']],
    ['a map instead of a list', 'hosts: web\n', ['site.yml:1:1: expected a list of plays (- hosts: ...), got a map']],
    ['YAML syntax error', '- hosts: web\n  tasks: [\n', ['site.yml:3:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]']],
    ['missing hosts', '- name: x\n  tasks: []\n', ['site.yml:1:3 plays.0.hosts: missing required key `hosts` (a host pattern (a group, a host, all, or a pattern like web:&prod))']],
    ['unknown play key', '- hosts: web\n  task: []\n', ['site.yml:2:3 plays.0.task: unknown key `task`; did you mean `tasks`?']],
    ['become not a boolean', '- hosts: web\n  become: sudo\n', ['site.yml:2:11 plays.0.become: expected true or false, got "sudo"']],
    ['unknown module', play('    - pakage: { name: nginx }\n'), ['site.yml:3:7 plays.0.tasks.0.pakage: unknown module `pakage`; did you mean `package`?']],
    ['unknown task key', play('    - package: { name: nginx }\n      whne: "true"\n'), ['site.yml:4:7 plays.0.tasks.0.whne: unknown task key `whne`; did you mean `when`?']],
    ['two module keys', play('    - copy: { dest: /a }\n      template: { src: a, dest: /a }\n'), ['site.yml:4:7 plays.0.tasks.0.template: a task runs exactly one module, found `copy` and `template`; split it into separate tasks']],
    ['no module key', play('    - name: nothing\n'), ['site.yml:3:7 plays.0.tasks.0: a task needs exactly one module key (one of: package, copy, template, service), or `meta: flush_handlers`, or `block:`']],
    ['task not a map', play('    - package\n'), ['site.yml:3:7 plays.0.tasks.0: expected a task (a map with a module key like `package:`), got "package"']],
    ['params not a map', play('    - package: nginx\n'), ['site.yml:3:16 plays.0.tasks.0.package: expected a map of parameters for module `package`, got "nginx"']],
    ['unknown param', play('    - template:\n        src: a.ejs\n        dset: /etc/a\n'), [
      'site.yml:4:9 plays.0.tasks.0.template.dest: missing required key `dest` (a string)',
      'site.yml:5:9 plays.0.tasks.0.template.dset: unknown key `dset`; did you mean `dest`?',
    ]],
    ['bad enum param', play('    - package: { name: nginx, state: installed }\n'), ['site.yml:3:38 plays.0.tasks.0.package.state: expected one of present, absent, latest, got "installed"']],
    ['unquoted mode param', play('    - template: { src: a, dest: /a, mode: 0644 }\n'), ['site.yml:3:43 plays.0.tasks.0.template.mode: expected a file mode as a quoted octal string like "0644", got 644 (YAML reads an unquoted mode as a decimal number; quote it, e.g. "0644")']],
    ['when that does not compile', play('    - package: { name: nginx }\n      when: "facts.init ==="\n'), ['site.yml:4:13 plays.0.tasks.0.when: not a valid JavaScript expression: Unexpected token \')\' (in "facts.init ===")']],
    ['loop that does not compile', play('    - package: { name: "<%= item %>" }\n      loop: "apps.map(a =>"\n'), ['site.yml:4:13 plays.0.tasks.0.loop: not a valid JavaScript expression: Unexpected token \')\' (in "apps.map(a =>")']],
    ['bad loop_var', play('    - package: { name: nginx }\n      loop: [a]\n      loop_var: my-item\n'), ['site.yml:5:17 plays.0.tasks.0.loop_var: expected a JavaScript identifier like item or app, got "my-item"']],
    ['notify naming no handler', '- hosts: web\n  handlers:\n    - name: reload nginx\n      service: { name: nginx, state: reloaded }\n  tasks:\n    - package: { name: nginx }\n      notify: [reload ngnix]\n', ['site.yml:7:16 plays.0.tasks.0.notify.0: notify names no handler of this play: "reload ngnix"; did you mean `reload nginx`?']],
    ['notify in a play without handlers', play('    - package: { name: nginx }\n      notify: restart it\n'), ['site.yml:4:15 plays.0.tasks.0.notify: notify names no handler of this play: "restart it" (this play has no handlers)']],
    ['handler without a name', '- hosts: web\n  handlers:\n    - service: { name: nginx, state: reloaded }\n', ['site.yml:3:7 plays.0.handlers.0: a handler needs a `name` (tasks notify it by name)']],
    ['import of a missing file', '- import_playbook: nope.yml\n', ['site.yml:1:20 plays.0.import_playbook: imported playbook not found: nope.yml']],
    ['serial of 0 hosts', '- hosts: web\n  serial: 0\n', ['site.yml:2:11 plays.0.serial: expected an integer >= 1, got 0']],
    ['serial percentage over 100', '- hosts: web\n  serial: [1, "150%"]\n', ['site.yml:2:15 plays.0.serial.1: expected a percentage from 1% to 100%, got "150%"']],
    ['max_fail_percentage over 100', '- hosts: web\n  serial: 1\n  max_fail_percentage: 120\n', ['site.yml:3:24 plays.0.max_fail_percentage: expected an integer 0-100, got 120']],
    ['import with another key', '- import_playbook: site.yml\n  hosts: web\n', ['site.yml:2:3 plays.0.hosts: unknown key `hosts` (expected one of: import_playbook, when)']],
    ['import with a when that does not compile', '- import_playbook: other.yml\n  when: "a ==="\n', ['site.yml:2:9 plays.0.when: not a valid JavaScript expression: Unexpected token \')\' (in "a ===")', 'site.yml:1:20 plays.0.import_playbook: imported playbook not found: other.yml']],
    ['unknown task key near a new keyword', play('    - package: { name: nginx }\n      registr: out\n'), ['site.yml:4:7 plays.0.tasks.0.registr: unknown task key `registr`; did you mean `register`?']],
    ['register not an identifier', play('    - package: { name: nginx }\n      register: my-out\n'), ['site.yml:4:17 plays.0.tasks.0.register: expected a JavaScript identifier like result or leader, got "my-out"']],
    ['register under a reserved name', play('    - package: { name: nginx }\n      register: facts\n'), ['site.yml:4:17 plays.0.tasks.0.register: `facts` is a reserved name in templates and expressions; register under another name']],
    ['changed_when that does not compile', play('    - package: { name: nginx }\n      changed_when: "out.rc =="\n'), ['site.yml:4:21 plays.0.tasks.0.changed_when: not a valid JavaScript expression: Unexpected token \')\' (in "out.rc ==")']],
    ['retries without until', play('    - package: { name: nginx }\n      retries: 3\n'), ['site.yml:4:7 plays.0.tasks.0.retries: `retries` needs `until` (the condition to retry on)']],
    ['negative retries', play('    - package: { name: nginx }\n      until: "true"\n      retries: -1\n'), ['site.yml:5:16 plays.0.tasks.0.retries: expected an integer >= 0, got -1']],
    ['listen on a task', play('    - package: { name: nginx }\n      listen: x\n'), ['site.yml:4:7 plays.0.tasks.0.listen: `listen` is for handlers; tasks `notify` a handler name or a listen topic']],
    ['an Ansible task key without an equivalent is named as a task key', play('    - package: { name: nginx }\n      environment: { A: b }\n'), ['site.yml:4:7 plays.0.tasks.0.environment: task key `environment` is Ansible\'s and not supported here: set variables in the command itself (`shell`, or `argv: [env, NAME=value, ...]`) (docs/playbooks.md: Coming from Ansible)']],
    ['loop_control without loop', play('    - package: { name: nginx }\n      loop_control: { label: x }\n'), ['site.yml:4:7 plays.0.tasks.0.loop_control: `loop_control` needs `loop` (the list to run the task over)']],
    ['loop_var twice', play('    - package: { name: "<%= p %>" }\n      loop: [a]\n      loop_var: p\n      loop_control: { loop_var: p }\n'), ['site.yml:5:7 plays.0.tasks.0.loop_var: give the loop variable once: `loop_var` here is an alias of `loop_control.loop_var`']],
    ['unknown loop_control key', play('    - package: { name: nginx }\n      loop: [a]\n      loop_control: { index: i }\n'), ['site.yml:5:23 plays.0.tasks.0.loop_control.index: unknown key `index` (expected one of: loop_var, index_var, label, pause, extended)']],
    ['a task file that is not there', play('    - import_tasks: nope.yml\n'), ['site.yml:3:21 plays.0.tasks.0.import_tasks: task file not found: nope.yml']],
    ['meta other than flush_handlers', play('    - meta: end_play\n'), ['site.yml:3:13 plays.0.tasks.0.meta: expected `flush_handlers` (the only meta action supported), got "end_play"']],
    ['unknown block key', play('    - block:\n        - package: { name: nginx }\n      rescu: []\n'), ['site.yml:5:7 plays.0.tasks.0.rescu: unknown key `rescu`; did you mean `rescue`?']],
    ['bad task inside a rescue', play('    - block:\n        - package: { name: nginx }\n      rescue:\n        - pakage: { name: nginx }\n'), ['site.yml:6:11 plays.0.tasks.0.rescue.0.pakage: unknown module `pakage`; did you mean `package`?']],
    ['register used before it exists', play('    - package: { name: nginx }\n      when: "out.rc === 0"\n    - package: { name: curl }\n      register: out\n'), ['site.yml:4:13 plays.0.tasks.0.when: `out` is used before it is registered: task "package" at plays.0.tasks.1 (line 5) registers it later, and a registered value is only visible to the tasks after it']],
    ['register used in EJS before it exists', play('    - copy: { dest: /a, content: "<%= out.stdout %>" }\n    - package: { name: curl }\n      register: out\n'), ['site.yml:3:34 plays.0.tasks.0.copy.content: `out` is used before it is registered: task "package" at plays.0.tasks.1 (line 4) registers it later, and a registered value is only visible to the tasks after it']],
    ['missing vars file', '- hosts: web\n  vars_files: [nope.yml]\n', ['site.yml:2:16 plays.0.vars_files.0: vars file not found: nope.yml']],
    ['notify naming a listen topic that does not exist', '- hosts: web\n  handlers:\n    - name: reload nginx\n      listen: web config\n      service: { name: nginx, state: reloaded }\n  tasks:\n    - package: { name: nginx }\n      notify: web confg\n', ['site.yml:8:15 plays.0.tasks.0.notify: notify names no handler of this play: "web confg"; did you mean `web config`?']],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => assert.deepEqual(playbookErrors(text), expected));
  }
});

describe('loadPlaybooks', () => {
  it('import_tasks: the tasks of the file, with the entry\'s when and tags; a cycle of task files is an error at the import', () => {
    const dir = mkdtempSync(join(tmpdir(), 'playbook-test-'));
    writeFileSync(join(dir, 'site.yml'), '- hosts: web\n  tasks:\n    - import_tasks: a.yml\n      when: "x === 1"\n      tags: [t]\n');
    writeFileSync(join(dir, 'a.yml'), '- name: in a\n  package: { name: curl }\n  when: "y"\n');
    const [play] = loadPlaybooks([join(dir, 'site.yml')], lookup);
    assert.deepEqual(play!.tasks.map((t) => [t.name, t.when, t.tags, t.pos.file === join(dir, 'a.yml'), t.keyPath]), [['in a', '(x === 1) && (y)', ['t'], true, 'tasks.0']]);
    writeFileSync(join(dir, 'a.yml'), '- import_tasks: b.yml\n');
    writeFileSync(join(dir, 'b.yml'), '- include_tasks: { file: a.yml }\n');
    assert.throws(() => loadPlaybooks([join(dir, 'site.yml')], lookup), (err: unknown) => {
      assert.ok(err instanceof ConfigErrors);
      assert.deepEqual(err.errors.map((e) => e.message.split(`${relative(process.cwd(), dir)}/`).join('').split(`${dir}/`).join('')), ['b.yml:1:18 tasks.0.include_tasks: task file import cycle: a.yml -> b.yml -> a.yml']);
      return true;
    });
  });

  it('reads serial as a list of batch sizes and max_fail_percentage', () => {
    const dir = mkdtempSync(join(tmpdir(), 'playbook-test-'));
    writeFileSync(join(dir, 'site.yml'), '- hosts: web\n  serial: [1, "50%"]\n  max_fail_percentage: 20\n- hosts: lb\n  serial: 1\n- hosts: db\n');
    const plays = loadPlaybooks([join(dir, 'site.yml')], lookup);
    assert.deepEqual(plays.map((p) => [p.serial, p.maxFailPercentage]), [[[1, '50%'], 20], [[1], undefined], [undefined, undefined]]);
  });

  it('loads plays and tasks, following import_playbook relative to the importing file', () => {
    const plays = loadPlaybooks([join(fixtures, 'project/playbooks/site.yml')], lookup);
    assert.deepEqual(plays.map((p) => [p.name, p.hosts, p.become, p.file.slice(fixtures.length)]), [
      ['load balancer', 'lb', true, 'project/playbooks/lb.yml'],
      ['web', 'web', true, 'project/playbooks/web.yml'],
    ]);
    const [, upstream] = plays[0].tasks;
    const { name, module, params, when, loop, loopVar, notify, tags, become, pos, keyPath } = upstream;
    assert.deepEqual(
      { name, module, params, when, loop, loopVar, notify, tags, become, keyPath, pos: `${pos.line}:${pos.col}` },
      {
        name: 'one upstream per app',
        module: 'template',
        params: { src: 'upstream.conf.ejs', dest: '/etc/nginx/conf.d/<%= app.name %>.conf', mode: '0644' },
        when: undefined,
        loop: 'sites',
        loopVar: 'app',
        notify: ['reload nginx'],
        tags: ['nginx'],
        become: undefined,
        pos: '11:7',
        keyPath: 'plays.0.tasks.1',
      },
    );
    assert.deepEqual(plays[0].handlers.map((h) => [h.name, h.module, h.keyPath]), [['reload nginx', 'service', 'plays.0.handlers.0']]);
    assert.equal(plays[1].tasks[0].when, "facts.init === 'systemd'");
    assert.equal(plays[1].tasks[0].loopVar, 'item');
  });

  it('an import_playbook `when` applies to every task of the imported plays, and-ed with their own', () => {
    const dir = mkdtempSync(join(tmpdir(), 'playbook-test-'));
    writeFileSync(join(dir, 'site.yml'), '- import_playbook: inner.yml\n  when: "load_balancer === \'haproxy\'"\n- import_playbook: other.yml\n');
    writeFileSync(join(dir, 'inner.yml'), '- hosts: lb\n  handlers:\n    - name: reload it\n      service: { name: haproxy, state: reloaded }\n  tasks:\n    - package: { name: haproxy }\n    - package: { name: socat }\n      when: "!!apt_proxy"\n');
    writeFileSync(join(dir, 'other.yml'), '- hosts: web\n  tasks:\n    - package: { name: curl }\n');
    const [inner, other] = loadPlaybooks([join(dir, 'site.yml')], lookup);
    assert.deepEqual(inner.tasks.map((t) => t.when), ["load_balancer === 'haproxy'", "(load_balancer === 'haproxy') && (!!apt_proxy)"]);
    assert.equal(inner.handlers[0].when, undefined);
    assert.equal(other.tasks[0].when, undefined);
  });

  it('turns a literal loop list into an expression, inherits play tags, defaults names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'playbook-test-'));
    writeFileSync(join(dir, 'p.yml'), '- hosts: [web, lb]\n  become: false\n  tags: base\n  tasks:\n    - package: { name: "<%= item %>" }\n      loop: [curl, "jq"]\n      tags: [tools]\n      become: true\n');
    const [p] = loadPlaybooks([join(dir, 'p.yml')], lookup);
    assert.equal(p.hosts, 'web,lb');
    assert.equal(p.name, 'web,lb');
    assert.equal(p.become, false);
    assert.deepEqual([p.tasks[0].name, p.tasks[0].loop, p.tasks[0].tags, p.tasks[0].become], ['package', '["curl","jq"]', ['base', 'tools'], true]);
  });

  it('reads the Ansible keywords: register, conditions, retries, run_once, delegate_to, listen, meta, vars_files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'playbook-test-'));
    writeFileSync(join(dir, 'vars.yml'), 'port: 8080\nname: from-file\n');
    writeFileSync(
      join(dir, 'p.yml'),
      `- hosts: web
  vars: { name: inline, keep: 1 }
  vars_files: vars.yml
  handlers:
    - name: reload nginx
      listen: [web config]
      service: { name: nginx, state: reloaded }
  tasks:
    - package: { name: nginx }
      register: out
      changed_when: false
      failed_when: "out.rc > 1"
      ignore_errors: true
      until: "out.rc === 0"
      retries: 0
      delay: 2
      run_once: true
      delegate_to: lb1
      notify: web config
    - meta: flush_handlers
`,
    );
    const [p] = loadPlaybooks([join(dir, 'p.yml')], lookup);
    assert.deepEqual(p.vars, { name: 'from-file', keep: 1, port: 8080 });
    const [t, flush] = p.tasks;
    assert.deepEqual(
      [t.register, t.changedWhen, t.failedWhen, t.ignoreErrors, t.until, t.retries, t.delay, t.runOnce, t.delegateTo, t.notify],
      ['out', 'false', 'out.rc > 1', true, 'out.rc === 0', 0, 2, true, 'lb1', ['web config']],
    );
    assert.deepEqual([flush.module, flush.meta, flush.name], ['meta', 'flush_handlers', 'meta: flush_handlers']);
    assert.deepEqual(p.handlers[0].listen, ['web config']);
  });

  it('a block passes when, become, tags and notify down to its block, rescue and always tasks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'playbook-test-'));
    writeFileSync(
      join(dir, 'p.yml'),
      `- hosts: web
  tags: play
  handlers:
    - name: h
      service: { name: nginx, state: reloaded }
  tasks:
    - name: outer
      when: "a"
      become: false
      tags: [outer]
      notify: h
      block:
        - package: { name: one }
          when: "b"
        - block:
            - package: { name: two }
              tags: [inner]
          when: "c"
          become: true
      rescue:
        - package: { name: three }
      always:
        - package: { name: four }
    - package: { name: five }
`,
    );
    const [p] = loadPlaybooks([join(dir, 'p.yml')], lookup);
    assert.deepEqual(
      p.tasks.map((t) => [t.params.name, t.when, t.become, t.tags, t.notify, t.keyPath]),
      [
        ['one', '(a) && (b)', false, ['play', 'outer'], ['h'], 'plays.0.tasks.0.block.0'],
        ['two', '(a) && (c)', true, ['play', 'outer', 'inner'], ['h'], 'plays.0.tasks.0.block.1.block.0'],
        ['three', 'a', false, ['play', 'outer'], ['h'], 'plays.0.tasks.0.rescue.0'],
        ['four', 'a', false, ['play', 'outer'], ['h'], 'plays.0.tasks.0.always.0'],
        ['five', undefined, undefined, ['play'], [], 'plays.0.tasks.1'],
      ],
    );
    assert.equal(p.steps.length, 2);
  });

  it('detects import cycles and names the chain', () => {
    const a = join(fixtures, 'cycle/a.yml');
    assert.throws(
      () => loadPlaybooks([a], lookup),
      (err: unknown) => {
        assert.ok(err instanceof ConfigErrors);
        assert.deepEqual(
          err.errors.map((e) => e.message.split(fixtures).join('')),
          [`cycle/b.yml:3:20 plays.1.import_playbook: import cycle: ${[a, join(fixtures, 'cycle/b.yml'), a].map((f) => relative(process.cwd(), f)).join(' -> ')}`],
        );
        return true;
      },
    );
  });

  it('reports a missing playbook file', () => {
    assert.throws(() => loadPlaybooks(['/nonexistent/site.yml'], lookup), /\/nonexistent\/site\.yml: playbook file not found/);
  });
});
