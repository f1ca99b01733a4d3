/**
 * Rolling batches (`serial`) in the runner, with every "host" running real commands on this machine
 * (LocalTransport) under its own directory: batch order, handlers per batch, and what a failed
 * batch calls off.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ExitCode } from '../../src/errors.js';
import { loadInventory } from '../../src/stack/inventory.js';
import { getModule } from '../../src/modules/index.js';
import { loadPlaybooks } from '../../src/playbook/load-playbooks.js';
import { batchBreaks, batchSizes, splitBatches } from '../../src/runner/batches.js';
import { RunEvents, type RunEvent } from '../../src/runner/events.js';
import { runPlays } from '../../src/runner/run.js';
import { LocalTransport } from '../../src/transport/local.js';
import { formatRecap } from '../../src/ui/format.js';

describe('batch sizes (serial)', () => {
  it('cuts hosts as Ansible does: numbers, percentages rounded down (at least 1), the last entry repeating', () => {
    assert.deepEqual(batchSizes(undefined, 5), [5]);
    assert.deepEqual(batchSizes([1], 3), [1, 1, 1]);
    assert.deepEqual(batchSizes([2], 5), [2, 2, 1]);
    assert.deepEqual(batchSizes(['50%'], 5), [2, 2, 1]);
    assert.deepEqual(batchSizes(['10%'], 5), [1, 1, 1, 1, 1]);
    assert.deepEqual(batchSizes([1, '50%'], 5), [1, 2, 2]);
    assert.deepEqual(batchSizes([1, 2, '100%'], 10), [1, 2, 7]);
    assert.deepEqual(batchSizes([10], 3), [3]);
    assert.deepEqual(batchSizes([1], 0), []);
    assert.deepEqual(splitBatches(['a', 'b', 'c'], [1, '100%']).map((b) => [b.index, b.of, b.hosts]), [[1, 2, ['a']], [2, 2, ['b', 'c']]]);
  });

  it('a batch breaks when its failures exceed max_fail_percentage, or without it when all its hosts failed (as Ansible)', () => {
    assert.equal(batchBreaks(0, 3), false);
    assert.equal(batchBreaks(2, 3), false);
    assert.equal(batchBreaks(3, 3), true);
    assert.equal(batchBreaks(1, 3, 0), true);
    assert.equal(batchBreaks(1, 2, 50), false); // must be exceeded, not reached
    assert.equal(batchBreaks(2, 3, 50), true);
  });
});

describe('runPlays with serial', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bootstrap-serial-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** peers: hosts that wait (at most 10 s) at their first task until the named host has started it too */
  async function run(serial: string, opts: { maxFail?: number; failOn?: string[]; hosts?: number; forks?: number; peers?: Record<string, string> } = {}) {
    const case_ = mkdtempSync(join(dir, 'case-'));
    const names = Array.from({ length: opts.hosts ?? 5 }, (_, i) => `h${i + 1}`);
    const hostLines = names
      .map((n) => `        ${n}: { address: 127.0.0.1, vars: { root: ${join(case_, n)}, state_dir: ${join(case_, n, 'state')}, lock_file: ${join(case_, `${n}.lock`)}${opts.failOn?.includes(n) ? ', fail: true' : ''}${opts.peers?.[n] ? `, peer: ${join(case_, opts.peers[n])}` : ''} } }`)
      .join('\n');
    writeFileSync(join(case_, 'inventory.yaml'), `all:\n  children:\n    nodes:\n      hosts:\n${hostLines}\n`);
    writeFileSync(
      join(case_, 'site.yml'),
      `- name: rolling
  hosts: nodes
  become: false
  serial: ${serial}
${opts.maxFail !== undefined ? `  max_fail_percentage: ${opts.maxFail}\n` : ''}  tasks:
    - name: started
      shell: { cmd: "mkdir -p <%= root %> && date +%s%N > <%= root %>/started<% if (typeof peer !== 'undefined') { %> && for i in $(seq 1000); do [ -e <%= peer %>/started ] && break; sleep 0.01; done<% } %>" }
    - name: a change that notifies the handler
      shell: { cmd: "touch <%= root %>/changed" }
      notify: [finish]
    - name: the failing step (only where fail is set)
      shell: { cmd: "echo 'about to fail' >&2; exit 7" }
      when: "typeof fail !== 'undefined' && fail"
  handlers:
    - name: finish
      shell: { cmd: "sleep 0.1; date +%s%N > <%= root %>/finished" }

- name: after
  hosts: nodes
  become: false
  tasks:
    - name: later play
      shell: { cmd: "touch <%= root %>/later" }
`,
    );
    const inventory = loadInventory(join(case_, 'inventory.yaml'));
    const plays = loadPlaybooks([join(case_, 'site.yml')], getModule);
    const events = new RunEvents();
    const seen: RunEvent[] = [];
    events.listen((e) => seen.push(e));
    const outcome = await runPlays(
      inventory,
      plays,
      { check: false, forks: opts.forks ?? 20, connect: async (host) => new LocalTransport(host.name), scopeExtra: {} },
      events,
    );
    const at = (host: string, file: string) => (existsSync(join(case_, host, file)) ? BigInt(readFileSync(join(case_, host, file), 'utf8').trim()) : undefined);
    const has = (host: string, file: string) => existsSync(join(case_, host, file));
    return { outcome, seen, at, has, names };
  }

  it('runs each batch to the end of the play, handlers included, before the next batch starts', async () => {
    const { outcome, seen, at, names } = await run('[1, "50%"]', { peers: { h2: 'h3', h3: 'h2' } });
    assert.equal(outcome.exitCode, ExitCode.OK);
    const batches = seen.filter((e) => e.type === 'batch:start').map((e) => (e.type === 'batch:start' ? e.hosts : []));
    assert.deepEqual(batches, [['h1'], ['h2', 'h3'], ['h4', 'h5']]);
    const batchOf = (h: string) => batches.findIndex((b) => b.includes(h));
    for (const a of names) {
      for (const b of names) {
        if (batchOf(b) <= batchOf(a)) continue;
        assert.ok(at(a, 'finished')! < at(b, 'started')!, `${a}'s handler (batch ${batchOf(a) + 1}) ran before ${b} (batch ${batchOf(b) + 1}) started`);
      }
    }
    // hosts of one batch run in parallel: both started before either handler finished (each waits
    // for the other at its first task; run one after the other, the first would finish alone)
    assert.ok(at('h2', 'started')! < at('h3', 'finished')! && at('h3', 'started')! < at('h2', 'finished')!);
    // the events and the recap say which batch each host was in
    const result = seen.find((e) => e.type === 'task:result' && e.host === 'h4' && e.task === 'started');
    assert.equal(result && result.type === 'task:result' ? result.batch : undefined, 3);
    assert.deepEqual(outcome.recap.get('h2')!.batches, [{ play: 'rolling', batch: 2, of: 3 }]);
    const text = formatRecap(outcome.recap, 1000, false).join('\n');
    assert.match(text, /h5 +ok=\d+ changed=\d+ failed=0 skipped=\d+ unreachable=0  batch: rolling 3\/3/);
    // the play without serial has no batches
    assert.equal(seen.filter((e) => e.type === 'task:result' && e.play === 'after' && e.batch !== undefined).length, 0);
  });

  it('with max_fail_percentage 0 a failed host stops its batch after that task and calls off the later batches and plays; earlier batches are left as they are', async () => {
    const { outcome, seen, at, has } = await run('2', { failOn: ['h3'], maxFail: 0 });
    assert.equal(outcome.exitCode, ExitCode.TASK_FAILED);
    assert.ok(at('h3', 'started') && at('h4', 'started'), 'batch 2 (h3, h4) ran');
    assert.equal(at('h3', 'finished'), undefined, 'the failed host does not run its handlers');
    assert.equal(at('h4', 'finished'), undefined, 'the other host of the failed batch stops after the failed task (its handler does not run), as in Ansible');
    assert.equal(seen.filter((e) => e.type === 'task:result' && e.host === 'h4').length, 3, 'h4 ran the three tasks, in step with h3');
    assert.equal(at('h5', 'started'), undefined, 'batch 3 never started');
    assert.equal(has('h1', 'later'), false, 'later plays do not run');
    const off = seen.find((e) => e.type === 'play:called-off');
    assert.ok(off && off.type === 'play:called-off');
    assert.deepEqual([off.batch, off.of, off.failed, off.notRun], [2, 3, ['h3'], ['h5']]);
    assert.match(off.reason, /1 of 2 host\(s\) in batch 2\/3 of play "rolling" failed \(h3\), more than max_fail_percentage 0% allows/);
    assert.deepEqual(outcome.recap.get('h5')!.batches, [], 'h5 was in no batch');
    assert.match(formatRecap(outcome.recap, 1000, false).join('\n'), /Called off: 1 of 2 host\(s\) in batch 2\/3/);
  });

  it('without max_fail_percentage a batch goes on unless all its hosts failed (as Ansible)', async () => {
    const some = await run('2', { failOn: ['h3'] });
    assert.equal(some.outcome.exitCode, ExitCode.TASK_FAILED);
    assert.equal(some.seen.some((e) => e.type === 'play:called-off'), false);
    assert.ok(some.at('h4', 'finished') && some.has('h5', 'later'), 'the batch and the later ones ran to the end');
    const all = await run('2', { failOn: ['h3', 'h4'] });
    const off = all.seen.find((e) => e.type === 'play:called-off');
    assert.ok(off && off.type === 'play:called-off');
    assert.match(off.reason, /2 of 2 host\(s\) in batch 2\/3 of play "rolling" failed \(h3, h4\), every host of the batch failed/);
    assert.equal(all.at('h5', 'started'), undefined, 'batch 3 never started');
  });

  it('max_fail_percentage lets a batch with fewer failures carry on', async () => {
    const { outcome, seen, at, has } = await run('2', { failOn: ['h3'], maxFail: 50 });
    assert.equal(outcome.exitCode, ExitCode.TASK_FAILED, 'the failed host still fails the run');
    assert.equal(seen.some((e) => e.type === 'play:called-off'), false);
    assert.ok(at('h5', 'finished'), 'batch 3 ran');
    assert.ok(has('h1', 'later') && has('h5', 'later'), 'later plays ran on every healthy host');
    assert.equal(has('h3', 'later'), false, 'not on the failed one');
  });

  it('one batch per host with forks 1 still keeps the order', async () => {
    const { outcome, seen } = await run('1', { hosts: 3, forks: 1 });
    assert.equal(outcome.exitCode, ExitCode.OK);
    assert.deepEqual(seen.filter((e) => e.type === 'batch:start').length, 3);
  });
});
