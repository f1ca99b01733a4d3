import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { closest, editDistance } from '../../src/schema/did-you-mean.js';
import type { Schema } from '../../src/schema/types.js';
import { atFile, resolveLocalFiles, validateParams, validateValue } from '../../src/schema/validate-value.js';
import { parseYaml } from '../../src/yaml/load-yaml.js';

const dir = mkdtempSync(join(tmpdir(), 'schema-test-'));
writeFileSync(join(dir, 'present.txt'), 'x');
const file = join(dir, 'doc.yml');

/** Parses `yaml` as if it were doc.yml, validates its `value` key against `schema`, returns the error messages without the directory. */
function errorsFor(yaml: string, schema: Schema): string[] {
  const { value } = parseYaml(yaml, file);
  return validateValue((value as Record<string, unknown>).value, schema, atFile(file, 'value')).map((e) => e.message.split(`${dir}/`).join(''));
}

const port: Schema = { type: 'integer', min: 1, max: 65535 };
const server: Schema = {
  type: 'map',
  fields: {
    name: { type: 'string', required: true, pattern: /^[a-z]+$/, patternHint: 'lowercase letters' },
    port,
    state: { type: 'string', enum: ['started', 'stopped'] },
    enabled: { type: 'boolean' },
    mode: { type: 'mode' },
    cert: { type: 'localFile' },
    names: { type: 'oneOf', alternatives: [{ type: 'string' }, { type: 'list', items: { type: 'string' }, minItems: 1 }], hint: 'a name or a list of names' },
    even: { type: 'integer', check: (n: number) => (n % 2 === 0 ? undefined : `expected an even number, got ${n}`) },
  },
};
const apps: Schema = { type: 'list', items: { type: 'map', fields: { name: { type: 'string' } } }, uniqueBy: 'name' };

describe('validateValue', () => {
  const cases: Array<[string, string, Schema, string[]]> = [
    ['valid map', 'value:\n  name: web\n  port: 80\n  state: started\n  enabled: true\n  mode: "0644"\n  cert: present.txt\n  names: [a]\n  even: 2\n', server, []],
    ['integer given as a word', 'value: { name: web, port: twenty-two }\n', server, ['doc.yml:1:27 value.port: expected an integer 1-65535, got "twenty-two"']],
    ['integer out of range', 'value:\n  name: web\n  port: 0\n', server, ['doc.yml:3:9 value.port: expected an integer 1-65535, got 0']],
    ['missing required key', 'value:\n  port: 80\n', server, ['doc.yml:2:3 value.name: missing required key `name` (lowercase letters)']],
    ['empty required key', 'value:\n  name:\n', server, ['doc.yml:2:3 value.name: expected lowercase letters, got nothing (an empty value)']],
    ['pattern mismatch', 'value: { name: Web1 }\n', server, ['doc.yml:1:16 value.name: expected lowercase letters, got "Web1"']],
    ['unknown key with a close match', 'value:\n  name: web\n  prot: 80\n', server, ['doc.yml:3:3 value.prot: unknown key `prot`; did you mean `port`?']],
    ['unknown key with no close match', 'value:\n  name: web\n  colour: red\n', server, ['doc.yml:3:3 value.colour: unknown key `colour` (expected one of: name, port, state, enabled, mode, cert, names, even)']],
    ['enum with a typo', 'value: { name: web, state: stoped }\n', server, ['doc.yml:1:28 value.state: expected one of started, stopped, got "stoped"; did you mean `stopped`?']],
    ['boolean as a quoted word', 'value: { name: web, enabled: "yes" }\n', server, ['doc.yml:1:30 value.enabled: expected true or false, got "yes" (write true or false, unquoted)']],
    ['unquoted mode', 'value: { name: web, mode: 0644 }\n', server, ['doc.yml:1:27 value.mode: expected a file mode as a quoted octal string like "0644", got 644 (YAML reads an unquoted mode as a decimal number; quote it, e.g. "0644")']],
    ['mode with a non-octal digit', 'value: { name: web, mode: "0678" }\n', server, ['doc.yml:1:27 value.mode: expected a file mode as a quoted octal string like "0644", got "0678"']],
    ['local file missing', 'value: { name: web, cert: ./nope.pem }\n', server, [`doc.yml:1:27 value.cert: file not found: ${join(dir, 'nope.pem')} (from "./nope.pem")`.split(`${dir}/`).join('')]],
    ['oneOf: a list with a bad item reports the item', 'value: { name: web, names: [a, 3] }\n', server, ['doc.yml:1:32 value.names.1: expected a string, got 3 (quote it: "3")']],
    ['oneOf: an empty list', 'value: { name: web, names: [] }\n', server, ['doc.yml:1:28 value.names: expected at least 1 item, got 0']],
    ['oneOf: neither alternative', 'value: { name: web, names: { a: 1 } }\n', server, ['doc.yml:1:28 value.names: expected a name or a list of names, got a map']],
    ['custom check', 'value: { name: web, even: 3 }\n', server, ['doc.yml:1:27 value.even: expected an even number, got 3']],
    ['not a map', 'value: [1]\n', server, ['doc.yml:1:8 value: expected a map, got a list']],
    ['string given as a number', 'value: 1.16\n', { type: 'string' }, ['doc.yml:1:8 value: expected a string, got 1.16 (quote it: "1.16")']],
    ['duplicate in a uniqueBy list', 'value:\n  - name: a\n  - name: b\n  - name: a\n', apps, ['doc.yml:4:11 value.2.name: duplicate name "a" (also at value.0)']],
    ['EJS strings are accepted for any scalar type', 'value: { name: "<%= n %>", port: "<%= p %>", enabled: "<%= e %>", mode: "<%= m %>", cert: "<%= c %>" }\n', server, []],
    ['several errors at once', 'value: { port: x, state: y }\n', server, [
      'doc.yml:1:8 value.name: missing required key `name` (lowercase letters)',
      'doc.yml:1:16 value.port: expected an integer 1-65535, got "x"',
      'doc.yml:1:26 value.state: expected one of started, stopped, got "y"',
    ]],
  ];
  for (const [name, yaml, schema, expected] of cases) {
    it(name, () => assert.deepEqual(errorsFor(yaml, schema), expected));
  }

  it('points at an alias use and reports positions from merge keys', () => {
    const yaml = 'base: &b { name: web, port: 99999 }\nvalue:\n  <<: *b\n  state: started\n';
    assert.deepEqual(errorsFor(yaml, server), ['doc.yml:1:29 value.port: expected an integer 1-65535, got 99999']);
  });

  it('an anchor defined again: an alias points at the last one before it', () => {
    const yaml = 'old: &b { name: web, port: 70000 }\nnew: &b { name: web, port: 80000 }\nvalue:\n  <<: *b\n';
    assert.deepEqual(errorsFor(yaml, server), ['doc.yml:2:28 value.port: expected an integer 1-65535, got 80000']);
  });
});

describe('validateParams', () => {
  it('re-validates rendered params, naming the host they were rendered for', () => {
    parseYaml('- hosts: web\n  tasks:\n    - copy: { dest: /x, mode: "<%= m %>" }\n', file, 'plays');
    const module = { params: { dest: { type: 'string', required: true } as const, mode: { type: 'mode' } as const } };
    const errors = validateParams(module, { dest: '/x', mode: 'rw' }, { pos: { file, line: 3, col: 7 }, keyPath: 'plays.0.tasks.0.copy', host: 'web1' });
    assert.deepEqual(errors.map((e) => e.message.split(`${dir}/`).join('')), [
      'doc.yml:3:31 plays.0.tasks.0.copy.mode: expected a file mode as a quoted octal string like "0644", got "rw" (after rendering for host web1)',
    ]);
  });
});

describe('resolveLocalFiles', () => {
  it('makes localFile values absolute against the declaring directory, leaving other values', () => {
    const schema: Schema = { type: 'map', fields: { tls: { type: 'map', fields: { cert: { type: 'localFile' } } } }, additional: { type: 'any' } };
    assert.deepEqual(resolveLocalFiles({ tls: { cert: './c.pem' }, other: './x' }, schema, '/inv'), { tls: { cert: '/inv/c.pem' }, other: './x' });
  });
});

describe('did you mean', () => {
  it('measures edit distance with adjacent swaps costing 1', () => {
    assert.equal(editDistance('port', 'prot'), 1);
    assert.equal(editDistance('datacenter', 'datacentre'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });
  it('suggests only plausible typos', () => {
    assert.equal(closest('prot', ['port', 'user']), 'port');
    assert.equal(closest('private-address', ['private_address']), 'private_address');
    assert.equal(closest('Hosts', ['hosts']), 'hosts');
    assert.equal(closest('colour', ['name', 'port']), undefined);
    assert.equal(closest('ab', ['xy']), undefined);
  });
});
