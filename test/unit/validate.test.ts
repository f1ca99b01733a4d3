import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loadInventory } from '../../src/stack/inventory.js';
import type { Module } from '../../src/modules/types.js';
import { loadPlaybooks } from '../../src/playbook/load-playbooks.js';
import type { Field } from '../../src/schema/types.js';
import { validateRun } from '../../src/cli/validate-run.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/config/', import.meta.url));

function module(name: string, params: Record<string, Field>, validate?: Module['validate']): Module {
  return { name, params, validate, facts: () => [], plan: () => ({ changes: [] }) };
}
const stringOrList: Field = { type: 'oneOf', alternatives: [{ type: 'string' }, { type: 'list', items: { type: 'string' } }], hint: 'a string or a list of strings' };
const modules = new Map<string, Module>([
  ['package', module('package', { name: { ...stringOrList, required: true } })],
  ['template', module('template', { src: { type: 'string', required: true }, dest: { type: 'string', required: true }, mode: { type: 'mode' }, vars: { type: 'map', fields: {}, additional: { type: 'any' } } })],
  ['service', module('service', { name: { type: 'string', required: true }, state: { type: 'string', enum: ['started', 'stopped', 'restarted', 'reloaded'] }, unit_src: { type: 'string' }, upstart_src: { type: 'string' } })],
  ['wait_for', module('wait_for', { port: { type: 'integer', min: 1, max: 65535 }, url: { type: 'string' } }, (p: Record<string, unknown>) => (p.port === undefined && p.url === undefined ? [['', 'set `port` or `url`']] : []))],
  ['copy', module('copy', { dest: { type: 'string', required: true }, src: { type: 'string' } }, (p: Record<string, unknown>, ctx) => (typeof p.src === 'string' && !p.src.startsWith('/') ? [['src', `local file not found: ${join(ctx.localDir, p.src)}`]] : []))],
]);
const lookup = (name: string) => modules.get(name);

const INVENTORY = `all:
  vars:
    sites:
      - { name: shop, port: 8080 }
      - { name: blog }
  children:
    lb:
      hosts:
        lb1: { address: 10.0.0.10, private_address: 10.10.0.2 }
    web:
      hosts:
        web1: { address: 10.0.0.11, vars: { weight: 2 } }
        web2: { address: 10.0.0.12 }
`;

/** A throw-away project (inventory.yml, playbooks/site.yml, templates/...); returns validateRun's messages without the directory. */
function runErrors(playbook: string, templates: Record<string, string> = {}, options: { limit?: string; tags?: string[]; skipTags?: string[]; startAtTask?: string } = {}): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'validate-test-'));
  const files: Record<string, string> = { 'inventory.yml': INVENTORY, 'playbooks/site.yml': playbook };
  for (const [name, text] of Object.entries(templates)) files[`templates/${name}`] = text;
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const inventory = loadInventory(join(dir, 'inventory.yml'));
  const plays = loadPlaybooks([join(dir, 'playbooks/site.yml')], lookup);
  return validateRun({ inventory, plays, modules: lookup, ...options }).map((e) => e.message.split(`${dir}/`).join(''));
}

describe('validateRun', () => {
  it('accepts the example project', () => {
    const inventory = loadInventory(join(fixtures, 'project/inventory/hosts.yml'));
    const plays = loadPlaybooks([join(fixtures, 'project/playbooks/site.yml')], lookup);
    assert.deepEqual(validateRun({ inventory, plays, modules: lookup }), []);
  });

  const cases: Array<[string, string, Record<string, string>, { limit?: string; tags?: string[]; skipTags?: string[]; startAtTask?: string }, string[]]> = [
    ['a hosts pattern that matches nothing', '- hosts: webb\n  tasks: []\n', {}, {}, ['playbooks/site.yml:1:10 plays.0.hosts: hosts pattern "webb" matches no host: `webb` is neither a group nor a host (did you mean `web`?)']],
    ['an intersection that matches nothing', '- hosts: lb:&web\n  tasks: []\n', {}, {}, ['playbooks/site.yml:1:10 plays.0.hosts: hosts pattern "lb:&web" matches no host']],
    ['an exclusion that leaves nothing, of groups that exist, is a play with nothing to do', '- hosts: lb:!lb\n  tasks: []\n', {}, {}, []],
    ['a pattern with an exclusion and an unknown group is still a mistake', '- hosts: webb:!lb\n  tasks: []\n', {}, {}, ['playbooks/site.yml:1:10 plays.0.hosts: hosts pattern "webb:!lb" matches no host: `webb` is neither a group nor a host (did you mean `web`?)']],
    [
      'a template with an undefined property for one loop item',
      '- hosts: lb\n  tasks:\n    - template: { src: upstream.ejs, dest: "/etc/nginx/conf.d/<%= app.name %>.conf" }\n      loop: sites\n      loop_var: app\n',
      { 'upstream.ejs': 'upstream <%= app.name %> {\n  server 127.0.0.1:<%= app.port %>;\n}\n' },
      {},
      ['templates/upstream.ejs:2:1: the value written by <%= %> is undefined (a misspelled or missing variable or property?) in `server 127.0.0.1:<%= app.port %>;` (rendering plays.0.tasks.0.template.src for host lb1)'],
    ],
    [
      'a template variable defined for only some hosts',
      '- hosts: web\n  tasks:\n    - template: { src: weight.ejs, dest: /etc/w }\n',
      { 'weight.ejs': 'weight=<%= weight %>\n' },
      {},
      ['templates/weight.ejs:1:1: undefined variable `weight` in `weight=<%= weight %>` (rendering plays.0.tasks.0.template.src for host web2)'],
    ],
    ['template vars param supplies variables', '- hosts: web\n  tasks:\n    - template: { src: weight.ejs, dest: /etc/w, vars: { weight: 1 } }\n', { 'weight.ejs': 'weight=<%= weight %>\n' }, {}, []],
    [
      'a missing template',
      '- hosts: web\n  tasks:\n    - template: { src: nope.ejs, dest: /etc/w }\n',
      {},
      {},
      ['playbooks/site.yml:3:24 plays.0.tasks.0.template.src: template not found: looked for templates/nope.ejs and playbooks/nope.ejs'],
    ],
    [
      'a service unit template with an undefined variable',
      '- hosts: lb\n  tasks:\n    - service: { name: consul, unit_src: consul.service.ejs, state: started }\n',
      { 'consul.service.ejs': '[Service]\nExecStart=/usr/bin/consul agent -bind=<%= host.private_address %>\nUser=<%= consul_user %>\n' },
      {},
      ['templates/consul.service.ejs:3:1: undefined variable `consul_user` in `User=<%= consul_user %>` (rendering plays.0.tasks.0.service.unit_src for host lb1)'],
    ],
    [
      'a parameter that is invalid after rendering',
      '- hosts: lb\n  vars:\n    consul_port: eighty-five-hundred\n  tasks:\n    - wait_for: { port: "<%= consul_port %>" }\n',
      {},
      {},
      ['playbooks/site.yml:5:25 plays.0.tasks.0.wait_for.port: expected an integer 1-65535, got "eighty-five-hundred" (after rendering for host lb1)'],
    ],
    ['module.validate problems at the task', '- hosts: lb\n  tasks:\n    - wait_for: {}\n', {}, {}, ['playbooks/site.yml:3:17 plays.0.tasks.0.wait_for: set `port` or `url` (for host lb1)']],
    ['module.validate problems at the parameter', '- hosts: lb\n  tasks:\n    - copy: { dest: /x, src: files/a.txt }\n', {}, {}, ['playbooks/site.yml:3:30 plays.0.tasks.0.copy.src: local file not found: playbooks/files/a.txt (for host lb1)']],
    ['a when expression with an undefined variable', '- hosts: lb\n  tasks:\n    - package: { name: nginx }\n      when: use_tls\n', {}, {}, ['playbooks/site.yml:4:13 plays.0.tasks.0.when: undefined variable `use_tls` in expression "use_tls" (for host lb1)']],
    [
      'when on a loop item is evaluated with the item bound, and skips only that item',
      '- hosts: lb\n  tasks:\n    - template: { src: "<%= site.name %>.ejs", dest: "/etc/<%= site.name %>" }\n      loop: sites\n      loop_var: site\n      when: "site.port !== undefined"\n',
      { 'shop.ejs': 'port <%= site.port %>\n' },
      {},
      [],
    ],
    ['when false skips rendering', '- hosts: lb\n  tasks:\n    - template: { src: nope.ejs, dest: /x }\n      when: "facts.init === \'upstart\'"\n', {}, {}, []],
    ['a loop that is not a list', '- hosts: lb\n  tasks:\n    - package: { name: "<%= item %>" }\n      loop: sites.length\n', {}, {}, ['playbooks/site.yml:4:13 plays.0.tasks.0.loop: loop must yield a list, got 2 (for host lb1)']],
    ['a --limit that matches nothing', '- hosts: lb\n  tasks: []\n', {}, { limit: 'wbe1' }, ['--limit: "wbe1" matches no host: `wbe1` is neither a group nor a host (did you mean `web1`?)']],
    ['--limit narrows the hosts that are checked', '- hosts: web\n  tasks:\n    - template: { src: weight.ejs, dest: /etc/w }\n', { 'weight.ejs': '<%= weight %>' }, { limit: 'web1' }, []],
    ['an unknown --tags value', '- hosts: lb\n  tasks:\n    - package: { name: nginx }\n      tags: [nginx]\n', {}, { tags: ['ngnix'] }, ['--tags: no task has the tag "ngnix"; did you mean `nginx`?']],
    ['--tags skips unselected tasks', '- hosts: lb\n  tasks:\n    - package: { name: nginx }\n      tags: [nginx]\n    - template: { src: nope.ejs, dest: /x }\n', {}, { tags: ['nginx'] }, []],
    ['an unknown --skip-tags value', '- hosts: lb\n  tasks:\n    - package: { name: nginx }\n      tags: [nginx]\n', {}, { skipTags: ['ngnix'] }, ['--skip-tags: no task has the tag "ngnix"; did you mean `nginx`?']],
    ['--skip-tags leaves a task unchecked', '- hosts: lb\n  tasks:\n    - package: { name: nginx }\n    - template: { src: nope.ejs, dest: /x }\n      tags: [broken]\n', {}, { skipTags: ['broken'] }, []],
    ['--start-at-task naming no task', '- hosts: lb\n  tasks:\n    - name: install nginx\n      package: { name: nginx }\n', {}, { startAtTask: 'install ngnix' }, ['--start-at-task: no task is named "install ngnix"; did you mean "install nginx"?']],
    ['--start-at-task leaves earlier tasks unchecked', '- hosts: lb\n  tasks:\n    - template: { src: nope.ejs, dest: /x }\n    - name: later\n      package: { name: nginx }\n', {}, { startAtTask: 'later' }, []],
    ['delegate_to a host not in the inventory', '- hosts: web\n  tasks:\n    - package: { name: nginx }\n      delegate_to: lb2\n', {}, {}, ['playbooks/site.yml:4:20 plays.0.tasks.0.delegate_to: delegate_to names no host of the inventory: "lb2"; did you mean `lb1`?']],
    ['a rescue task is checked like any other', '- hosts: lb\n  tasks:\n    - block:\n        - package: { name: nginx }\n      rescue:\n        - package: { name: "<%= nope %>" }\n', {}, {}, ['playbooks/site.yml:6:28 plays.0.tasks.0.rescue.0.package.name: undefined variable `nope` in expression " nope " (for host lb1)']],
  ];
  for (const [name, playbook, templates, options, expected] of cases) {
    it(name, () => assert.deepEqual(runErrors(playbook, templates, options), expected));
  }
});
