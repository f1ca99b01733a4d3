import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  checkServerHostKey,
  entryMatchesHost,
  hostKeyAlgorithmsFor,
  hostKeyFingerprint,
  judgeHostKey,
  keyTypeOfBlob,
  parseKnownHosts,
} from '../../src/transport/known-hosts.js';

function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function ed25519Blob(): Buffer {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return Buffer.concat([sshString('ssh-ed25519'), sshString(raw)]);
}

function ecdsaBlob(): Buffer {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(point)]);
}

function line(hosts: string, blob: Buffer, marker = ''): string {
  return `${marker}${marker ? ' ' : ''}${hosts} ${keyTypeOfBlob(blob)} ${blob.toString('base64')} comment`;
}

function hashedName(name: string): string {
  const salt = randomBytes(20);
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

const keyA = ed25519Blob();
const keyB = ed25519Blob();
const keyEc = ecdsaBlob();

describe('hostKeyFingerprint', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kh-unit-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('matches ssh-keygen -l for the same key', async () => {
    for (const blob of [keyA, keyEc]) {
      const file = join(dir, 'key.pub');
      await writeFile(file, `${keyTypeOfBlob(blob)} ${blob.toString('base64')}\n`);
      const expected = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' }).split(' ')[1];
      assert.equal(hostKeyFingerprint(blob), expected);
      assert.match(hostKeyFingerprint(blob), /^SHA256:[A-Za-z0-9+/]{43}$/);
    }
  });
});

describe('parseKnownHosts', () => {
  it('skips comments, blank and malformed lines and keeps line numbers', () => {
    const text = [
      '# comment',
      '',
      'onlyhost',
      `bad ssh-ed25519 ${keyEc.toString('base64')}`, // type does not match the blob
      line('web1,10.0.0.1', keyA),
      '@bogus-marker web2 ssh-ed25519 AAAA',
    ].join('\n');
    const entries = parseKnownHosts(text, '/k');
    assert.equal(entries.length, 1);
    assert.deepEqual(entries[0]!.patterns, ['web1', '10.0.0.1']);
    assert.equal(entries[0]!.line, 5);
    assert.equal(entries[0]!.keyType, 'ssh-ed25519');
  });
});

describe('entryMatchesHost', () => {
  const one = (hosts: string) => parseKnownHosts(line(hosts, keyA), '/k')[0]!;

  it('matches any name of a comma-separated list, case-insensitively', () => {
    const entry = one('web1.example.com,10.0.0.1');
    assert.equal(entryMatchesHost(entry, '10.0.0.1', 22), true);
    assert.equal(entryMatchesHost(entry, 'WEB1.example.com', 22), true);
    assert.equal(entryMatchesHost(entry, '10.0.0.2', 22), false);
  });

  it('uses [host]:port for ports other than 22, and only that', () => {
    const bare = one('10.0.0.1');
    const withPort = one('[10.0.0.1]:2222');
    assert.equal(entryMatchesHost(bare, '10.0.0.1', 2222), false);
    assert.equal(entryMatchesHost(withPort, '10.0.0.1', 2222), true);
    assert.equal(entryMatchesHost(withPort, '10.0.0.1', 22), false);
    assert.equal(entryMatchesHost(withPort, '10.0.0.1', 2223), false);
  });

  it('supports wildcards and negation', () => {
    const entry = one('*.example.com,!db.example.com');
    assert.equal(entryMatchesHost(entry, 'web.example.com', 22), true);
    assert.equal(entryMatchesHost(entry, 'db.example.com', 22), false);
    assert.equal(entryMatchesHost(entry, 'example.org', 22), false);
  });

  it('matches hashed entries (HMAC-SHA1 of the name) including [host]:port', () => {
    const plain = parseKnownHosts(line(hashedName('lb1.example.com'), keyA), '/k')[0]!;
    assert.ok(plain.hashed);
    assert.equal(entryMatchesHost(plain, 'lb1.example.com', 22), true);
    assert.equal(entryMatchesHost(plain, 'LB1.example.com', 22), true);
    assert.equal(entryMatchesHost(plain, 'lb2.example.com', 22), false);
    const ported = parseKnownHosts(line(hashedName('[10.1.2.3]:2200'), keyA), '/k')[0]!;
    assert.equal(entryMatchesHost(ported, '10.1.2.3', 2200), true);
    assert.equal(entryMatchesHost(ported, '10.1.2.3', 22), false);
  });
});

describe('judgeHostKey', () => {
  it('trusts a listed key, with several key types per host', () => {
    const entries = parseKnownHosts([line('h1', keyEc), line('h1', keyA)].join('\n'), '/k');
    assert.equal(judgeHostKey(entries, 'h1', 22, keyA).kind, 'trusted');
    assert.equal(judgeHostKey(entries, 'h1', 22, keyEc).kind, 'trusted');
  });

  it('reports a different key of the same type as changed, naming the old entry', () => {
    const entries = parseKnownHosts(['# x', line(hashedName('h1'), keyA)].join('\n'), '/k');
    const verdict = judgeHostKey(entries, 'h1', 22, keyB);
    assert.equal(verdict.kind, 'changed');
    assert.equal(verdict.kind === 'changed' && verdict.entries[0]!.line, 2);
  });

  it('reports a key of a type not on file as unknown, listing the known types', () => {
    const entries = parseKnownHosts(line('h1', keyEc), '/k');
    assert.deepEqual(judgeHostKey(entries, 'h1', 22, keyA), { kind: 'unknown', knownTypes: ['ecdsa-sha2-nistp256'] });
    assert.deepEqual(judgeHostKey(entries, 'h2', 22, keyA), { kind: 'unknown', knownTypes: [] });
  });

  it('refuses a revoked key even when it is also listed as trusted', () => {
    const entries = parseKnownHosts([line('h1', keyA), line('*', keyA, '@revoked')].join('\n'), '/k');
    assert.equal(judgeHostKey(entries, 'h1', 22, keyA).kind, 'revoked');
    assert.equal(judgeHostKey(entries, 'h1', 22, keyB).kind, 'changed');
  });
});

describe('checkServerHostKey', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kh-unit-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('refuses an unknown key with its fingerprint and how to accept it', async () => {
    const file = join(dir, 'absent', 'known_hosts');
    const outcome = await checkServerHostKey({ files: [file], host: '10.9.8.7', port: 2200, keyBlob: keyA, acceptNew: false });
    assert.equal(outcome.ok, false);
    const reason = outcome.ok ? '' : outcome.reason;
    assert.ok(reason.includes(hostKeyFingerprint(keyA)), reason);
    assert.ok(reason.includes('ssh-ed25519'));
    assert.ok(reason.includes('--accept-new-host-keys'));
    assert.ok(reason.includes('ssh-keyscan -p 2200 -t ed25519 10.9.8.7'));
    await assert.rejects(stat(file), { code: 'ENOENT' });
  });

  it('records an unknown key with acceptNew (file 0600, dir 0700), then trusts it', async () => {
    const file = join(dir, 'new', '.ssh', 'known_hosts');
    const first = await checkServerHostKey({ files: [file], host: '10.9.8.7', port: 2200, keyBlob: keyA, acceptNew: true });
    assert.deepEqual(first, { ok: true, recordedIn: file });
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'new', '.ssh'))).mode & 0o777, 0o700);
    assert.equal(await readFile(file, 'utf8'), `[10.9.8.7]:2200 ssh-ed25519 ${keyA.toString('base64')}\n`);
    const second = await checkServerHostKey({ files: [file], host: '10.9.8.7', port: 2200, keyBlob: keyA, acceptNew: false });
    assert.deepEqual(second, { ok: true });
  });

  it('appends on a new line to a file without a trailing newline, and a second type for the same host', async () => {
    const file = join(dir, 'existing_known_hosts');
    await writeFile(file, line('10.0.0.1', keyEc));
    const outcome = await checkServerHostKey({ files: [file], host: '10.0.0.1', port: 22, keyBlob: keyA, acceptNew: true });
    assert.equal(outcome.ok, true);
    const entries = parseKnownHosts(await readFile(file, 'utf8'), file);
    assert.deepEqual(entries.map((e) => e.keyType), ['ecdsa-sha2-nistp256', 'ssh-ed25519']);
  });

  it('refuses a changed key even with acceptNew, and leaves the file alone', async () => {
    const file = join(dir, 'changed_known_hosts');
    const original = `${line('[127.0.0.1]:2022', keyA)}\n`;
    await writeFile(file, original);
    const outcome = await checkServerHostKey({ files: ['/nonexistent/first', file], host: '127.0.0.1', port: 2022, keyBlob: keyB, acceptNew: true });
    assert.equal(outcome.ok, false);
    const reason = outcome.ok ? '' : outcome.reason;
    assert.match(reason, /HAS CHANGED/);
    assert.ok(reason.includes(hostKeyFingerprint(keyB)));
    assert.ok(reason.includes(`${file}:1`));
    assert.equal(await readFile(file, 'utf8'), original);
  });

  it('refuses a revoked key with the file and line', async () => {
    const file = join(dir, 'revoked_known_hosts');
    await writeFile(file, `${line('h1', keyA)}\n${line('h1', keyA, '@revoked')}\n`);
    const outcome = await checkServerHostKey({ files: [file], host: 'h1', port: 22, keyBlob: keyA, acceptNew: true });
    assert.equal(outcome.ok, false);
    assert.match(outcome.ok ? '' : outcome.reason, new RegExp(`@revoked in ${file}:2`));
  });
});

describe('hostKeyAlgorithmsFor', () => {
  it('puts the algorithms of already-known key types first', () => {
    assert.deepEqual(hostKeyAlgorithmsFor(['ssh-rsa']).slice(0, 3), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    assert.equal(hostKeyAlgorithmsFor([])[0], 'ssh-ed25519');
    assert.equal(hostKeyAlgorithmsFor(['ecdsa-sha2-nistp256']).length, 7);
  });
});
