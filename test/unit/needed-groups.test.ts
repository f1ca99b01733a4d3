import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigErrors } from '../../src/errors.js';
import { loadRun } from '../../src/cli/load-run.js';
import { defaultPlaybook } from '../../src/paths.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'needed-groups-'));
function inventory(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}
const LB = '    lb:\n      hosts:\n        lb1: { address: 203.0.113.10 }\n';
const WEB = '    web:\n      hosts:\n        web1: { address: 203.0.113.11 }\n';

/** The messages of validating the bundled playbooks against `file`, the temp dir left out. */
function problems(file: string): string[] {
  try {
    loadRun(file, [defaultPlaybook], {});
  } catch (error) {
    if (error instanceof ConfigErrors) return error.errors.map((e) => e.message.replace(`${dir}/`, ''));
    throw error;
  }
  return [];
}

describe('a group the bundled playbooks need is reported against the inventory', () => {
  it('no web group: at all.children, naming the plays, and no error at the playbooks', () => {
    const found = problems(inventory('noweb.yaml', `all:\n  vars:\n    ssh: { user: root }\n  children:\n${LB}`));
    assert.deepEqual(found, [
      'noweb.yaml:4:3 all.children: the inventory has no group `web`, and plays "consul clients", "docker engine settings" and "web" run on it; add all.children.web.hosts.<name>',
    ]);
  });

  it('no lb group (consul_servers defaults to it), and a web group spelt webs', () => {
    const found = problems(inventory('nolb.yaml', `all:\n  children:\n    webs:\n      hosts:\n        web1: { address: 203.0.113.11 }\n`));
    assert.equal(found.length, 2, found.join('\n'));
    assert.match(found[0]!, /^nolb\.yaml:2:3 all\.children: the inventory has no group `lb`, and plays "consul agent prerequisites", "consul servers", .* run on it \(the Consul servers are the lb hosts unless the inventory declares a consul_servers group\); add all\.children\.lb\.hosts\.<name>$/);
    assert.match(found[1]!, /^nolb\.yaml:2:3 all\.children: the inventory has no group `web`, .*; did you mean `webs`\?$/);
  });

  it('a group declared without hosts: at its own key', () => {
    const found = problems(inventory('emptyweb.yaml', `all:\n  children:\n${LB}    web:\n`));
    assert.deepEqual(found, ['emptyweb.yaml:6:5 all.children.web: group `web` has no host, and plays "consul clients", "docker engine settings" and "web" run on it; list its hosts under all.children.web.hosts']);
  });

  it('an inventory with both is valid', () => {
    assert.deepEqual(problems(inventory('both.yaml', `all:\n  children:\n${LB}${WEB}`)), []);
  });

  it('validate and verify exit 2 (bad input) with it, before any connection', async () => {
    const file = inventory('verify-nolb.yaml', `all:\n  children:\n${WEB}`);
    for (const command of ['validate', 'verify']) {
      const r = await runCli([command, file]);
      assert.equal(r.code, 2, `${command}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /verify-nolb\.yaml:2:3 all\.children: the inventory has no group `lb`/);
      assert.match(r.stderr, /Nothing was contacted\./);
    }
  });
});
