import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { signOnce, type OwnKey } from '../../src/transport/ssh2-cpu.js';

describe('signOnce: the login signature with a key decoded once', () => {
  let dir: string;
  const keys = new Map<string, OwnKey & { verify(data: Buffer, signature: Buffer, hash?: string): boolean | Error }>();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ssh2-cpu-'));
    for (const [name, args] of [['ed25519', ['-t', 'ed25519']], ['ecdsa256', ['-t', 'ecdsa', '-b', '256']], ['ecdsa521', ['-t', 'ecdsa', '-b', '521']], ['rsa', ['-t', 'rsa', '-b', '2048']]] as const) {
      const path = join(dir, name);
      execFileSync('ssh-keygen', ['-q', ...args, '-N', '', '-C', name, '-f', path]);
      const parsed = ssh2.utils.parseKey(await readFile(path));
      assert.ok(!(parsed instanceof Error), `${name}: ${String(parsed)}`);
      keys.set(name, (Array.isArray(parsed) ? parsed[0] : parsed) as never);
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('gives the bytes ssh2 gives for deterministic signatures (ed25519; RSA with each hash offered)', () => {
    const data = randomBytes(300);
    const ed = keys.get('ed25519')!;
    assert.deepEqual(signOnce(ed, data, undefined), ed.sign!(data));
    assert.deepEqual(signOnce(ed, data, undefined), ed.sign!(data), 'the second signature, with the cached key, too');
    const rsa = keys.get('rsa')!;
    for (const hash of ['sha512', 'sha256', 'sha1']) assert.deepEqual(signOnce(rsa, data, hash), rsa.sign!(data, hash), hash);
  });

  it('signs ECDSA with the curve hash ssh2 uses: its verify accepts the signature, and refuses it for other data', () => {
    for (const name of ['ecdsa256', 'ecdsa521']) {
      const key = keys.get(name)!;
      const data = randomBytes(200);
      const signature = signOnce(key, data, undefined);
      assert.ok(Buffer.isBuffer(signature), name);
      assert.equal(key.verify(data, signature), true, name);
      assert.equal(key.verify(randomBytes(200), signature), false, name);
    }
  });

  it('leaves a key type it does not know, and RSA without an offered hash, to ssh2', () => {
    const calls: Array<string | undefined> = [];
    const unknown: OwnKey = { type: 'ssh-dss', getPrivatePEM: () => 'not read', sign: (_data, hash) => (calls.push(hash), Buffer.from('ssh2')) };
    assert.deepEqual(signOnce(unknown, Buffer.from('x'), undefined), Buffer.from('ssh2'));
    const rsa: OwnKey = { type: 'ssh-rsa', getPrivatePEM: () => 'not read', sign: (_data, hash) => (calls.push(hash), Buffer.from('ssh2 rsa')) };
    assert.deepEqual(signOnce(rsa, Buffer.from('x'), undefined), Buffer.from('ssh2 rsa'));
    assert.deepEqual(calls, [undefined, undefined]);
  });
});
