import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, lutimesSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ArgvCommand as Command } from '../../src/argv.js';
import { batchScript, parseBatch } from '../../src/facts/batch.js';
import { exitCodeFact, pathExistsFact } from '../../src/facts/guard-facts.js';
import { fileContentFact, fileFact } from '../../src/facts/file.js';
import { fileFlagsFact } from '../../src/facts/file-flags.js';
import { fileMimeFact } from '../../src/facts/file-mime.js';
import { leftoversFact } from '../../src/facts/leftovers.js';
import { lockCommand } from '../../src/host/lock.js';
import { until } from '../helpers/until.js';
import type { FileState } from '../../src/facts/file.js';
import { hostFacts } from '../../src/facts/host.js';
import { aptListsAgeFact, packagesFact } from '../../src/facts/packages.js';
import type { PackageState } from '../../src/facts/packages.js';
import type { Fact, FactReader, HostFacts } from '../../src/facts/types.js';
import { portOpenFact, urlStatusFact } from '../../src/facts/wait-for.js';
import { escapePath, recordPath } from '../../src/modules/binary.js';
import { unreadBeforeFacts, withBeforeRead } from '../../src/modules/diff-before.js';
import { getModule } from '../../src/modules/index.js';
import { ensureDockerEngine } from '../../src/lab/docker-engine.js';
import type { Change, ModuleContext, Plan } from '../../src/modules/types.js';
import { failedStep, groupCommands } from '../../src/runner/command-group.js';

/** Gathers facts the way the runner does: one `sh -s` fed the batch script. */
function gather(facts: Fact<unknown>[]): Map<string, unknown> {
  const script = batchScript(facts);
  const run = spawnSync('sh', ['-s'], { input: script, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return parseBatch(run.stdout, facts, script);
}

function execOk(argv: string[]): void {
  const run = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  assert.equal(run.status, 0, `${argv.join(' ')}: ${run.stderr}`);
}

/** Runs without blocking the event loop (for servers in this process); resolves stdout, rejects on failure. */
function runAsync(argv: readonly string[], input: string | Buffer = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1));
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`))));
    child.stdin.on('error', () => {}); // a command that reads no stdin may exit first
    child.stdin.end(input);
  });
}

let dir: string;
let host: HostFacts;
const ctxFor = (): ModuleContext => ({
  host: 'local',
  facts: host,
  localDir: dir,
  runId: 'r1', lockFile: '/run/bootstrap.lock',
  evaluate: () => { throw new Error('no expressions here'); }, renderTemplate: () => { throw new Error('no templates here'); },
});

async function planLocally(moduleName: string, params: Record<string, unknown>, ctxExtra: Partial<ModuleContext> = {}): Promise<Plan> {
  const module = getModule(moduleName)!;
  const ctx = { ...ctxFor(), ...ctxExtra };
  const values = gather(module.facts(params, ctx));
  const read: FactReader = <T>(fact: Fact<T>) => {
    assert.ok(values.has(fact.key), `fact ${fact.key} was not gathered`);
    return values.get(fact.key) as T;
  };
  const plan = await module.plan(params, read, ctx);
  // as a run that shows diffs does: the before side is read after planning, only where unread
  const unread = unreadBeforeFacts(plan.changes);
  if (unread.length === 0) return plan;
  const contents = gather(unread);
  return { ...plan, changes: withBeforeRead(plan.changes, <T>(fact: Fact<T>) => contents.get(fact.key) as T) };
}

/** Runs a change as the runner does: its command groups, each one script (cleanups included). */
function runChange(change: Change): { code: number | null; stderr: string; failed?: Command } {
  for (const group of groupCommands(change.commands)) {
    const [program, ...args] = group.run.argv;
    const run = spawnSync(program!, args, { input: group.run.stdin ?? '', encoding: 'utf8' });
    const failed = failedStep(group, run.status, run.stderr);
    if (failed) return { code: run.status, stderr: failed.stderr, failed: failed.command };
  }
  return { code: 0, stderr: '' };
}

async function applyAndReplan(moduleName: string, params: Record<string, unknown>, ctxExtra: Partial<ModuleContext> = {}): Promise<{ first: Plan; second: Plan }> {
  const first = await planLocally(moduleName, params, ctxExtra);
  for (const change of first.changes) {
    const run = runChange(change);
    assert.equal(run.code, 0, `${change.title}: ${run.failed?.argv.join(' ')}: ${run.stderr}`);
  }
  return { first, second: await planLocally(moduleName, params, ctxExtra) };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bootstrap-facts-'));
  host = gather([hostFacts]).get('host') as HostFacts;
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('batched facts through a real sh -s', () => {
  it('parses files, links, directories, guards and host facts from one round trip', () => {
    const text = join(dir, 'hello.txt');
    writeFileSync(text, 'hello\nworld\n');
    chmodSync(text, 0o640);
    const binary = join(dir, 'blob.bin');
    writeFileSync(binary, Buffer.from([0, 1, 2, 255, 254]));
    const link = join(dir, 'link');
    symlinkSync('hello.txt', link);
    const big = join(dir, 'big.txt');
    writeFileSync(big, 'x'.repeat(300 * 1024));
    const odd = join(dir, "it's a file");
    writeFileSync(odd, '');

    const facts: Fact<unknown>[] = [
      hostFacts,
      fileFact(text), fileFact(binary), fileFact(link), fileFact(dir), fileFact(big), fileFact(odd),
      fileFact(join(dir, 'missing')),
      fileContentFact(text), fileContentFact(binary), fileContentFact(big), fileContentFact(odd), fileContentFact(link),
      pathExistsFact(text), pathExistsFact(join(dir, 'nope')),
      exitCodeFact(['test', '-f', text]), exitCodeFact(['sh', '-c', 'exit 7']),
      // a fact reading stdin must not eat the rest of the batch
      exitCodeFact(['cat']),
      packagesFact(['dpkg', 'no-such-package-xyz']),
      aptListsAgeFact,
    ];
    const values = gather(facts);
    const file = (p: string) => values.get(`file:${p}`) as FileState;

    const me = userInfo();
    const content = (p: string) => values.get(fileContentFact(p).key) as Buffer | null;
    assert.deepEqual(file(text), {
      path: text, type: 'file', mode: '0640', uid: me.uid, gid: me.gid, owner: me.username, group: file(text).group,
      size: 12, sha256: createHash('sha256').update('hello\nworld\n').digest('hex'), details: file(text).details,
    });
    assert.equal(content(text)?.toString(), 'hello\nworld\n');
    assert.equal(file(text).group, spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim());
    assert.deepEqual(content(binary), Buffer.from([0, 1, 2, 255, 254]));
    assert.equal(content(link), null, 'links have no content');
    assert.equal(file(link).type, 'link');
    assert.equal(file(link).linkTarget, 'hello.txt');
    assert.equal(file(link).linkSource, undefined, 'realpath runs only where linkSource is asked for (stat)');
    assert.equal(file(link).sha256, undefined);
    assert.equal(file(dir).type, 'directory');
    assert.equal(file(big).size, 300 * 1024);
    assert.equal(content(big)?.length, 300 * 1024, 'the content fact reads what it is asked; fileDiff does not ask above 256 KiB');
    assert.match(file(big).sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.equal(file(odd).size, 0);
    assert.deepEqual(content(odd), Buffer.alloc(0));
    assert.deepEqual(file(join(dir, 'missing')), { path: join(dir, 'missing'), type: 'absent' });
    assert.equal(values.get(`exists:${text}`), true);
    assert.equal(values.get(`exists:${join(dir, 'nope')}`), false);
    assert.equal(values.get(exitCodeFact(['test', '-f', text]).key), 0);
    assert.equal(values.get(exitCodeFact(['sh', '-c', 'exit 7']).key), 7);
    assert.equal(values.get(exitCodeFact(['cat']).key), 0);

    const packages = values.get(packagesFact(['dpkg', 'no-such-package-xyz']).key) as Map<string, PackageState>;
    const dpkgVersion = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'dpkg'], { encoding: 'utf8' }).stdout;
    assert.equal(packages.get('dpkg')?.installed, true);
    assert.equal(packages.get('dpkg')?.version, dpkgVersion);
    assert.deepEqual(packages.get('no-such-package-xyz'), { name: 'no-such-package-xyz', installed: false, version: null, candidate: null });
    const age = values.get('apt-lists-age');
    assert.ok(age === null || (typeof age === 'number' && age >= 0));

    const hostValue = values.get('host') as HostFacts;
    const osRelease = readFileSync('/etc/os-release', 'utf8');
    assert.equal(hostValue.os.id, /^ID=(.*)$/m.exec(osRelease)![1]!.replace(/"/g, ''));
    assert.equal(hostValue.arch, spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout.trim());
    assert.equal(hostValue.isRoot, me.uid === 0);
    assert.equal(hostValue.user, me.username);
    assert.equal(hostValue.init, existsSync('/run/systemd/system') ? 'systemd' : 'other');
    assert.ok(hostValue.addresses.every((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a) && !a.startsWith('127.')));
  });

  it('stat\'s facts in one batch: a followed link is its target, a dangling one absent; file\'s mime and lsattr\'s flags as the tools print them', () => {
    const text = join(dir, 'stat-me.txt');
    writeFileSync(text, 'plain text\n');
    const link = join(dir, 'stat-link');
    symlinkSync(text, link);
    const dangling = join(dir, 'stat-dangling');
    symlinkSync(join(dir, 'nowhere'), dangling);
    const paths = [text, link, dir, dangling];
    const facts: Fact<unknown>[] = [
      ...paths.map((p) => fileFact(p)), ...paths.map((p) => fileFact(p, { follow: true })),
      ...paths.map(fileMimeFact), ...paths.map(fileFlagsFact),
    ];
    const values = gather(facts);
    const followed = (p: string) => values.get(fileFact(p, { follow: true }).key) as FileState;
    const { sha256: _sha, ...target } = values.get(fileFact(text).key) as FileState;
    // atime aside: file (the mime fact, side by side in the batch) reads the new file's content
    const atimeAside = (f: FileState) => ({ ...f, path: text, details: { ...f.details!, atime: 0 } });
    assert.deepEqual(atimeAside(followed(link)), atimeAside(target), 'follow: the target\'s type, mode, owner, size, inode, times and access');
    assert.equal((values.get(fileFact(link).key) as FileState).type, 'link', 'the same path not followed in the same batch');
    assert.equal(followed(dir).type, 'directory');
    assert.equal(followed(dangling).type, 'absent');
    for (const p of paths) {
      const tool = spawnSync('file', ['--mime-type', '--mime-encoding', p], { encoding: 'utf8' }).stdout;
      const [mimetype, charset] = tool.slice(tool.lastIndexOf(':') + 1).split(';').map((s) => s.trim());
      // a dangling link is "inode/symlink" alone, which Ansible's stat cannot split: unknown, both
      const expected = charset === undefined ? { mimetype: 'unknown', charset: 'unknown' } : { mimetype, charset: charset.split('=')[1] };
      assert.deepEqual(values.get(fileMimeFact(p).key), expected, p);
      const lsattr = spawnSync('lsattr', ['-vd', p], { encoding: 'utf8' });
      const [version, flags] = lsattr.stdout.split(/\s+/);
      const flagsOf = lsattr.status === 0 ? { version, attr_flags: flags!.replaceAll('-', '') } : { version: null, attr_flags: '' };
      assert.deepEqual({ ...(values.get(fileFlagsFact(p).key) as object), attributes: undefined }, { ...flagsOf, attributes: undefined }, p);
    }
    assert.deepEqual(values.get(fileMimeFact(link).key), { mimetype: 'inode/symlink', charset: 'binary' }, 'file does not follow the link');
    assert.deepEqual(values.get(fileMimeFact(text).key), { mimetype: 'text/plain', charset: 'us-ascii' });
    assert.deepEqual(values.get(fileFlagsFact(link).key), { version: null, attr_flags: '', attributes: [] }, 'lsattr fails on a link');
  });

  it('stat(2)\'s details, access and a link\'s resolved path as Python\'s os.lstat/os.stat, os.access and os.path.realpath (Ansible\'s stat) read them', () => {
    const sub = join(dir, 'details');
    mkdirSync(sub);
    const text = join(sub, 'times.txt');
    writeFileSync(text, 'times\n', { mode: 0o640 });
    // an atime ahead of the mtime: reading the file (sha256sum) leaves it alone under relatime
    utimesSync(text, Date.now() / 1000 + 3600, 1577880000.25);
    const setuid = join(sub, 'setuid');
    writeFileSync(setuid, '#!/bin/sh\n');
    chmodSync(setuid, 0o6754);
    utimesSync(setuid, Date.now() / 1000 + 3600, 1577880000);
    const fifo = join(sub, 'fifo');
    execOk(['mkfifo', fifo]);
    const link = join(sub, 'link');
    symlinkSync('times.txt', link);
    const dangling = join(sub, 'dangling');
    symlinkSync('gone/deeper', dangling);
    // readlink reads a link after stat did, as Ansible's stat does: their atimes ahead too
    for (const l of [link, dangling]) lutimesSync(l, Date.now() / 1000 + 3600, 1577880000.5);
    const paths = [text, setuid, fifo, link, dangling, sub, '/dev/null'];
    const items = [...paths.map((p) => ({ p, follow: false })), ...[link, dangling].map((p) => ({ p, follow: true }))];
    const values = gather(items.map(({ p, follow }) => fileFact(p, { follow, linkSource: true })));
    const python = [
      'import json, os, sys',
      'out = []',
      'for p, follow in json.loads(sys.argv[1]):',
      '  try: st = os.stat(p) if follow else os.lstat(p)',
      '  except FileNotFoundError: out.append(None); continue',
      '  out.append(dict(inode=st.st_ino, dev=st.st_dev, nlink=st.st_nlink, atime=st.st_atime, mtime=st.st_mtime, ctime=st.st_ctime, blocks=st.st_blocks, blockSize=st.st_blksize, rdev=st.st_rdev,',
      '    readable=os.access(p, os.R_OK), writeable=os.access(p, os.W_OK), executable=os.access(p, os.X_OK), source=None if follow or not os.path.islink(p) else os.path.realpath(p)))',
      'print(json.dumps(out))',
    ].join('\n');
    const run = spawnSync('python3', ['-c', python, JSON.stringify(items.map(({ p, follow }) => [p, follow]))], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const expected = JSON.parse(run.stdout) as (Record<string, unknown> | null)[];
    items.forEach(({ p, follow }, i) => {
      const state = values.get(fileFact(p, { follow, linkSource: true }).key) as FileState;
      if (expected[i] === null) return assert.equal(state.type, 'absent', p);
      const { source, ...want } = expected[i]!;
      const { special: _special, ...got } = state.details!;
      assert.deepEqual(got, want, `${p}${follow ? ' followed' : ''}`);
      assert.equal(state.linkSource ?? null, source, `${p}: lnk_source`);
    });
    const get = (p: string) => values.get(fileFact(p, { linkSource: true }).key) as FileState;
    assert.deepEqual([get(fifo).details?.special, get('/dev/null').details?.special, get(text).details?.special], ['fifo', 'char', undefined]);
    assert.equal(get(text).details?.mtime, 1577880000.25);
    assert.equal(get(setuid).mode, '6754');
    rmSync(fifo);
  });

  it('sees a listening port and an answering URL, and their absence', async () => {
    const server = createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const closedPort = await new Promise<number>((resolve) => {
        const probe = createServer().listen(0, '127.0.0.1', () => {
          const p = (probe.address() as AddressInfo).port;
          probe.close(() => resolve(p));
        });
      });
      const facts = [portOpenFact('127.0.0.1', port), portOpenFact('127.0.0.1', closedPort), urlStatusFact(`http://127.0.0.1:${port}/`), urlStatusFact(`http://127.0.0.1:${closedPort}/`)];
      const script = batchScript(facts);
      // async: the server lives in this process's event loop
      const output = await runAsync(['sh', '-s'], script);
      const values = parseBatch(output, facts, script);
      assert.equal(values.get(facts[0]!.key), true);
      assert.equal(values.get(facts[1]!.key), false);
      assert.equal(values.get(facts[2]!.key), 204);
      assert.equal(values.get(facts[3]!.key), 0);
    } finally {
      server.close();
    }
  });
});

describe('planned changes applied locally, then re-planned', () => {
  it('copy writes content with mode atomically, then is up to date', async () => {
    const dest = join(dir, 'conf', 'app.conf');
    mkdirSync(join(dir, 'conf'));
    const params = { dest, content: 'listen 80;\n', mode: '0600' };
    const { first, second } = await applyAndReplan('copy', params);
    assert.deepEqual(first.changes.map((c) => c.title), [`create ${dest} (absent)`]);
    assert.deepEqual(first.changes[0]!.diff, { path: dest, before: null, after: 'listen 80;\n' });
    assert.equal(readFileSync(dest, 'utf8'), 'listen 80;\n');
    assert.equal(statSync(dest).mode & 0o7777, 0o600);
    assert.deepEqual(second, { changes: [], reason: `${dest} up to date` });
    assert.ok(!existsSync(join(dir, 'conf', '.app.conf.bootstrap-tmp-r1')), 'temp file was renamed away');

    const update = await applyAndReplan('copy', { ...params, content: 'listen 81;\n' });
    assert.deepEqual(update.first.changes[0]!.diff, { path: dest, before: 'listen 80;\n', after: 'listen 81;\n' });
    assert.equal(update.first.changes[0]!.title, `update ${dest} (content differs)`);
    assert.equal(statSync(dest).mode & 0o7777, 0o600, 'mode kept');
    assert.equal(update.second.changes.length, 0);

    const chmod = await applyAndReplan('copy', { ...params, content: 'listen 81;\n', mode: '0644' });
    assert.deepEqual(chmod.first.changes.map((c) => c.title), [`set mode of ${dest} to 0644 (was 0600)`]);
    assert.equal(statSync(dest).mode & 0o7777, 0o644);
    assert.equal(chmod.second.changes.length, 0);
  });

  it('a failing validate leaves the old file in place and removes the temp file', async () => {
    const dest = join(dir, 'validated.conf');
    writeFileSync(dest, 'good\n');
    const plan = await planLocally('copy', { dest, content: 'bad\n', validate: 'grep -q good %s' });
    const run = runChange(plan.changes[0]!);
    assert.equal(run.code, 1);
    assert.equal(run.failed?.argv[2], 'grep -q good "$1"', 'the validation command failed, so the mv after it never ran');
    assert.equal(readFileSync(dest, 'utf8'), 'good\n');
    assert.ok(!existsSync(join(dir, '.validated.conf.bootstrap-tmp-r1')));
    const passing = await applyAndReplan('copy', { dest, content: 'still good\n', validate: 'grep -q good %s' });
    assert.equal(readFileSync(dest, 'utf8'), 'still good\n');
    assert.equal(passing.second.changes.length, 0);
  });

  it('a write removes the temp files that ended runs left beside its target: bootstrap\'s own pattern only, never its own run\'s or the lock holder\'s', async () => {
    const conf = join(dir, 'leftovers');
    mkdirSync(conf);
    const dest = join(conf, 'app.conf');
    const lockFile = join(dir, 'leftovers.lock');
    const ours = { runId: 'abcd0123', lockFile };
    const dead = ['.app.conf.bootstrap-tmp-deadbeef', '.app.conf.bootstrap-tmp-00000001'];
    const live = '.app.conf.bootstrap-tmp-0badc0de';
    const kept = [live, '.app.conf.bootstrap-tmp-notarun1', 'app.conf.bootstrap-tmp-deadbeef', '.app.conf.bootstrap-tmp-deadbeef.x', '.other.bootstrap-tmp-deadbeef'];
    // this run's own temp path (another inventory name of the same machine may be writing it): not a leftover
    const own = '.app.conf.bootstrap-tmp-abcd0123';
    for (const name of [...dead, ...kept, own]) writeFileSync(join(conf, name), 'partial');
    mkdirSync(join(conf, '.app.conf.bootstrap-tmp-0d0d0d0d')); // not a file: not ours to remove
    // a live run holds the lock, as a run's holder does on a host (the real host-lock script)
    const holder = lockCommand({ file: lockFile, runId: '0badc0de', waitSeconds: 5, started: new Date().toISOString() }, 5);
    const listed = () => (gather([leftoversFact(dest, ours)]).get(`leftovers:${dest}`) as string[]).map((p) => p.slice(conf.length + 1)).sort();
    const child = spawn(holder.argv[0]!, holder.argv.slice(1), { stdio: ['pipe', 'pipe', 'ignore'] });
    const ended = new Promise((resolve) => child.once('exit', resolve));
    try {
      let said = '';
      child.stdout!.on('data', (d) => (said += d));
      await until('the holder to take the lock', () => said.includes('acquired'));
      assert.deepEqual(listed(), [...dead].sort());
      const { first, second } = await applyAndReplan('copy', { dest, content: 'new\n' }, ours);
      assert.deepEqual(first.changes.map((c) => c.title), [`remove 2 temp file(s) left beside ${dest} by runs that ended`, `create ${dest} (absent)`]);
      assert.deepEqual(second, { changes: [], reason: `${dest} up to date` });
      // the own temp path was written whole and renamed into place
      assert.deepEqual(readdirSync(conf).sort(), ['.app.conf.bootstrap-tmp-0d0d0d0d', 'app.conf', ...kept].sort());
    } finally {
      child.stdin!.end('\n'); // the holder's run ends: a line, then EOF, releases the lock
    }
    await ended;
    // once the holder's run ended, its temp file is a leftover too
    assert.match(readFileSync(lockFile, 'utf8'), /^free after run=0badc0de$/m);
    assert.deepEqual(listed(), [live]);
  });

  it('a sensitive copy hides the diff and marks the write command', async () => {
    const dest = join(dir, 'token');
    const { first, second } = await applyAndReplan('copy', { dest, content: 's3cret', mode: '0400', sensitive: true });
    assert.deepEqual(first.changes[0]!.diff, { path: dest, before: null, after: '', hidden: 'secret' });
    assert.equal(first.changes[0]!.commands[0]!.sensitive, true);
    assert.ok(first.changes.every((c) => c.commands.every((cmd) => !cmd.argv.some((a) => a.includes('s3cret')))));
    assert.equal(readFileSync(dest, 'utf8'), 's3cret');
    assert.equal(statSync(dest).mode & 0o7777, 0o400);
    assert.equal(second.changes.length, 0);
  });

  it('file state=directory, link, touch and absent converge', async () => {
    const nested = join(dir, 'a', 'b');
    const mkdir = await applyAndReplan('file', { path: nested, state: 'directory', mode: '0750' });
    assert.deepEqual(mkdir.first.changes.map((c) => c.title), [`create directory ${nested} (absent)`]);
    assert.equal(statSync(nested).mode & 0o7777, 0o750);
    assert.deepEqual(mkdir.second, { changes: [], reason: `directory ${nested} exists` });

    const link = join(dir, 'current');
    const ln = await applyAndReplan('file', { path: link, state: 'link', src: nested });
    assert.equal(readlinkSync(link), nested);
    assert.deepEqual(ln.second, { changes: [], reason: `${link} -> ${nested}` });
    const relink = await applyAndReplan('file', { path: link, state: 'link', src: join(dir, 'a') });
    assert.deepEqual(relink.first.changes.map((c) => c.title), [`link ${link} -> ${join(dir, 'a')} (points to ${nested})`]);
    assert.equal(readlinkSync(link), join(dir, 'a'));
    assert.equal(relink.second.changes.length, 0);

    const empty = join(dir, 'a', 'empty');
    const touch = await applyAndReplan('file', { path: empty, state: 'touch', mode: '0600' });
    assert.equal(statSync(empty).mode & 0o7777, 0o600);
    assert.equal(touch.second.changes.length, 0);

    const rm = await applyAndReplan('file', { path: join(dir, 'a'), state: 'absent' });
    assert.deepEqual(rm.first.changes.map((c) => c.title), [`remove ${join(dir, 'a')} (directory exists)`]);
    assert.ok(!existsSync(join(dir, 'a')));
    assert.deepEqual(rm.second, { changes: [], reason: `${join(dir, 'a')} absent` });
  });

  it('binary from a local src installs with mode 0755 and is then a no-op', async () => {
    const src = join(dir, 'tool.sh');
    writeFileSync(src, '#!/bin/sh\necho tool\n');
    const dest = join(dir, 'bin-tool');
    const { first, second } = await applyAndReplan('binary', { src: 'tool.sh', dest });
    assert.equal(first.changes[0]!.title, `install ${dest} from tool.sh (absent)`);
    assert.equal(spawnSync(dest, { encoding: 'utf8' }).stdout, 'tool\n');
    assert.equal(statSync(dest).mode & 0o7777, 0o755);
    assert.match(second.reason ?? '', /matches tool\.sh/);
  });

  it('command with creates runs once', async () => {
    const marker = join(dir, 'ran');
    const params = { argv: ['touch', marker], creates: marker };
    const { first, second } = await applyAndReplan('command', params);
    assert.deepEqual(first.changes.map((c) => c.title), [`run touch ${marker} (${marker} absent)`]);
    assert.deepEqual(second, { changes: [], reason: `${marker} exists` });
  });

  it('shell with unless and chdir', async () => {
    const params = { cmd: 'echo hi > out.txt', chdir: dir, unless: `grep -q hi ${dir}/out.txt` };
    const { first, second } = await applyAndReplan('shell', params);
    assert.equal(first.changes.length, 1);
    assert.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), 'hi\n');
    assert.equal(second.changes.length, 0);
    assert.match(second.reason ?? '', /succeeded/);
  });

  it('binary from a url: real curl, sha256sum -c (pinned and SHA256SUMS), unzip/tar, record, then a no-op', async () => {
    const stage = join(dir, 'release');
    mkdirSync(stage);
    writeFileSync(join(stage, 'mytool'), '#!/bin/sh\necho mytool 1.0\n');
    chmodSync(join(stage, 'mytool'), 0o755);
    execOk(['tar', '-C', stage, '-czf', join(stage, 'mytool_1.0_linux_amd64.tar.gz'), 'mytool']);
    execOk(['python3', '-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], "w"); z.write(sys.argv[2], "mytool"); z.close()', join(stage, 'mytool_1.0_linux_amd64.zip'), join(stage, 'mytool')]);
    const sumOf = (name: string) => createHash('sha256').update(readFileSync(join(stage, name))).digest('hex');
    writeFileSync(join(stage, 'SHA256SUMS'), `${'0'.repeat(64)}  mytool_1.0_darwin_arm64.tar.gz\n${sumOf('mytool_1.0_linux_amd64.tar.gz')}  mytool_1.0_linux_amd64.tar.gz\n`);
    const server = createHttpServer((req, res) => {
      const name = (req.url ?? '/').slice(1);
      if (!/^[\w.]+$/.test(name) || !existsSync(join(stage, name))) { res.statusCode = 404; res.end(); return; }
      res.end(readFileSync(join(stage, name)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dests: string[] = [];
    try {
      const cases = [
        { url: `${base}/mytool_1.0_linux_amd64.zip`, sha256: sumOf('mytool_1.0_linux_amd64.zip') },
        { url: `${base}/mytool_1.0_linux_amd64.tar.gz`, checksums_url: `${base}/SHA256SUMS` },
      ];
      for (const [i, source] of cases.entries()) {
        const dest = join(dir, `mytool-${i}`);
        dests.push(dest);
        const params = { dest, member: 'mytool', ...source };
        const first = await planLocally('binary', params);
        assert.equal(first.changes[0]!.title, `install ${dest} from ${source.url} (absent)`);
        for (const command of first.changes[0]!.commands) await runAsync(command.argv, command.stdin);
        assert.equal(spawnSync(dest, { encoding: 'utf8' }).stdout, 'mytool 1.0\n');
        assert.equal(statSync(dest).mode & 0o7777, 0o755);
        const second = await planLocally('binary', params);
        assert.deepEqual(second, { changes: [], reason: `${dest} installed from ${source.url}` });
      }
      // a wrong checksum stops before anything is installed
      const bad = { dest: join(dir, 'mytool-bad'), url: `${base}/mytool_1.0_linux_amd64.zip`, sha256: 'f'.repeat(64) };
      dests.push(bad.dest);
      const commands = (await planLocally('binary', bad)).changes[0]!.commands;
      const verify = commands.findIndex((c) => c.argv[0] === 'sha256sum');
      for (const command of commands.slice(0, verify)) await runAsync(command.argv, command.stdin);
      await assert.rejects(runAsync(commands[verify]!.argv, commands[verify]!.stdin), /did NOT match/);
      assert.ok(!existsSync(bad.dest));
    } finally {
      server.close();
      for (const dest of dests) {
        rmSync(recordPath(dest), { force: true });
        rmSync(`/var/lib/bootstrap/tmp/${escapePath(dest)}`, { recursive: true, force: true });
      }
    }
  });
});

describe('docker modules against the real engine', () => {
  const tag = `bootstrap-facts-test:${process.pid}`;
  const name = `bootstrap-facts-test-${process.pid}`;
  before(ensureDockerEngine);
  after(() => {
    spawnSync('docker', ['rm', '-f', name]);
    spawnSync('docker', ['rmi', '-f', tag]);
  });

  it('docker_image loads a tarball once; docker_container runs, recreates on change, restarts, removes', async () => {
    // a tiny image: sleep(1) and the libraries it needs, from this machine
    const libs = spawnSync('ldd', ['/usr/bin/sleep'], { encoding: 'utf8' }).stdout.match(/\/\S+/g)!.map((p) => p.slice(1));
    const rootfs = join(dir, 'rootfs.tar');
    execOk(['tar', '-chf', rootfs, '-C', '/', 'usr/bin/sleep', ...libs]);
    execOk(['sh', '-c', 'docker import "$1" "$2" >/dev/null && docker save -o "$3" "$2" && docker rmi "$2" >/dev/null', 'sh', rootfs, tag, join(dir, 'image.tar')]);

    const image = await applyAndReplan('docker_image', { name: tag, src: 'image.tar' });
    assert.match(image.first.changes[0]!.title, new RegExp(`^load image ${tag} from .*image\\.tar \\(absent\\)$`));
    assert.match(image.second.reason ?? '', new RegExp(`^image ${tag} present \\(sha256:`));

    const params = { name, image: tag, command: ['/usr/bin/sleep', '600'], env: { API_TOKEN: 't0k', MODE: 'a' }, labels: { app: 'test' }, restart: 'no' };
    const run = await applyAndReplan('docker_container', params);
    assert.deepEqual(run.first.changes.map((c) => c.title), [`run container ${name} from ${tag} (absent)`]);
    assert.equal(run.second.reason, `container ${name} running, definition unchanged`);
    const env = JSON.parse(spawnSync('docker', ['inspect', '--format', '{{json .Config.Env}}', name], { encoding: 'utf8' }).stdout) as string[];
    assert.ok(env.includes('API_TOKEN=t0k') && env.includes('MODE=a'));

    const label = () => spawnSync('docker', ['inspect', '--format', '{{index .Config.Labels "bootstrap.hash"}}', name], { encoding: 'utf8' }).stdout.trim();
    const labelBefore = label();
    const changed = await applyAndReplan('docker_container', { ...params, env: { API_TOKEN: 't0k', MODE: 'b' } });
    assert.deepEqual(changed.first.changes.map((c) => c.title), [`recreate container ${name} (environment MODE changed)`]);
    assert.equal(changed.second.changes.length, 0);
    // the value changed, the label did not: it holds no environment value to test guesses against
    assert.equal(label(), labelBefore);
    assert.match(labelBefore, /^[0-9a-f]{64}$/);

    execOk(['docker', 'stop', '-t', '0', name]);
    const restart = await applyAndReplan('docker_container', { ...params, env: { API_TOKEN: 't0k', MODE: 'b' } });
    assert.deepEqual(restart.first.changes.map((c) => c.title), [`start container ${name} (exited)`]);
    assert.equal(restart.second.changes.length, 0);

    const removed = await applyAndReplan('docker_container', { ...params, state: 'absent' });
    assert.deepEqual(removed.first.changes.map((c) => c.title), [`remove container ${name} (running)`]);
    assert.equal(removed.second.reason, `container ${name} absent`);
  });
});
