import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
