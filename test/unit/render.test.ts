import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import type { HostFacts } from '../../src/facts/types.js';
import { loadInventory } from '../../src/stack/inventory.js';
import { evaluate } from '../../src/playbook/expression.js';
import { renderParams, renderString, renderTemplateFile, resolveTemplatePath } from '../../src/playbook/render.js';
import { hostScope } from '../../src/playbook/scope.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/config/', import.meta.url));
const bad = join(fixtures, 'templates-bad');
const where = { pos: { file: '/p/site.yml', line: 7, col: 9 }, keyPath: 'plays.0.tasks.2.copy.content', host: 'web1' };

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return err.message.split(fixtures).join('');
  }
  assert.fail('expected an error');
}

describe('renderTemplateFile errors point into the template file and line', () => {
  const scope = { app: { name: 'myapp', server_name: ['a.example'], tls: null } };
  const cases: Array<[string, string]> = [
    ['undefined-var.ejs', 'templates-bad/undefined-var.ejs:3:1: undefined variable `backend_addr` in `server <%= backend_addr %>;`'],
    ['property.ejs', 'templates-bad/property.ejs:2:1: the value written by <%= %> is undefined (a misspelled or missing variable or property?) in `proxy_pass http://<%= app.nmae %>;`'],
    ['syntax.ejs', "templates-bad/syntax.ejs:4:1: template syntax error: Unexpected token ';'"],
    ['unclosed.ejs', 'templates-bad/unclosed.ejs:2:1: `<%=` is never closed with `%>`'],
    ['outer.ejs', 'templates-bad/partials/inner.ejs:2:1: undefined variable `listen_port` in `listen <%= listen_port %>;`'],
  ];
  for (const [file, expected] of cases) {
    it(file, () => assert.equal(messageOf(() => renderTemplateFile(join(bad, file), scope)), expected));
  }

  it('names the task and host that rendered it when given', () => {
    const message = messageOf(() => renderTemplateFile(join(bad, 'undefined-var.ejs'), scope, { ...where, keyPath: 'plays.0.tasks.2.template.src' }));
    assert.equal(message, 'templates-bad/undefined-var.ejs:3:1: undefined variable `backend_addr` in `server <%= backend_addr %>;` (rendering plays.0.tasks.2.template.src for host web1)');
  });

  it('reports a missing template', () => {
    assert.equal(messageOf(() => renderTemplateFile(join(bad, 'nope.ejs'), scope)), `templates-bad/nope.ejs: cannot read template ${join(bad, 'nope.ejs')}: file not found`.split(fixtures).join(''));
  });

  it('renders includes relative to the template, without HTML escaping, lists as JSON', () => {
    const out = renderTemplateFile(join(fixtures, 'project/templates/upstream.conf.ejs'), { app: { name: 'my&app', server_name: ['a.example', 'b.example'] } });
    assert.equal(out, '# managed by bootstrap\nupstream my&app {\n  server 127.0.0.1:65535 down;\n\n}\nserver {\n  server_name a.example b.example;\n}\n');
    assert.equal(renderString('<%= list %>', { list: ['a', 1] }, where), '["a",1]');
  });
});

describe('renderString and renderParams', () => {
  it('leaves strings without <% alone and renders the others', () => {
    assert.equal(messageOf(() => renderString('plain <%', {}, where)), '/p/site.yml:7:9 plays.0.tasks.2.copy.content: `<%` is never closed with `%>` (for host web1)');
    assert.equal(renderString('no tags', {}, where), 'no tags');
    assert.equal(renderString('/etc/<%= name %>.conf', { name: 'x' }, where), '/etc/x.conf');
  });

  it('keeps the type of a value that is exactly one <%= %> tag, renders deeply', () => {
    const params = { name: '<%= pkgs %>', port: '<%= port %>', dest: '/srv/<%= app %>/x', nested: { list: ['<%= app %>', 3] }, flag: true };
    assert.deepEqual(renderParams(params, { pkgs: ['nginx', 'curl'], port: 8500, app: 'web' }, where), {
      name: ['nginx', 'curl'],
      port: 8500,
      dest: '/srv/web/x',
      nested: { list: ['web', 3] },
      flag: true,
    });
  });

  it('reports an undefined variable at the parameter, with the host', () => {
    assert.equal(messageOf(() => renderString('x <%= missing %> y', {}, where)), '/p/site.yml:7:9 plays.0.tasks.2.copy.content: undefined variable `missing` in `x <%= missing %> y` (for host web1)');
    assert.equal(messageOf(() => renderParams({ dest: '<%= missing %>' }, {}, { ...where, keyPath: 'plays.0.tasks.2.copy' })), '/p/site.yml:7:9 plays.0.tasks.2.copy.dest: undefined variable `missing` in expression " missing " (for host web1)');
  });

  it('reports the line inside a multi-line inline template', () => {
    assert.equal(messageOf(() => renderString('line1\nline2 <%= nope %>\n', {}, where)), '/p/site.yml:8:1 plays.0.tasks.2.copy.content: undefined variable `nope` in `line2 <%= nope %>` (for host web1)');
  });
});

describe('evaluate', () => {
  const at = { pos: { file: '/p/site.yml', line: 4, col: 13 }, keyPath: 'plays.0.tasks.0.when', host: 'lb1' };
  it('evaluates with the scope names in view', () => {
    assert.equal(evaluate("facts.init === 'systemd' && apps.length > 1", { facts: { init: 'systemd' }, apps: [1, 2] }, at), true);
    assert.deepEqual(evaluate('apps.map((a) => a.name)', { apps: [{ name: 'x' }] }, at), ['x']);
    assert.equal(evaluate("typeof maybe === 'undefined'", {}, at), true);
  });
  it('turns an undefined name into a ConfigError at the task position', () => {
    assert.equal(messageOf(() => evaluate('tls_enabled && 1', {}, at)), '/p/site.yml:4:13 plays.0.tasks.0.when: undefined variable `tls_enabled` in expression "tls_enabled && 1" (for host lb1)');
    assert.equal(messageOf(() => evaluate('app.tls.cert', { app: {} }, at)), `/p/site.yml:4:13 plays.0.tasks.0.when: Cannot read properties of undefined (reading 'cert') in expression "app.tls.cert" (for host lb1)`);
  });
});

describe('resolveTemplatePath', () => {
  const play = join(fixtures, 'project/playbooks/lb.yml');
  it('prefers <playbook dir>/../templates, then the playbook dir', () => {
    assert.equal(resolveTemplatePath('upstream.conf.ejs', play), join(fixtures, 'project/templates/upstream.conf.ejs'));
    assert.equal(resolveTemplatePath('web.yml', play), join(fixtures, 'project/playbooks/web.yml'));
    assert.equal(resolveTemplatePath('/abs/x.ejs', play), '/abs/x.ejs');
    assert.equal(resolveTemplatePath('missing.ejs', play), join(fixtures, 'project/templates/missing.ejs'));
  });
});

describe('hostScope', () => {
  const inv = loadInventory(join(fixtures, 'merge/inventory.yml'));
  const facts: HostFacts = { hostname: 'web2', os: { id: 'debian', version: '12', codename: 'bookworm', family: 'debian' }, arch: 'amd64', init: 'systemd', user: 'root', isRoot: true, addresses: [] };
  const scope = hostScope(inv, 'web2', facts, { color: 'play', play_only: 1, nested: { d: 'play' } }, { secret: () => 's' });
  it('uses play vars as defaults under inventory vars', () => {
    assert.equal(scope.color, 'web2-host');
    assert.equal(scope.play_only, 1);
    assert.deepEqual(scope.nested, { d: 'play', a: 'prod-a', b: 'all-file', c: 'web-file' });
  });
  it('exposes host, groups, facts and extra', () => {
    assert.equal(scope.inventory_hostname, 'web2');
    assert.deepEqual(scope.host, { name: 'web2', address: '10.0.0.12', port: 2222, user: 'deploy', private_address: undefined, groups: ['all', 'prod', 'web'] });
    const groups = scope.groups as Record<string, Array<{ name: string; private_address?: string }>>;
    assert.deepEqual(groups.lb.map((m) => [m.name, m.private_address]), [['web1', '10.10.0.3'], ['lb1', undefined]]);
    assert.equal(scope.facts, facts);
    assert.equal((scope.secret as () => string)(), 's');
  });
});
