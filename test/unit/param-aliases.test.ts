/**
 * Parameter aliases (src/schema/aliases.ts): a parameter written under an alias Ansible documents
 * loads to the same task as under its own name; a parameter given under two of its names is
 * refused offline, at the second key's file:line:col; the editor schema accepts aliases too.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { ConfigErrors } from '../../src/errors.js';
import { getModule } from '../../src/modules/index.js';
import { loadPlaybooks } from '../../src/playbook/load-playbooks.js';
import { packageRoot } from '../../src/paths.js';
import { positionIn } from '../../src/yaml/positions.js';

function load(tasks: string): { file: string; plays: ReturnType<typeof loadPlaybooks> } {
  const dir = mkdtempSync(join(tmpdir(), 'param-aliases-'));
  const file = join(dir, 'site.yml');
  writeFileSync(file, `- hosts: web\n  tasks:\n${tasks}`);
  return { file, plays: loadPlaybooks([file], getModule) };
}

function errorsOf(tasks: string): string[] {
  try {
    load(tasks);
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, `expected ConfigErrors, got ${err}`);
    return err.errors.map((e) => e.message.replace(/^.*\/site\.yml/, 'site.yml'));
  }
  assert.fail('the playbook loaded');
}

describe('parameter aliases', () => {
  it('an alias loads to the same parameters as the canonical name', () => {
    const cases: Array<[string, string]> = [
      ['lineinfile: { dest: /etc/a, regex: "^a=", value: "a=1" }', 'lineinfile: { path: /etc/a, regexp: "^a=", line: "a=1" }'],
      ['blockinfile: { name: /etc/a, content: "x" }', 'blockinfile: { path: /etc/a, block: "x" }'],
      ['file: { dest: /etc/a, state: directory }', 'file: { path: /etc/a, state: directory }'],
      ['stat: { name: /etc/a }', 'stat: { path: /etc/a }'],
      ['user: { user: deploy, createhome: false }', 'user: { name: deploy, create_home: false }'],
      ['systemd: { service: nginx, daemon-reload: true }', 'systemd: { name: nginx, daemon_reload: true }'],
      ['assert: { that: "true", msg: no }', 'assert: { that: "true", fail_msg: no }'],
    ];
    for (const [alias, canonical] of cases) {
      const viaAlias = load(`    - ${alias}\n`).plays[0]!.tasks[0]!;
      const viaName = load(`    - ${canonical}\n`).plays[0]!.tasks[0]!;
      assert.deepEqual(viaAlias.params, viaName.params, alias);
      assert.equal(viaAlias.module, viaName.module);
    }
  });

  it('an error found after loading points at the key the user wrote', () => {
    const { file, plays } = load('    - lineinfile:\n        dest: /etc/a\n        line: x\n');
    const task = plays[0]!.tasks[0]!;
    assert.deepEqual(positionIn(file, `${task.keyPath}.lineinfile.path`, 'key'), { file, line: 4, col: 9 });
  });

  it('refuses an alias given with its parameter, or two aliases of one, at file:line:col', () => {
    assert.deepEqual(errorsOf('    - lineinfile:\n        path: /etc/a\n        dest: /etc/b\n        line: x\n'), [
      'site.yml:5:9 plays.0.tasks.0.lineinfile.dest: `dest` is given with `path`: both name the parameter `path` (aliases: dest, destfile, name); give it once',
    ]);
    assert.deepEqual(errorsOf('    - systemd: { service: a, name: b }\n'), [
      'site.yml:3:30 plays.0.tasks.0.systemd.name: `name` is given with `service`: both name the parameter `name` (aliases: service); give it once',
    ]);
    assert.deepEqual(errorsOf('    - blockinfile: { dest: /a, name: /b, block: x }\n'), [
      'site.yml:3:32 plays.0.tasks.0.blockinfile.name: `name` is given with `dest`: both name the parameter `path` (aliases: dest, destfile, name); give it once',
    ]);
  });

  it('a type error names the alias as written', () => {
    assert.deepEqual(errorsOf('    - lineinfile: { dest: etc/a, line: x }\n'), [
      'site.yml:3:27 plays.0.tasks.0.lineinfile.dest: expected an absolute path, got "etc/a"',
    ]);
  });

  it('a required parameter is there under an alias; missing under every name, it is named by its own name', () => {
    assert.deepEqual(errorsOf('    - lineinfile: { line: x }\n').map((m) => m.replace(/ \(.*$/, '')), ['site.yml:3:19 plays.0.tasks.0.lineinfile.path: missing required key `path`']);
  });

  it('the editor schema accepts aliases as keys and still requires the parameter under some name', () => {
    const tasks = new Ajv({ strict: false }).compile(JSON.parse(readFileSync(join(packageRoot, 'schema', 'tasks.schema.json'), 'utf8')));
    assert.ok(tasks([{ lineinfile: { dest: '/etc/a', regex: '^a', value: 'a' } }, { systemd: { service: 'nginx', 'daemon-reload': true } }]), JSON.stringify(tasks.errors));
    assert.equal(tasks([{ lineinfile: { line: 'a' } }]), false, 'lineinfile without path under any name');
    assert.equal(tasks([{ lineinfile: { dset: '/etc/a', line: 'a' } }]), false, 'an unknown key');
  });
});
