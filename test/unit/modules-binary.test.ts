import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileState } from '../../src/facts/file.js';
import type { Fact, FactReader, HostFacts } from '../../src/facts/types.js';
import { escapePath, recordPath } from '../../src/modules/binary.js';
import { getModule } from '../../src/modules/index.js';
import type { ModuleContext, Plan } from '../../src/modules/types.js';

const ctx: ModuleContext = { host: 'lb1', facts: { init: 'systemd' } as HostFacts, localDir: '/tmp', runId: 'r1', lockFile: '/run/bootstrap.lock', evaluate: () => { throw new Error('no expressions here'); }, renderTemplate: () => '' };
const URL = 'https://releases.hashicorp.com/consul/1.16.6/consul_1.16.6_linux_amd64.zip';
const SUMS = 'https://releases.hashicorp.com/consul/1.16.6/consul_1.16.6_SHA256SUMS';
const SHA = 'a'.repeat(64);
const INSTALLED_SHA = 'b'.repeat(64);
const DEST = '/usr/local/bin/consul';
const RECORD = '/var/lib/bootstrap/binaries/usr-local-bin-consul.source';
const WORK = '/var/lib/bootstrap/tmp/usr-local-bin-consul-r1';

function plan(params: Record<string, unknown>, installed: FileState, record: string | null): Promise<Plan> | Plan {
  const values: Record<string, unknown> = {
    [params.url === undefined ? `file:${DEST}` : `file+stamp:${RECORD}:${DEST}`]: installed,
    ...(params.url === undefined ? {} : { [`text-file:${RECORD}`]: record }),
    [`leftovers:${DEST}`]: [],
  };
  const m = getModule('binary')!;
  assert.deepEqual(m.facts(params, ctx).map((f) => f.key).sort(), Object.keys(values).sort());
  const read: FactReader = <T>(fact: Fact<T>) => values[fact.key] as T;
  return m.plan(params, read, ctx);
}
const installedFile: FileState = { path: DEST, type: 'file', mode: '0755', owner: 'root', group: 'root', sha256: INSTALLED_SHA };

describe('binary', () => {
  it('escapes dest paths into one record file name each', () => {
    assert.equal(escapePath('/usr/local/bin/consul'), 'usr-local-bin-consul');
    assert.equal(escapePath('/opt/my-tool/bin/x y'), 'opt-my%2dtool-bin-x%20y');
    assert.equal(recordPath(DEST), RECORD);
  });

  it('url + sha256, absent: download, verify via stdin, unzip member, install atomically, record', async () => {
    const p = await plan({ dest: DEST, url: URL, sha256: SHA }, { path: DEST, type: 'absent' }, null);
    assert.equal(p.changes.length, 1);
    assert.equal(p.changes[0]!.title, `install ${DEST} from ${URL} (absent)`);
    const commands = p.changes[0]!.commands;
    const download = `${WORK}/consul_1.16.6_linux_amd64.zip`;
    assert.deepEqual(commands.map((c) => c.argv), [
      ['rm', '-rf', WORK],
      ['mkdir', '-p', `${WORK}/x`, '/var/lib/bootstrap/binaries'],
      ['curl', '-fsSL', '--retry', '3', '--connect-timeout', '10', '--max-time', '600', '-o', download, URL],
      ['sha256sum', '-c', '-'],
      ['unzip', '-o', '-q', download, 'consul', '-d', `${WORK}/x`],
      ['install', '-m', '0755', `${WORK}/x/consul`, '/usr/local/bin/.consul.bootstrap-tmp-r1'],
      ['mv', '-f', '/usr/local/bin/.consul.bootstrap-tmp-r1', DEST],
      ['sh', '-c', commands[7]!.argv[2]!, 'sh', URL, DEST, RECORD, 'r1'],
      ['rm', '-rf', WORK, `${WORK}.SHA256SUMS`],
      ['rm', '-rf', '--', WORK, `${WORK}.SHA256SUMS`, '/usr/local/bin/.consul.bootstrap-tmp-r1'],
    ]);
    assert.equal(commands[3]!.stdin, `${SHA}  ${download}\n`);
  });

  it('checksums_url: fetches the SUMS file and checks the download\'s line; tar.gz member; curl limits set by the task', async () => {
    const url = 'https://example.org/ct/consul-template_0.37.4_linux_amd64.tgz';
    const p = await plan({ dest: DEST, url, checksums_url: SUMS, member: 'bin/consul', connect_timeout: 5, max_time: 30 }, { path: DEST, type: 'absent' }, null);
    const argv = p.changes[0]!.commands.map((c) => c.argv);
    assert.deepEqual(argv[2]!.slice(0, 8), ['curl', '-fsSL', '--retry', '3', '--connect-timeout', '5', '--max-time', '30']);
    assert.deepEqual(argv[3], ['curl', '-fsSL', '--retry', '3', '--connect-timeout', '5', '--max-time', '30', '-o', `${WORK}.SHA256SUMS`, SUMS]);
    assert.deepEqual(argv[4]!.slice(3), ['sh', WORK, 'consul-template_0.37.4_linux_amd64.tgz', `${WORK}.SHA256SUMS`, SUMS]);
    assert.deepEqual(argv[5], ['tar', '-xzf', `${WORK}/consul-template_0.37.4_linux_amd64.tgz`, '-C', `${WORK}/x`, 'bin/consul']);
  });

  it('no-op when the record and the file sha256 match', async () => {
    const p = await plan({ dest: DEST, url: URL, sha256: SHA }, installedFile, `url=${URL}\nsha256=${INSTALLED_SHA}\n`);
    assert.deepEqual(p, { changes: [], reason: `${DEST} installed from ${URL}` });
  });

  it('reinstalls when the url changed, the file was modified, or there is no record', async () => {
    const older = await plan({ dest: DEST, url: URL, sha256: SHA }, installedFile, `url=https://x/consul_1.15.zip\nsha256=${INSTALLED_SHA}\n`);
    assert.equal(older.changes[0]!.title, `install ${DEST} from ${URL} (installed from https://x/consul_1.15.zip)`);
    const modified = await plan({ dest: DEST, url: URL, sha256: SHA }, installedFile, `url=${URL}\nsha256=${'c'.repeat(64)}\n`);
    assert.equal(modified.changes[0]!.title, `install ${DEST} from ${URL} (file changed since install)`);
    const unrecorded = await plan({ dest: DEST, url: URL, sha256: SHA }, installedFile, null);
    assert.equal(unrecorded.changes[0]!.title, `install ${DEST} from ${URL} (no install record)`);
  });

  it('validate: url or src, and a checksum for url', () => {
    const m = getModule('binary')!;
    assert.deepEqual(m.validate!({ dest: DEST }, { localDir: '/tmp' }), [['url', 'give exactly one of url or src']]);
    assert.deepEqual(m.validate!({ dest: DEST, url: URL }, { localDir: '/tmp' }), [['sha256', 'a url needs exactly one of sha256 or checksums_url']]);
    assert.deepEqual(m.validate!({ dest: DEST, src: 'nope/consul' }, { localDir: '/tmp' }), [['src', 'no such file: /tmp/nope/consul']]);
  });
});
