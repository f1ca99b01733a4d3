/**
 * The batched facts (one stat / sha256sum / dpkg-query / systemctl call per batch) return
 * exactly what the per-path facts returned (test/helpers/per-path-facts.ts, each run on its
 * own), for one table of cases with odd names, through a local sh and through a real sshd.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { batchScript, parseBatch } from '../../src/facts/batch.js';
import { fileContentFact, fileFact, textFileFact } from '../../src/facts/file.js';
import { hostFacts, parseHostFacts } from '../../src/facts/host.js';
import { aptListsAgeFact, packagesFact } from '../../src/facts/packages.js';
import type { PackageState } from '../../src/facts/packages.js';
import { systemdUnitFact } from '../../src/facts/service.js';
import type { Fact } from '../../src/facts/types.js';
import { connectSsh } from '../../src/transport/ssh.js';
import type { Transport } from '../../src/transport/types.js';
import type { PerPackage } from '../helpers/per-path-facts.js';
import { perPackageFact, perPathContentFact, perPathFileFact, perUnitFact, PER_HOST_SCRIPT } from '../helpers/per-path-facts.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

delete process.env['SSH_AUTH_SOCK'];

type Shell = (script: string) => Promise<string>;

async function gather(shell: Shell, facts: Fact<unknown>[]): Promise<Map<string, unknown>> {
  const script = batchScript(facts);
  return parseBatch(await shell(script), facts, script);
}

/** The per-path facts, each script in its own subshell as before batching (one batch just saves round trips). */
async function gatherEach(shell: Shell, facts: Fact<unknown>[]): Promise<unknown[]> {
  const values = await gather(shell, facts);
  return facts.map((f) => values.get(f.key));
}

let dir: string;
const cases: Array<{ name: string; path: string; stamp?: string }> = [];

function add(name: string, path: string, stamp?: string): void {
  cases.push({ name, path, stamp });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bootstrap-batched-'));
  const at = (name: string) => join(dir, name);
  writeFileSync(at('plain.txt'), 'hello\nworld\n');
  chmodSync(at('plain.txt'), 0o640);
  add('a text file', at('plain.txt'));
  writeFileSync(at('empty'), '');
  add('an empty file', at('empty'));
  writeFileSync(at('setuid'), '#!/bin/sh\n');
  chmodSync(at('setuid'), 0o4755);
  add('a setuid file', at('setuid'));
  writeFileSync(at('binary.bin'), Buffer.from([0, 1, 2, 255, 254]));
  add('a binary file', at('binary.bin'));
  writeFileSync(at('big'), 'x'.repeat(300 * 1024));
  add('a file above 256 KiB', at('big'));
  mkdirSync(at('a dir'));
  add('a directory with a space', at('a dir'));
  symlinkSync('plain.txt', at('link'));
  add('a symlink', at('link'));
  symlinkSync('../no where/x y', at('dangling'));
  add('a dangling symlink with spaces in its target', at('dangling'));
  for (const odd of ['with space', ' leading space', 'trailing space ', 'new\nline', 'two\n\nnewlines\n', '-n', '--help', '-', "it's", 'back\\slash', 'tab\there', '*?[a]', 'dollar $HOME `id`', 'ünïcode', 'carriage\rreturn']) {
    writeFileSync(at(odd), `content of ${odd}\n`);
    add(`a file named ${JSON.stringify(odd)}`, at(odd));
  }
  mkdirSync(at('-dir'));
  writeFileSync(at('-dir/--'), 'dash dash\n');
  add('a file "--" in a directory "-dir"', at('-dir/--'));
  spawnSync('mkfifo', [at('fifo')]);
  add('a fifo', at('fifo'));
  add('a character device', '/dev/null');
  add('an absent path', at('missing'));
  add('a path below a file', at('plain.txt/below'));
  add('the same file twice (second fact)', at('plain.txt'));
  // install records: a stamp whose stat matches, one that does not, and a missing one
  writeFileSync(at('stamped'), 'binary v1\n');
  const st = statSync(at('stamped'));
  const stampText = `url=http://example.test/x\nsha256=${'c'.repeat(64)}\nstat=${st.size}:${Math.floor(st.mtimeMs / 1000)}:${st.ino}\n`;
  writeFileSync(at('stamp-ok'), stampText);
  add('a stamped file whose stat matches', at('stamped'), at('stamp-ok'));
  writeFileSync(at('stamp-stale'), 'sha256=0000\nstat=1:2:3\n');
  add('a stamped file whose stat differs', at('stamped'), at('stamp-stale'));
  add('a stamped file without its stamp', at('stamped'), at('stamp-missing'));
  writeFileSync(at('stamp odd'), 'stat=1:2:3\n');
  add('a stamp with an odd name', at('with space'), at('stamp odd'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const localShell: Shell = async (script) => {
  const run = spawnSync('sh', ['-s'], { input: script, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
};

function agreementTests(shellOf: () => Shell, all: boolean): void {
  it('file facts: one batch for every case equals each per-path fact', async () => {
    const shell = shellOf();
    const batched = await gather(shell, cases.map((c) => fileFact(c.path, { stampFile: c.stamp })));
    const each = await gatherEach(shell, cases.map((c) => perPathFileFact(c.path, c.stamp)));
    // stat's details (inode, times, access, ...), which the per-path facts never read, are compared with Python's os.stat in facts-local
    const withoutDetails = (state: unknown) => Object.fromEntries(Object.entries(state as Record<string, unknown>).filter(([key]) => key !== 'details'));
    cases.forEach((c, i) => assert.deepEqual(withoutDetails(batched.get(fileFact(c.path, { stampFile: c.stamp }).key)), each[i], c.name));
    const stamped = batched.get(fileFact(join(dir, 'stamped'), { stampFile: join(dir, 'stamp-ok') }).key) as { sha256?: string };
    assert.equal(stamped.sha256, 'c'.repeat(64), 'a matching stamp vouches for the hash');
  });

  it('content for diffs and install records: equal to the per-path content', async () => {
    const shell = shellOf();
    const batched = await gather(shell, cases.map((c) => fileContentFact(c.path)));
    const each = await gatherEach(shell, cases.map((c) => perPathContentFact(c.path)));
    cases.forEach((c, i) => assert.deepEqual(c.name === 'a file above 256 KiB' ? null : batched.get(fileContentFact(c.path).key), each[i], c.name));
    const records = await gather(shell, [textFileFact(join(dir, 'stamp-ok')), textFileFact(join(dir, 'missing')), textFileFact(join(dir, 'a dir'))]);
    assert.match(records.get(textFileFact(join(dir, 'stamp-ok')).key) as string, /^url=http:\/\/example.test\/x\nsha256=c{64}\nstat=\d+:\d+:\d+\n$/);
    assert.equal(records.get(textFileFact(join(dir, 'missing')).key), null);
    assert.equal(records.get(textFileFact(join(dir, 'a dir')).key), null);
  });

  it('host facts and the apt lists age equal the per-host script', async () => {
    const shell = shellOf();
    // the lab's tests beside this one add and remove Docker networks on this machine: compare
    // reads made while its interfaces stayed the same (the per-host script before and after agree)
    let values: Map<string, unknown> | undefined;
    let old: unknown;
    for (let attempt = 1; attempt <= 5; attempt++) {
      const before = parseHostFacts(await shell(PER_HOST_SCRIPT));
      values = await gather(shell, [hostFacts, aptListsAgeFact]);
      old = parseHostFacts(await shell(PER_HOST_SCRIPT));
      if (isDeepStrictEqual(before, old)) break;
    }
    assert.deepEqual(values!.get('host'), old);
    const age = values!.get('apt-lists-age');
    assert.ok(age === null || (typeof age === 'number' && age >= 0));
  });

  if (!all) return; // what follows does not depend on quoting across ssh

  it('package facts: one dpkg-query (and apt-cache only where needed) equals each per-package fact', async () => {
    const shell = shellOf();
    const names = ['dpkg', 'coreutils', 'openssh-server', 'no-such-package-xyz', 'hello'];
    const withCandidates = (await gather(shell, [packagesFact(names, names)])).get(packagesFact(names, names).key) as Map<string, PackageState>;
    const plain = (await gather(shell, [packagesFact(names)])).get(packagesFact(names).key) as Map<string, PackageState>;
    const each = await gatherEach(shell, names.map(perPackageFact));
    names.forEach((name, i) => {
      const expected = each[i] as PerPackage;
      assert.deepEqual(withCandidates.get(name), { name, ...expected }, name);
      assert.deepEqual(plain.get(name), { name, ...expected, candidate: expected.installed ? null : expected.candidate }, `${name} (candidates only where not installed)`);
    });
  });

  it('systemd units: one systemctl show equals is-enabled / is-active / NeedDaemonReload per unit', async () => {
    const shell = shellOf();
    const units = ['ssh.service', 'sshd.service', 'cron.service', 'no-such-unit.service', 'systemd-journald.socket'];
    const batched = await gather(shell, units.map((u) => systemdUnitFact(u)));
    const each = await gatherEach(shell, units.map(perUnitFact));
    units.forEach((unit, i) => assert.deepEqual(batched.get(systemdUnitFact(unit).key), each[i], unit));
  });

}

describe('batched facts agree with per-path facts: local sh', () => agreementTests(() => localShell, true));

describe('batched facts agree with per-path facts: real sshd', () => {
  let sshd: Sshd;
  let transport: Transport;
  before(async () => {
    sshd = await startSshd();
    transport = await connectSsh({
      name: 'batched', address: sshd.host, port: sshd.port, user: 'root', key: sshd.clientKeyPath,
      knownHosts: [sshd.knownHostsFile], acceptNewHostKeys: false, sshConfig: join(sshd.dir, 'no-ssh-config'),
    });
  });
  after(async () => {
    await transport?.close();
    await sshd?.stop();
  });
  agreementTests(() => async (script) => {
    const res = await transport.exec({ argv: ['sh', '-s'], stdin: script });
    assert.equal(res.code, 0, res.stderr);
    return res.stdout;
  }, false);
});
