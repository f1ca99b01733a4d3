import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ConfigErrors } from '../../src/errors.js';
import { loadInventory } from '../../src/stack/inventory.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/config/', import.meta.url));

/** Writes an inventory (and optional group_vars/host_vars files) to a fresh directory; returns the error lines with the directory stripped. */
function inventoryErrors(text: string, extra: Record<string, string> = {}): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'inventory-test-'));
  writeFileSync(join(dir, 'inventory.yml'), text);
  for (const [file, content] of Object.entries(extra)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), content);
  }
  try {
    loadInventory(join(dir, 'inventory.yml'));
  } catch (err) {
    assert.ok(err instanceof ConfigErrors, `expected ConfigErrors, got ${err}`);
    return err.errors.map((e) => e.message.split(`${dir}/`).join(''));
  }
  return [];
}

const web = (hostLines: string) => `all:\n  children:\n    web:\n      hosts:\n${hostLines}`;

describe('loadInventory rejects bad input with file:line:col, key path and message', () => {
  const cases: Array<[string, string, string[], Record<string, string>?]> = [
    ['YAML syntax error', 'all:\n  children:\n    web: [1, 2\n', ['inventory.yml:4:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]']],
    ['empty file', '', ['inventory.yml: the inventory is empty; expected a map with `all:` at the top (see all.children.<group>.hosts)']],
    ['a list at the top', '- web1\n', ['inventory.yml:1:1: expected a map with `all:` at the top, got a list']],
    ['misspelled all', 'al:\n  hosts: {}\n', ['inventory.yml:1:1 al: unknown top-level key `al`; did you mean `all`?']],
    ['port not a number', web('        web2: { address: 10.0.0.2, port: twenty-two }\n'), ['inventory.yml:5:42 all.children.web.hosts.web2.port: expected an integer 1-65535, got "twenty-two"']],
    ['port out of range', web('        web2:\n          address: 10.0.0.2\n          port: 70000\n'), ['inventory.yml:7:17 all.children.web.hosts.web2.port: expected an integer 1-65535, got 70000']],
    ['quoted port', web('        web2: { address: 10.0.0.2, port: "22" }\n'), ['inventory.yml:5:42 all.children.web.hosts.web2.port: expected an integer 1-65535, got "22" (write it without quotes)']],
    ['unknown host key', web('        web2:\n          address: 10.0.0.2\n          prot: 22\n'), ['inventory.yml:7:11 all.children.web.hosts.web2.prot: unknown key `prot`; did you mean `port`?']],
    ['unknown group key', 'all:\n  children:\n    web:\n      host:\n        web1: { address: 10.0.0.2 }\n', ['inventory.yml:4:7 all.children.web.host: unknown key `host`; did you mean `hosts`?']],
    ['missing address', web('        web2:\n          port: 22\n'), ['inventory.yml:5:9 all.children.web.hosts.web2: host `web2` has no `address` (the IP or DNS name to connect to; `ansible_host` is accepted too)']],
    ['host with no entry and no address', web('        web2:\n'), ['inventory.yml:5:9 all.children.web.hosts.web2: host `web2` has no `address` (the IP or DNS name to connect to; `ansible_host` is accepted too)']],
    ['address and its alias', web('        web1: { address: 10.0.0.2, ansible_host: 10.0.0.3 }\n'), ['inventory.yml:5:36 all.children.web.hosts.web1.ansible_host: set either `address` or its alias `ansible_host`, not both']],
    ['bad address', web('        web1: { address: "not an address" }\n'), ['inventory.yml:5:26 all.children.web.hosts.web1.address: expected an IP address or a DNS name, got "not an address"']],
    ['private_address not an IP', web('        web1: { address: 10.0.0.2, private_address: 10.0.0.300 }\n'), ['inventory.yml:5:53 all.children.web.hosts.web1.private_address: expected an IPv4 or IPv6 address, got "10.0.0.300"']],
    ['host only under all.hosts', 'all:\n  hosts:\n    h1: { address: 10.0.0.1 }\n  children:\n    web:\n      hosts:\n        web1: { address: 10.0.0.2 }\n', ['inventory.yml:3:5 all.hosts.h1: host `h1` is in no group; declare it under all.children.<group>.hosts (plays target groups)']],
    ['no hosts at all', 'all:\n  vars:\n    datacenter: dc1\n', ['inventory.yml:1:1 all: the inventory declares no hosts (expected all.children.<group>.hosts.<name>)']],
    ['same host twice in one map', web('        web1: { address: 10.0.0.2 }\n        web1: { address: 10.0.0.3 }\n'), ['inventory.yml:6:9: YAML syntax error: Map keys must be unique']],
    ['group cycle', 'all:\n  children:\n    a:\n      children:\n        b:\n          hosts:\n            h1: { address: 10.0.0.1 }\n    b:\n      children:\n        a:\n', ['inventory.yml:3:5 all.children.a: group cycle: a -> b -> a']],
    ['group named like a host', 'all:\n  children:\n    web:\n      hosts:\n        web: { address: 10.0.0.2 }\n', ['inventory.yml:3:5 all.children.web: `web` is both a group and a host name; host patterns would be ambiguous']],
    ['var that looks like a typo of a known var', 'all:\n  vars:\n    datacentre: dc1\n    my_own_setting: 1\n  children:\n    web:\n      hosts:\n        web1: { address: 10.0.0.2 }\n', ['inventory.yml:3:5 all.vars.datacentre: unknown variable `datacentre`; did you mean `datacenter`?']],
    ['reserved var name', 'all:\n  vars:\n    facts: 1\n  children:\n    web:\n      hosts:\n        web1: { address: 10.0.0.2 }\n', ['inventory.yml:3:5 all.vars.facts: `facts` is a reserved name in templates and expressions; rename this variable']],
    [
      'known vars with wrong values',
      'all:\n  vars:\n    datacenter: DC 1\n    apt_proxy: ftp://x\n    ssh: { user: Root, prot: 22, known_hosts: [1] }\n  children:\n    web:\n      hosts:\n        web1: { address: 10.0.0.2 }\n',
      [
        'inventory.yml:3:17 all.vars.datacenter: expected a Consul datacenter name (lowercase letters, digits, _ and -), got "DC 1"',
        'inventory.yml:4:16 all.vars.apt_proxy: expected an http:// or https:// URL, e.g. http://10.0.0.1:3142, got "ftp://x"',
        'inventory.yml:5:18 all.vars.ssh.user: expected a unix user name (lowercase letters, digits, _ and -, starting with a letter or _), got "Root"',
        'inventory.yml:5:24 all.vars.ssh.prot: unknown key `prot`; did you mean `port`?',
        'inventory.yml:5:48 all.vars.ssh.known_hosts.0: expected a string, got 1 (quote it: "1")',
      ],
    ],
    ['ssh key file that does not exist', 'all:\n  vars:\n    ssh: { key: ./keys/missing }\n  children:\n    web:\n      hosts:\n        web1: { address: 10.0.0.2 }\n', ['inventory.yml:3:17 all.vars.ssh.key: file not found: keys/missing (from "./keys/missing")']],
    [
      'group_vars of an unknown group and a bad host_vars value',
      web('        web1: { address: 10.0.0.2 }\n'),
      ['group_vars/webb.yml: group_vars for unknown group `webb`; did you mean `web`?', 'host_vars/web1.yml:2:9 ssh.port: expected an integer 1-65535, got "abc"'],
      { 'group_vars/webb.yml': 'x: 1\n', 'host_vars/web1.yml': 'ssh:\n  port: abc\n' },
    ],
    ['group_vars file that is not a map', web('        web1: { address: 10.0.0.2 }\n'), ['group_vars/web/main.yml:1:1: expected a map of variables, got a list'], { 'group_vars/web/main.yml': '- a\n' }],
    ['syntax error in host_vars', web('        web1: { address: 10.0.0.2 }\n'), ['host_vars/web1.yaml:2:1: YAML syntax error: Implicit map keys need to be followed by map values'], { 'host_vars/web1.yaml': 'a: 1\nb\n' }],
  ];
  for (const [name, text, expected, extra] of cases) {
    it(name, () => assert.deepEqual(inventoryErrors(text, extra), expected));
  }

  it('accepts a host in several groups with different fields and merges them', () => {
    assert.deepEqual(inventoryErrors('all:\n  children:\n    a:\n      hosts:\n        h1: { address: 10.0.0.1 }\n    b:\n      hosts:\n        h1: { port: 2222 }\n'), []);
  });
});

describe('loadInventory merges all < parent group < child group < host, with group_vars/ and host_vars/', () => {
  const inv = loadInventory(join(fixtures, 'merge/inventory.yml'));
  const dir = join(fixtures, 'merge');

  it('keeps hosts, groups (transitive) and connection settings', () => {
    assert.deepEqual([...inv.hosts.keys()], ['web1', 'web2', 'lb1']);
    assert.deepEqual(Object.fromEntries(inv.groups), { all: ['web1', 'web2', 'lb1'], prod: ['web1', 'web2'], web: ['web1', 'web2'], lb: ['web1', 'lb1'], ungrouped: [], consul_servers: ['web1', 'lb1'] });
    const web2 = inv.hosts.get('web2')!;
    assert.equal(web2.address, '10.0.0.12');
    assert.equal(web2.port, 2222, 'the host entry wins over ssh.port');
    assert.equal(web2.user, 'deploy');
    assert.equal(web2.key, join(dir, 'keys/id_test'), 'ssh.key resolved against the inventory directory');
    const lb1 = inv.hosts.get('lb1')!;
    assert.equal(lb1.address, '10.0.0.10', 'ansible_host alias');
    assert.equal(lb1.port, 22);
    assert.equal(lb1.user, 'root');
    assert.deepEqual(inv.hosts.get('web1')!.groups, ['all', 'lb', 'prod', 'web', 'consul_servers'], 'consul_servers: the lb hosts, as the inventory declares none');
    assert.equal(inv.hosts.get('web1')!.privateAddress, '10.10.0.3');
  });

  it('applies precedence: inline group vars < group_vars file, deeper group over parent, host_vars over all', () => {
    assert.equal(inv.hosts.get('lb1')!.vars.color, 'all');
    assert.equal(inv.hosts.get('web1')!.vars.color, 'web-file');
    assert.equal(inv.hosts.get('web2')!.vars.color, 'web2-host');
  });

  it('deep-merges maps and replaces lists', () => {
    assert.deepEqual(inv.hosts.get('web2')!.vars.nested, { a: 'prod-a', b: 'all-file', c: 'web-file' });
    assert.deepEqual(inv.hosts.get('lb1')!.vars.nested, { a: 'all', b: 'all-file', c: 'all' });
    assert.deepEqual(inv.hosts.get('web1')!.vars.list, ['web']);
    assert.deepEqual(inv.hosts.get('lb1')!.vars.list, ['all1', 'all2']);
    assert.deepEqual(inv.hosts.get('web2')!.vars.ssh, { user: 'root', port: 2200, key: join(dir, 'keys/id_test') });
  });

  it('locates a merged value in the file that set it', () => {
    const at = (host: string, path: string) => {
      const { pos, keyPath } = inv.locate(host, path);
      return `${pos.file.slice(dir.length + 1)}:${pos.line}:${pos.col} ${keyPath}`;
    };
    assert.equal(at('web2', 'color'), 'host_vars/web2.yml:1:8 color');
    assert.equal(at('web2', 'nested.b'), 'group_vars/all.yml:2:6 nested.b');
    assert.equal(at('web1', 'nested.a'), 'group_vars/prod/a.yml:2:6 nested.a');
    assert.equal(at('web1', 'list.0'), 'group_vars/web.yaml:3:8 list.0');
    assert.equal(at('lb1', 'color'), 'inventory.yml:5:12 all.vars.color');
    assert.equal(at('web2', 'ssh.port'), 'host_vars/web2.yml:3:9 ssh.port');
    assert.equal(at('web2', 'ssh.user'), 'inventory.yml:3:18 all.vars.ssh.user');
    assert.equal(at('web1', ''), 'inventory.yml:17:13 all.children.prod.children.web.hosts.web1');
  });
});
