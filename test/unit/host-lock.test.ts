import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeHolder, factsStillHold, holderInfo, lockCommand, type TakenLock } from '../../src/host/lock.js';

const req = { file: '/run/bootstrap.lock', runId: 'abcd1234', waitSeconds: 300, started: '2026-12-02T01:00:00.000Z' };
const ours = holderInfo(req);
const taken = (before: string, shared = false): TakenLock => ({ held: { ended: new Promise(() => undefined), release: () => undefined, abandon: () => undefined }, before, ours, shared });

describe('host lock', () => {
  it('the holder info names user, laptop, pid, start and run, and reads back as who holds the lock', () => {
    const info = holderInfo(req);
    assert.match(info, /^user=\S+ host=\S+ pid=\d+ started=2026-12-02T01:00:00\.000Z run=abcd1234$/);
    assert.match(describeHolder(info), new RegExp(`^\\S+@\\S+ \\(pid ${process.pid}, started 2026-12-02T01:00:00\\.000Z\\)$`));
    assert.equal(describeHolder(''), 'another run (it has not written its name yet)');
  });

  it('the holder is marked with the run id (an aborted run stops its wait too) and gets the file, wait and info as arguments', () => {
    const { argv } = lockCommand(req, 300);
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

describe('the holder script under the real sh', () => {
  /** Runs the lock command locally (as root, or as another user through setpriv) until it says it holds the lock, then ends its stdin after `last` (a line: a release; nothing: a dropped connection). */
  function hold(file: string, asUser?: number, { last = '\n', wait = 300 } = {}): Promise<{ said: string; after: string; lockFile: string }> {
    const { argv } = lockCommand({ ...req, file }, wait);
    const prefix = asUser === undefined ? [] : ['setpriv', `--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups', 'env', 'HOME=/nonexistent'];
    const [cmd, ...args] = [...prefix, ...argv];
    return new Promise((resolve, reject) => {
      const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/acquired/.test(out)) child.stdin.end(last);
      });
      child.on('error', reject);
      child.on('close', () => {
        const lockFile = /acquired (\S+)/.exec(out)?.[1] ?? '';
        resolve({ said: out.trim(), after: lockFile ? readFileSync(lockFile, 'utf8') : '', lockFile });
      });
    });
  }

  it('a lock held for a moment (the holder of a run that has just ended) is waited for without saying so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootstrap-lock-moment-'));
    try {
      const file = join(dir, 'run.lock');
      const moment = spawn('flock', [file, 'sleep', '0.3'], { stdio: 'ignore' });
      while (spawnSync('flock', ['-n', file, 'true']).status === 0) await new Promise((r) => setTimeout(r, 10));
      const held = await hold(file);
      assert.notEqual(moment.exitCode, null, 'the other holder had the lock until it exited');
      assert.doesNotMatch(held.said, /waiting/);
      assert.match(held.said, /acquired/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a login that can write the file takes it as it is (root, or a lock_file of its own); one that cannot, with no sudo, takes one in its home or /tmp', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootstrap-lock-script-'));
    try {
      const file = join(dir, 'run.lock');
      const root = await hold(file);
      assert.equal(root.lockFile, file, root.said);
      assert.equal(root.after, 'free after run=abcd1234\n');
      const other = await hold(file, 65534);
      assert.equal(other.lockFile, '/tmp/bootstrap-65534.lock', other.said);
      assert.equal(other.after, 'free after run=abcd1234\n');
      rmSync(other.lockFile);
      const own = mkdtempSync(join(tmpdir(), 'bootstrap-lock-own-'));
      chownSync(own, 65534, 65534);
      const its = await hold(join(own, 'run.lock'), 65534);
      rmSync(own, { recursive: true, force: true });
      assert.equal(its.lockFile, join(own, 'run.lock'), `a lock_file the login may write is taken as it is: ${its.said}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** A process of run `run` working under lock `lock` (as a task command would, time-limit.ts), ignoring TERM when `stubborn`. */
  function work(run: string, lock: string, stubborn = false) {
    const child = spawn('env', [`BOOTSTRAP_RUN=${run}`, `BOOTSTRAP_LOCK=${lock}`, 'sh', '-c', `${stubborn ? "trap '' TERM; " : ''}sleep 60`], { stdio: 'ignore' });
    const exited = new Promise<string | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    return { child, exited };
  }

  it('EOF alone (the connection dropped) ends the run\'s processes under this lock before the lock is let go; a release ends none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootstrap-lock-drop-'));
    const file = join(dir, 'run.lock');
    const mine = work(req.runId, file);
    const stubborn = work(req.runId, file, true);
    const otherLock = work(req.runId, join(dir, 'other.lock'));
    const otherRun = work('99999999', file);
    try {
      await hold(file);
      assert.equal(mine.child.exitCode ?? mine.child.signalCode, null, 'a release ends nothing');
      const started = Date.now();
      const dropped = await hold(file, undefined, { last: '' });
      assert.equal(dropped.after, 'free after run=abcd1234\n');
      assert.equal(await mine.exited, 'SIGTERM');
      assert.equal(await stubborn.exited, 'SIGKILL', 'one that ignores TERM gets KILL');
      assert.ok(Date.now() - started >= 2000, 'KILL comes 2 s after TERM');
      assert.equal(otherLock.child.signalCode, null, 'the run\'s work under another lock (another host) goes on');
      assert.equal(otherRun.child.signalCode, null, 'another run\'s work goes on');
    } finally {
      for (const w of [mine, stubborn, otherLock, otherRun]) w.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a lock whose file still names a holder (it died without letting go) is taken after that run\'s processes under it are ended', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootstrap-lock-dead-holder-'));
    const file = join(dir, 'run.lock');
    writeFileSync(file, 'user=bob host=other pid=1 started=x run=77777777\n');
    const orphan = work('77777777', file);
    try {
      const taken = await hold(file);
      assert.match(taken.said, /acquired .* user=bob host=other pid=1 started=x run=77777777$/);
      assert.equal(await orphan.exited, 'SIGTERM');
    } finally {
      orphan.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a try (wait 1 s) for a lock another run holds says who holds it after the grace, without saying waiting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootstrap-lock-try-'));
    const file = join(dir, 'run.lock');
    writeFileSync(file, 'user=bob host=other pid=1 started=x run=77777777\n');
    const other = spawn('flock', [file, 'sleep', '30'], { stdio: 'ignore' });
    try {
      while (spawnSync('flock', ['-n', file, 'true']).status === 0) await new Promise((r) => setTimeout(r, 10));
      const started = Date.now();
      const tried = await hold(file, undefined, { wait: 1 });
      assert.match(tried.said, /^@@bootstrap-lock timeout \S+ user=bob host=other pid=1 started=x run=77777777$/);
      assert.ok(Date.now() - started < 3000);
    } finally {
      other.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
