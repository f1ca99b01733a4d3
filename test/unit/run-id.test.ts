import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Fact, FactReader, HostFacts } from '../../src/facts/types.js';
import { getModule } from '../../src/modules/index.js';
import type { ModuleContext } from '../../src/modules/types.js';
import { newRunId } from '../../src/host/run-id.js';

/* Two runs planning the same change never name the same temporary path on the host. */

const facts = { hostname: 'web1', os: { id: 'debian', version: '12', codename: 'bookworm', family: 'debian' }, arch: 'amd64', init: 'systemd', user: 'root', isRoot: true, addresses: [] } as HostFacts;
const ctxOf = (runId: string): ModuleContext => ({ host: 'web1', facts, localDir: '/tmp', runId, lockFile: '/run/bootstrap.lock', evaluate: () => { throw new Error('no expressions here'); }, renderTemplate: () => 'rendered\n' });
const absent = (fact: Fact<unknown>) => (fact.key.startsWith('packages:') ? new Map([['nginx', { name: 'nginx', installed: false, version: null, candidate: '1.22' }]]) : fact.key === 'apt-lists-age' ? null : fact.key.startsWith('leftovers:') ? [] : fact.key.startsWith('file') ? { path: '/x', type: 'absent' } : null);

/** Every argv word of the plan that names a temporary path (temp files, work dirs, saved copies), or is the run id a script builds one from. */
async function tempWords(module: string, params: Record<string, unknown>, runId: string): Promise<string[]> {
  const m = getModule(module)!;
  const read: FactReader = <T>(fact: Fact<T>) => absent(fact as Fact<unknown>) as T;
  const plan = await m.plan(params, read, ctxOf(runId));
  const words = plan.changes.flatMap((c) => c.commands.flatMap((cmd) => cmd.argv));
  return words.filter((w) => w === runId || (/bootstrap-tmp|bootstrap\/tmp\/|\.tmp|saved/.test(w) && !w.includes('\n') && !w.includes('$')));
}

describe('per-run temp names', () => {
  it('a run id is 8 hex digits, new every time', () => {
    const ids = new Set(Array.from({ length: 50 }, newRunId));
    assert.equal(ids.size, 50);
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}$/);
  });

  const cases: Array<[string, Record<string, unknown>]> = [
    ['copy', { dest: '/etc/app.conf', content: 'x\n', validate: 'true %s' }],
    ['template', { dest: '/etc/app.conf', src: 'app.conf.ejs' }],
    ['binary', { dest: '/usr/local/bin/consul', url: 'https://example.org/consul_1.0.0_linux_amd64.zip', sha256: 'a'.repeat(64) }],
    ['package', { name: 'nginx', policy_rc_d: 101 }],
  ];
  for (const [module, params] of cases) {
    it(`${module}: every temporary path carries the run id, and two runs share none`, async () => {
      const [a, b] = [await tempWords(module, params, 'aaaa1111'), await tempWords(module, params, 'bbbb2222')];
      assert.ok(a.length > 0, `${module} plans temporary paths`);
      for (const word of a) assert.ok(word.includes('aaaa1111'), `${module}: ${word} names no run id`);
      assert.deepEqual(a.filter((w) => b.includes(w)), [], `${module}: both runs would use the same temp path`);
    });
  }
});
