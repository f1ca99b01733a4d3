import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { binarySource } from '../../src/artifacts/go.js';
import { startArtifactServer, type ArtifactServer } from '../../src/lab/artifact-server.js';
import { releaseFileNames, writeRelease } from '../../src/lab/artifacts.js';
import { ensureConsulTemplateBinary } from '../../src/lab/go-builds.js';
import { downloadRelease, RELEASES_URL_ENV } from '../../src/lab/release-download.js';
import { CONSUL_TEMPLATE_VERSION } from '../../src/lab/versions.js';
import { freePort } from '../golden/stack-harness.js';

/*
 * `lab build` takes consul-template (and consul) from a release site laid out like HashiCorp's
 * when it answers: here a local mirror on loopback (the lab's own artifact server) holding a zip of
 * the real binary. The download is checked against the mirror's SHA256SUMS (a tampered one is
 * refused), and an unreachable site is given up on at once, so the Go build takes over.
 */

const saved = { cache: process.env.BOOTSTRAP_CACHE, releases: process.env[RELEASES_URL_ENV] };
let work: string;
let realBinary: string;
let mirror: ArtifactServer;
let tampered: ArtifactServer;

/** A fresh cache directory for the next ensure*, so nothing cached answers instead of the mirror. */
function freshCache(name: string): string {
  const dir = join(work, name);
  process.env.BOOTSTRAP_CACHE = dir;
  return dir;
}

before(async () => {
  realBinary = await ensureConsulTemplateBinary(); // the machine's cache: built or downloaded before
  work = mkdtempSync(join(tmpdir(), 'lab-release-download-'));
  const good = join(work, 'mirror');
  writeRelease(good, 'consul-template', CONSUL_TEMPLATE_VERSION, realBinary);
  mirror = await startArtifactServer(good, '127.0.0.1', 0);
  // the same zip, with a SHA256SUMS that names another digest
  const names = releaseFileNames('consul-template', CONSUL_TEMPLATE_VERSION);
  const bad = join(work, 'tampered');
  mkdirSync(join(bad, names.dir), { recursive: true });
  copyFileSync(join(good, names.dir, names.zip), join(bad, names.dir, names.zip));
  writeFileSync(join(bad, names.dir, names.sums), `${'0'.repeat(64)}  ${names.zip}\n`);
  tampered = await startArtifactServer(bad, '127.0.0.1', 0);
});

after(async () => {
  await mirror?.stop();
  await tampered?.stop();
  for (const [key, value] of [['BOOTSTRAP_CACHE', saved.cache], [RELEASES_URL_ENV, saved.releases]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('lab build: release zips when the release site answers', () => {
  test('from a mirror: the release zip, checked against its SHA256SUMS, and the cache says where it came from', async () => {
    const cache = freshCache('cache-mirror');
    process.env[RELEASES_URL_ENV] = mirror.url;
    const started = performance.now();
    const binary = await ensureConsulTemplateBinary();
    console.log(`# consul-template ${CONSUL_TEMPLATE_VERSION} from the local mirror in ${(performance.now() - started).toFixed(0)} ms`);
    assert.ok(binary.startsWith(cache), binary);
    assert.deepEqual(readFileSync(binary), readFileSync(realBinary));
    const url = `${mirror.url}/consul-template/${CONSUL_TEMPLATE_VERSION}/consul-template_${CONSUL_TEMPLATE_VERSION}_linux_amd64.zip`;
    assert.equal(binarySource(binary), `release zip ${url}, checked against its SHA256SUMS`);
  });

  test('a zip that does not match the SHA256SUMS is refused, and nothing is cached', async () => {
    const cache = freshCache('cache-tampered');
    process.env[RELEASES_URL_ENV] = tampered.url;
    await assert.rejects(ensureConsulTemplateBinary(), /sha256sum/);
    assert.equal(existsSync(join(cache, 'bin', 'consul-template', CONSUL_TEMPLATE_VERSION, 'consul-template')), false);
  });

  test('an unreachable release site, or BOOTSTRAP_RELEASES_URL=off, is given up on at once (the Go build takes over)', async () => {
    process.env[RELEASES_URL_ENV] = `http://127.0.0.1:${await freePort()}`;
    const dest = join(work, 'unreachable', 'consul-template');
    const started = performance.now();
    const result = await downloadRelease('consul-template', CONSUL_TEMPLATE_VERSION, dest, join(work, 'unreachable'));
    console.log(`# an unreachable release site given up on after ${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(result.downloaded, false);
    assert.match(!result.downloaded ? result.reason : '', /did not answer/);
    assert.equal(existsSync(dest), false);
    process.env[RELEASES_URL_ENV] = 'off';
    assert.deepEqual(await downloadRelease('consul-template', CONSUL_TEMPLATE_VERSION, dest, join(work, 'unreachable')), { downloaded: false, reason: `${RELEASES_URL_ENV}=off` });
  });
});
