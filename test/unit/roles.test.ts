import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigErrors } from '../../src/errors.js';
import { localDirOf } from '../../src/playbook/expand.js';
import { loadPlaybooks } from '../../src/playbook/load-playbooks.js';
import { templateCandidates } from '../../src/playbook/render.js';
import { ROLES_PATH_ENV } from '../../src/playbook/roles.js';
import { getModule as lookup } from '../../src/modules/index.js';

/** A project in a temp directory: `files` by path relative to it; returns its directory. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'roles-test-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

function errorsOf(dir: string): string[] {
  try {
    loadPlaybooks([join(dir, 'site.yml')], lookup);
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, `expected ConfigErrors, got ${err}`);
    return err.errors.map((e) => e.message.split(`${relative(process.cwd(), dir)}/`).join('').split(`${dir}/`).join(''));
  }
  return [];
}

const copy = (name: string, content: string) => `- name: ${name}\n  copy: { dest: /tmp/${name}, content: "${content}" }\n`;

describe('roles', () => {
  it('roles: dependencies first, each once per set of parameters; pre_tasks, roles, tasks, post_tasks in order with the handlers flushed between', () => {
    const dir = project({
      'site.yml': '- hosts: web\n  pre_tasks:\n' + indent(copy('pre', 'p'), 4) + '  roles:\n    - a\n    - b\n    - { role: common, vars: { x: 2 } }\n  tasks:\n' + indent(copy('task', 't'), 4) + '  post_tasks:\n' + indent(copy('post', 'p'), 4),
      'roles/common/tasks/main.yml': copy('common', 'c'),
      'roles/a/meta/main.yml': 'dependencies: [common]\n',
      'roles/a/tasks/main.yml': copy('a', 'a'),
      'roles/b/meta/main.yml': 'dependencies:\n  - role: common\n  - role: a\n',
      'roles/b/tasks/main.yml': copy('b', 'b'),
    });
    const [play] = loadPlaybooks([join(dir, 'site.yml')], lookup);
    assert.deepEqual(play!.tasks.map((t) => t.name), [
      'pre', 'meta: flush_handlers', 'common : common', 'a : a', 'b : b', 'common : common', 'task', 'meta: flush_handlers', 'post',
    ]);
    assert.deepEqual(play!.tasks.filter((t) => t.implicit).map((t) => t.keyPath), ['plays.0.pre_tasks', 'plays.0.post_tasks']);
    assert.deepEqual(play!.tasks.filter((t) => t.role).map((t) => [t.role!.name, t.pos.file.slice(dir.length)]), [
      ['common', '/roles/common/tasks/main.yml'], ['a', '/roles/a/tasks/main.yml'], ['b', '/roles/b/tasks/main.yml'], ['common', '/roles/common/tasks/main.yml'],
    ]);
  });

  it('variables: public defaults < own defaults < play vars < public vars < own vars < the vars of the use; include_role\'s stay its own', () => {
    const dir = project({
      'site.yml': '- hosts: web\n  vars: { p: play, d: play }\n  roles:\n    - { role: r, vars: { u: use } }\n  tasks:\n    - include_role: { name: private }\n',
      'roles/r/defaults/main.yml': 'd: default\nonly_default: od\nv: default\np: default\n',
      'roles/r/vars/main.yml': 'v: vars\np: role-vars\n',
      'roles/r/tasks/main.yml': copy('t', 'x'),
      'roles/private/defaults/main.yml': 'secret_default: s\n',
      'roles/private/tasks/main.yml': copy('t', 'x'),
    });
    const [play] = loadPlaybooks([join(dir, 'site.yml')], lookup);
    const [inRole, inPrivate] = play!.tasks;
    assert.deepEqual(play!.vars, { d: 'play', only_default: 'od', v: 'vars', p: 'role-vars' });
    assert.deepEqual(inRole!.vars, { d: 'play', only_default: 'od', v: 'vars', p: 'role-vars', u: 'use', role_name: 'r', role_path: join(dir, 'roles/r') });
    assert.equal(inPrivate!.vars!.secret_default, 's');
    assert.equal((play!.vars as Record<string, unknown>).secret_default, undefined);
  });

  it('a role\'s handlers are named "role : name" and answer to either name; include_role with tasks_from; when and tags pass down', () => {
    const dir = project({
      'site.yml': '- hosts: web\n  tasks:\n    - include_role: { name: svc, tasks_from: extra }\n      when: "go"\n      tags: [svc]\n',
      'roles/svc/tasks/extra.yml': '- name: conf\n  copy: { dest: /tmp/c, content: c }\n  notify: [restart, "svc : restart"]\n',
      'roles/svc/handlers/main.yml': '- name: restart\n  service: { name: svc, state: restarted }\n',
    });
    const [play] = loadPlaybooks([join(dir, 'site.yml')], lookup);
    assert.deepEqual(play!.tasks.map((t) => [t.name, t.when, t.tags, t.notify]), [['svc : conf', 'go', ['svc'], ['restart', 'svc : restart']]]);
    assert.deepEqual(play!.handlers.map((h) => [h.name, h.listen]), [['svc : restart', ['restart']]]);
  });

  it('roles are found in BOOTSTRAP_ROLES_PATH after roles/ next to the playbook', () => {
    const shared = project({ 'elsewhere/tasks/main.yml': copy('t', 'x') });
    const dir = project({ 'site.yml': '- hosts: web\n  roles: [elsewhere]\n' });
    process.env[ROLES_PATH_ENV] = `/nonexistent:${shared}`;
    try {
      const [play] = loadPlaybooks([join(dir, 'site.yml')], lookup);
      assert.equal(play!.tasks[0]!.role!.dir, join(shared, 'elsewhere'));
    } finally {
      delete process.env[ROLES_PATH_ENV];
    }
  });

  it('a role\'s templates/ and files/ come first for relative sources, then the playbook\'s', () => {
    const dir = project({ 'roles/r/files/a.txt': 'a', 'b.txt': 'b', 'site.yml': '- hosts: web\n  roles: [r]\n', 'roles/r/tasks/main.yml': copy('t', 'x') });
    const [play] = loadPlaybooks([join(dir, 'site.yml')], lookup);
    const task = play!.tasks[0]!;
    assert.equal(localDirOf(task, play!, 'a.txt'), join(dir, 'roles/r/files'));
    assert.equal(localDirOf(task, play!, 'b.txt'), dir);
    assert.deepEqual(templateCandidates('x.j2', join(dir, 'site.yml'), join(dir, 'roles/r')), [
      join(dir, 'roles/r/templates/x.j2'), join(dir, 'roles/r/x.j2'), join(dir, '../templates/x.j2'), join(dir, 'x.j2'),
    ]);
  });

  const bad: Array<[string, Record<string, string>, string[]]> = [
    ['a role that is not there', { 'site.yml': '- hosts: web\n  roles:\n    - nope\n' }, ['site.yml:3:7 plays.0.roles.0: role not found: "nope" (looked for roles/nope, nope)']],
    ['a dependency cycle', {
      'site.yml': '- hosts: web\n  roles:\n    - a\n',
      'roles/a/meta/main.yml': 'dependencies:\n  - b\n',
      'roles/b/meta/main.yml': 'dependencies:\n  - role: a\n',
    }, ['roles/b/meta/main.yml:2:11 dependencies.0.role: role dependency cycle: roles/a -> roles/b -> roles/a']],
    ['a role parameter outside vars', { 'site.yml': '- hosts: web\n  roles:\n    - { role: r, port: 80 }\n', 'roles/r/tasks/main.yml': copy('t', 'x') },
      ['site.yml:3:18 plays.0.roles.0.port: unknown key `port` of a role entry (role, vars, when, tags, become); a role\'s parameters go under `vars:` ({ role: ..., vars: { port: ... } })']],
    ['a tasks_from file that is not there', { 'site.yml': '- hosts: web\n  tasks:\n    - import_role: { name: r, tasks_from: nope }\n', 'roles/r/tasks/main.yml': copy('t', 'x') },
      ['site.yml:3:28 plays.0.tasks.0.import_role.name: the role r has no tasks/nope.yml (in roles/r)']],
    ['a role task that notifies no handler', { 'site.yml': '- hosts: web\n  roles: [r]\n', 'roles/r/tasks/main.yml': '- copy: { dest: /tmp/x, content: x }\n  notify: restrat\n', 'roles/r/handlers/main.yml': '- name: restart\n  service: { name: x, state: restarted }\n' },
      ['roles/r/tasks/main.yml:2:11 tasks.0.notify: notify names no handler of this play: "restrat"; did you mean `restart`?']],
    ['a bad task inside a role', { 'site.yml': '- hosts: web\n  roles: [r]\n', 'roles/r/tasks/main.yml': '- pakage: { name: x }\n' },
      ['roles/r/tasks/main.yml:1:3 tasks.0.pakage: unknown module `pakage`; did you mean `package`?']],
    ['include_role in handlers', { 'site.yml': '- hosts: web\n  handlers:\n    - name: h\n      include_role: { name: r }\n', 'roles/r/tasks/main.yml': copy('t', 'x') },
      ['site.yml:4:7 plays.0.handlers.0.include_role: `include_role` is for tasks, not handlers']],
  ];
  for (const [name, files, expected] of bad) {
    it(`refused before any connection: ${name}`, () => assert.deepEqual(errorsOf(project(files)), expected));
  }
});

function indent(text: string, n: number): string {
  return text.split('\n').map((line) => (line ? ' '.repeat(n) + line : line)).join('\n');
}
