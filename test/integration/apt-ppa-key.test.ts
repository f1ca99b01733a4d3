/**
 * apt_repository's PPA signing key, fetched by the command its plan holds, run by sh on this
 * machine: Launchpad's API and the keyserver are stood in for by an HTTP server on loopback
 * (no test leaves the machine), serving a key gpg made for the test.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expandPpa, ppaKeyChange } from '../../src/modules/ppa.js';

const gpg = (home: string, ...args: string[]) => {
  const r = spawnSync('gpg', ['--homedir', home, '--batch', '--quiet', ...args]);
  assert.equal(r.status, 0, `gpg ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** A signing key made for the test: its fingerprint and armored public key. */
function makeKey(home: string, uid: string): { fpr: string; armored: Buffer } {
  gpg(home, '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never');
  const colons = gpg(home, '--with-colons', '--list-keys', uid).toString();
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(colons)![1]!;
  return { fpr, armored: gpg(home, '--armor', '--export', fpr) };
}

describe('apt_repository: a PPA\'s signing key', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let wanted: { fpr: string; armored: Buffer };
  let other: { fpr: string; armored: Buffer };
  /** what the stand-ins answer: Launchpad's JSON for ~owner/+archive/name, and the keyserver's key */
  const answers: { lp: string; key: Buffer } = { lp: '', key: Buffer.alloc(0) };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-ppa-key-'));
    const home = join(dir, 'gnupg');
    mkdirSync(home, { mode: 0o700 });
    wanted = makeKey(home, 'PPA for nginx <ppa@example.invalid>');
    other = makeKey(home, 'Another key <other@example.invalid>');
    server = createServer((req, res) => {
      if (req.url === '/1.0/~nginx/+archive/stable' && req.headers.accept === 'application/json') return void res.writeHead(200).end(answers.lp);
      if (req.url?.startsWith('/pks/lookup?op=get&options=mr&search=0x')) return void res.writeHead(200).end(answers.key);
      res.writeHead(404).end('not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server?.close();
    // gpg started an agent for the test's keyring when it made the keys
    if (dir) spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg'), '--kill', 'all']);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the planned command (not blocking: this process serves its requests) with the key file under a fresh directory; its exit, stderr and what the directory then holds. */
  const fetchKey = async () => {
    const keys = mkdtempSync(join(dir, 'trusted-'));
    const ppa = { ...expandPpa('ppa:nginx/stable', 'jammy') };
    ppa.keyFile = join(keys, ppa.keyFile.split('/').pop()!);
    const argv = ppaKeyChange(ppa, 'abcd1234', { api: `${base}/1.0`, keyserver: base }).commands[0]!.argv;
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { status, stderr, files: readdirSync(keys), keyFile: ppa.keyFile };
  };

  it('writes the key with Launchpad\'s fingerprint, binary, as Ansible names it', async () => {
    answers.lp = JSON.stringify({ name: 'stable', signing_key_fingerprint: wanted.fpr, displayname: 'x' });
    answers.key = Buffer.concat([wanted.armored, other.armored]);
    const r = await fetchKey();
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.files, ['ubuntu-jammy-main-nginx-stable.gpg']);
    const shown = spawnSync('gpg', ['--homedir', join(dir, 'gnupg'), '--batch', '--with-colons', '--show-keys', r.keyFile], { encoding: 'utf8' }).stdout;
    assert.deepEqual([...shown.matchAll(/^fpr:+([0-9A-F]{40}):/gm)].map((m) => m[1]), [wanted.fpr], 'only the key with that fingerprint, though the keyserver sent two');
  });
  it('fails saying why, leaving no file, when Launchpad names no fingerprint or the keyserver lacks that key', async () => {
    answers.lp = JSON.stringify({ name: 'stable' });
    let r = await fetchKey();
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), 'Launchpad gave no signing_key_fingerprint for ppa:nginx/stable');
    assert.deepEqual(r.files, []);
    answers.lp = JSON.stringify({ signing_key_fingerprint: wanted.fpr });
    answers.key = other.armored;
    r = await fetchKey();
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), `the keyserver has no key ${wanted.fpr} for ppa:nginx/stable`);
    assert.deepEqual(r.files, []);
    assert.ok(!existsSync(r.keyFile));
  });
});
