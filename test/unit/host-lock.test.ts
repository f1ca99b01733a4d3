import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeHolder, factsStillHold, holderInfo, lockCommand, type TakenLock } from '../../src/runner/host-lock.js';

const req = { file: '/run/bootstrap.lock', runId: 'abcd1234', waitSeconds: 300, started: '2026-12-02T01:00:00.000Z' };
const ours = holderInfo(req);
const taken = (before: string, shared = false): TakenLock => ({ held: { ended: new Promise(() => undefined), release: () => undefined }, before, ours, shared });

describe('host lock', () => {
  it('the holder info names user, laptop, pid, start and run, and reads back as who holds the lock', () => {
    const info = holderInfo(req);
    assert.match(info, /^user=\S+ host=\S+ pid=\d+ started=2026-12-02T01:00:00\.000Z run=abcd1234$/);
    assert.match(describeHolder(info), new RegExp(`^\\S+@\\S+ \\(pid ${process.pid}, started 2026-12-02T01:00:00\\.000Z\\)$`));
    assert.equal(describeHolder(''), 'another run (it has not written its name yet)');
  });

  it('the holder is marked with the run id (an aborted run stops its wait too) and gets the file, wait and info as arguments', () => {
    const { argv } = lockCommand(req);
    assert.deepEqual(argv.slice(0, 4), ['env', 'BOOTSTRAP_RUN=abcd1234', 'sh', '-c']);
    assert.deepEqual(argv.slice(7), ['/run/bootstrap.lock', '300', 'abcd1234', holderInfo(req)]);
  });

  it('facts read while the lock was taken hold when the file named this run, or said the same, and free, then and when we took it', () => {
    assert.equal(factsStillHold(taken('free after run=11111111'), `${ours}\n`), true, 'read after we took it');
    assert.equal(factsStillHold(taken(''), null), true, 'never used');
    assert.equal(factsStillHold(taken('free after run=11111111'), 'free after run=11111111\n'), true, 'nobody came and went');
    assert.equal(factsStillHold(taken('free after run=22222222'), 'free after run=11111111\n'), false, 'a run came and went between');
    const held = 'user=bob host=other pid=1 started=x run=33333333';
    assert.equal(factsStillHold(taken('free after run=33333333'), `${held}\n`), false, 'another run held it while we read');
    assert.equal(factsStillHold(taken(held), `${held}\n`), false, 'a holder that died without releasing');
    assert.equal(factsStillHold(taken('', true), `${held}\n`), true, 'our own run holds it under another name');
  });
});
