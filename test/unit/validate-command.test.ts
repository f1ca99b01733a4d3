import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';

const example = fileURLToPath(new URL('../../../inventory/example.yaml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'validate-command-'));

describe('validate honours --output json and -v', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('json: one object with the counts; -v adds each play', async () => {
    const plain = await runCli(['validate', example, '--output', 'json']);
    assert.equal(plain.code, 0, plain.stderr);
    const summary = JSON.parse(plain.stdout);
    assert.equal(summary.valid, true);
    assert.equal(summary.hosts, 3);
    assert.equal(summary.perPlay, undefined);
    const verbose = await runCli(['validate', example, '--output', 'json', '-v', '--limit', 'web1']);
    const perPlay = JSON.parse(verbose.stdout).perPlay as Array<{ play: string; hosts: string[]; tasks: number }>;
    assert.deepEqual(perPlay.find((p) => p.play === 'web')?.hosts, ['web1']);
    assert.deepEqual(perPlay.find((p) => p.play === 'consul servers')?.hosts, []);
  });

  it('json: problems as objects with file, line, col and key path, exit 2', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'all:\n  children:\n    lb:\n      hosts:\n        lb1: { address: 10.0.0.1, port: twenty }\n    web:\n      hosts:\n        web1: { address: 10.0.0.2 }\n');
    const r = await runCli(['validate', bad, '--output', 'json']);
    assert.equal(r.code, 2);
    const out = JSON.parse(r.stdout);
    assert.equal(out.valid, false);
    assert.deepEqual(
      out.problems.map((p: Record<string, unknown>) => [p.file, p.line, p.col, p.keyPath]),
      [[bad, 5, 41, 'all.children.lb.hosts.lb1.port']],
    );
  });

  it('text -v: a line per play with its hosts and tasks', async () => {
    const r = await runCli(['validate', example, '-v']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^  play "web" \(.*playbooks\/web\.yml\): 2 hosts \(web1, web2\), \d+ tasks, \d+ handlers?$/m);
  });
});

describe('bad input is refused before any connection: exit 2, file:line:col, no stack trace', () => {
  const project = mkdtempSync(join(tmpdir(), 'bad-input-'));
  after(() => rmSync(project, { recursive: true, force: true }));
  // a host nothing listens for: a run that connected would fail unreachable (exit 4), not 2
  const inventory = (vars = '  vars: { greeting: hi }\n') => `all:\n${vars}  children:\n    app:\n      hosts:\n        h1: { address: 127.0.0.1, port: 1 }\n`;
  const play = (tasks: string, vars = '') => `- name: p\n  hosts: app\n${vars}  tasks:\n${tasks}`;
  const write = (name: string, text: string | Buffer) => {
    const path = join(project, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return path;
  };

  const cases: Array<{ name: string; files: Record<string, string | Buffer>; at: string; says: RegExp }> = [
    {
      name: 'a YAML anchor whose value contains its own alias (a cycle), in a playbook',
      files: { 'inv.yaml': inventory(), 'site.yml': play('    - copy: { dest: /tmp/x, content: "<%= level %>" }\n', '  vars: &v { level: 1, again: *v }\n') },
      at: 'site.yml:3:31', says: /YAML alias \*v is inside the value its anchor &v names/,
    },
    {
      name: 'a YAML anchor cycle in the inventory',
      files: { 'inv.yaml': inventory('  vars: &v { level: 1, again: *v }\n'), 'site.yml': play('    - copy: { dest: /tmp/x, content: hi }\n') },
      at: 'inv.yaml:2:31', says: /YAML alias \*v is inside the value its anchor &v names/,
    },
    {
      name: 'an alias bomb (billion laughs)',
      files: {
        'inv.yaml': inventory(),
        'site.yml': play('    - copy: { dest: /tmp/x, content: hi }\n', '  vars:\n' + ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefghi'[i]}`).join(', ')}]`)].map((l) => `    ${l}\n`).join('')),
      },
      at: 'site.yml:8:', says: /YAML aliases stand for more than 100000 values by here \(an alias bomb\?\)/,
    },
    {
      name: 'a copy dest with a `..` segment',
      files: { 'inv.yaml': inventory(), 'site.yml': play('    - copy: { dest: /tmp/sub/../x, content: hi }\n') },
      at: 'site.yml:4:21', says: /tasks\.0\.copy\.dest: expected a normalized path \(no `\.` or `\.\.` segments, no `\/\/`\), got "\/tmp\/sub\/\.\.\/x"; the normalized form is "\/tmp\/x"/,
    },
    {
      name: 'a file path with a `.` segment',
      files: { 'inv.yaml': inventory(), 'site.yml': play('    - file: { path: /tmp/./x, state: touch }\n') },
      at: 'site.yml:4:21', says: /tasks\.0\.file\.path: expected a normalized path/,
    },
    {
      name: 'a template dest holding a newline',
      files: { 'inv.yaml': inventory(), 'site.yml': play('    - template: { src: t.ejs, dest: "/tmp/a\\nb" }\n'), 't.ejs': 'x\n' },
      at: 'site.yml:4:', says: /tasks\.0\.template\.dest: expected a path without control characters \(newline, NUL, \.\.\.\), got "\/tmp\/a\\nb"/,
    },
    {
      name: 'a copy dest holding a NUL',
      files: { 'inv.yaml': inventory(), 'site.yml': play('    - copy: { dest: "/tmp/a\\0b", content: hi }\n') },
      at: 'site.yml:4:', says: /expected a path without control characters/,
    },
    {
      name: 'a relative dest rendered from a variable',
      files: { 'inv.yaml': inventory(), 'site.yml': play('    - copy: { dest: "<%= greeting %>/x", content: hi }\n') },
      at: 'site.yml:4:', says: /expected an absolute path, got "hi\/x"/,
    },
    {
      name: 'a playbook that is not UTF-8',
      files: { 'inv.yaml': inventory(), 'site.yml': Buffer.from(play('    - copy: { dest: /tmp/x, content: "caf\xe9" }\n'), 'latin1') },
      at: 'site.yml:4:42', says: /not valid UTF-8 \(byte 0xe9\); save the file as UTF-8/,
    },
    {
      name: 'an inventory that is not UTF-8',
      files: { 'inv.yaml': Buffer.from(inventory('  vars: { greeting: "caf\xe9" }\n'), 'latin1'), 'site.yml': play('    - copy: { dest: /tmp/x, content: hi }\n') },
      at: 'inv.yaml:2:25', says: /not valid UTF-8/,
    },
    {
      name: 'a vars file that is not UTF-8',
      files: { 'inv.yaml': inventory(), 'group_vars/app.yml': Buffer.from('motd: "caf\xe9"\n', 'latin1'), 'site.yml': play('    - copy: { dest: /tmp/x, content: hi }\n') },
      at: 'group_vars/app.yml:1:11', says: /not valid UTF-8/,
    },
    {
      name: 'a template that is not UTF-8',
      files: { 'inv.yaml': inventory(), 'site.yml': play('    - template: { src: t.ejs, dest: /tmp/x }\n'), 't.ejs': Buffer.from('# caf\xe9\n', 'latin1') },
      at: 't.ejs:1:6', says: /not valid UTF-8/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      rmSync(project, { recursive: true, force: true });
      for (const [name, text] of Object.entries(c.files)) write(name, text);
      const r = await runCli([join(project, 'inv.yaml'), '--playbook', join(project, 'site.yml'), '--connect-timeout', '2']);
      const out = r.stdout + r.stderr;
      assert.equal(r.code, 2, out);
      assert.ok(out.includes(`${project}/${c.at}`), `names ${c.at}:\n${out}`);
      assert.match(out, c.says);
      assert.doesNotMatch(out, /^\s+at /m, 'no stack trace');
      assert.doesNotMatch(out, /Maximum call stack/);
    });
  }
});
