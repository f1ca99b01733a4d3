import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

/** A gossip key kept beside the inventory, as secret() keeps them. */
const SECRET = 'q3Vx8Z0m4KcT1yN7pR2sW5eB9hJ6uL0aD3fG8iO1k+Y=';
const dir = mkdtempSync(join(tmpdir(), 'redact-errors-'));
mkdirSync(join(dir, '.bootstrap', 'secrets'), { recursive: true, mode: 0o700 });
writeFileSync(join(dir, '.bootstrap', 'secrets', 'consul_gossip'), `${SECRET}\n`, { mode: 0o600 });
const hosts = '  children:\n    app:\n      hosts:\n        h1: { address: 10.0.0.1 }\n';
const write = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));

const good = write('inventory.yaml', `all:\n${hosts}`);
// the secret pasted into a value that is then refused, quoting it
const pasted = write('pasted.yaml', `all:\n  vars:\n    datacenter: "${SECRET}"\n${hosts}`);
// an EJS error quotes the tag it failed in, which holds the secret
write('token.conf.ejs', `encrypt = "<%= not_defined || '${SECRET}' %>"\n`);
const playbook = write('site.yml', '- hosts: app\n  tasks:\n    - name: token file\n      template: { src: token.conf.ejs, dest: /etc/token.conf }\n');

const cases: Array<[string, string[]]> = [
  ['an inventory value refused by validation', ['validate', pasted]],
  ['the same, as validate --output json', ['validate', pasted, '--output', 'json']],
  ['the same, before apply', [pasted, '--check']],
  ['an EJS error quoting the template tag that holds the secret', ['validate', good, '--playbook', playbook]],
  ['an -e argument that does not parse, quoted back', ['validate', good, '--playbook', playbook, '-e', `bad-key=${SECRET}`]],
  ['a usage error quoting the argument that holds it', ['facts', good, `--bogus=${SECRET}`]],
];

describe('errors before the run never show a kept secret', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, args] of cases) {
    it(name, async () => {
      const r = await runCli(args);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      const out = r.stdout + r.stderr;
      assert.ok(!out.includes(SECRET), `the secret is printed:\n${out}`);
      assert.match(out, /\[redacted\]/, 'the marker stands where the secret was');
    });
  }
});
