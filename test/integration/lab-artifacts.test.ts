import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deterministicZip, ensureReleaseArtifacts, sha256Hex, type ReleaseArtifacts } from '../../src/lab/artifacts.js';
import { startArtifactServer, startArtifactServerDetached, stopArtifactServer } from '../../src/lab/artifact-server.js';
import { DEMO_APP_IMAGE, ensureDemoAppImage } from '../../src/lab/app-image.js';
import { cacheDir } from '../../src/artifacts/cache.js';
import { docker } from '../../src/lab/docker-engine.js';
import { runLocal } from '../../src/artifacts/exec-local.js';
import { ensureConsulBinary, ensureConsulTemplateBinary } from '../../src/lab/go-builds.js';
import { CONSUL_TEMPLATE_VERSION, CONSUL_VERSION } from '../../src/lab/versions.js';

const BUILD_TIMEOUT = 60 * 60_000;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A raw GET/HEAD that sends the path exactly as given (fetch would normalise `..` away). */
function rawRequest(url: string, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Whether an ELF64 executable asks for a dynamic loader (a PT_INTERP program header). */
function hasInterpreter(path: string): boolean {
  const elf = readFileSync(path);
  assert.equal(elf.subarray(0, 4).toString('latin1'), '\x7fELF');
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (elf.readUInt32LE(phoff + i * phentsize) === 3) return true;
  return false;
}

function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n').filter(Boolean)) {
    const match = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    assert.ok(match, `SHA256SUMS line in HashiCorp's format: ${JSON.stringify(line)}`);
    sums.set(match[2]!, match[1]!);
  }
  return sums;
}

describe('lab Go builds', { timeout: BUILD_TIMEOUT }, () => {
  it('consul is built from the pinned version and reports it', { timeout: BUILD_TIMEOUT }, async () => {
    const consul = await ensureConsulBinary();
    assert.ok(consul.startsWith(cacheDir()), `${consul} is in the cache`);
    const { stdout } = await runLocal([consul, 'version']);
    assert.equal(stdout.split('\n')[0], `Consul v${CONSUL_VERSION}`);
    assert.equal(hasInterpreter(consul), false, 'statically linked: no ELF interpreter');
  });

  it('consul-template is built from the pinned version and reports it', { timeout: BUILD_TIMEOUT }, async () => {
    const consulTemplate = await ensureConsulTemplateBinary();
    const { stdout, stderr } = await runLocal([consulTemplate, '-version']);
    assert.match(`${stdout}${stderr}`, new RegExp(`^consul-template v${CONSUL_TEMPLATE_VERSION.replace(/\./g, '\\.')} `));
  });

  it('a second ensure call reuses the cached binary (same file, no rebuild)', async () => {
    const first = await ensureConsulTemplateBinary();
    const { mtimeMs, ino } = statSync(first);
    const started = Date.now();
    const second = await ensureConsulTemplateBinary();
    assert.equal(second, first);
    assert.deepEqual([statSync(second).mtimeMs, statSync(second).ino], [mtimeMs, ino]);
    assert.ok(Date.now() - started < 2_000, 'cached lookup is immediate');
  });

  it('consul agent -dev answers /v1/status/leader with its own server address', { timeout: 120_000 }, async () => {
    const consul = await ensureConsulBinary();
    const dir = mkdtempSync(join(tmpdir(), 'lab-consul-'));
    const [http, serfLan, serfWan, server] = [await freePort(), await freePort(), await freePort(), await freePort()];
    writeFileSync(
      join(dir, 'ports.json'),
      JSON.stringify({ ports: { http, dns: -1, grpc: -1, grpc_tls: -1, serf_lan: serfLan, serf_wan: serfWan, server } }),
    );
    const agent = spawn(consul, ['agent', '-dev', '-bind', '127.0.0.1', '-client', '127.0.0.1', '-data-dir', join(dir, 'data'), '-config-file', join(dir, 'ports.json')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    agent.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    agent.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    try {
      let leader = '';
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && agent.exitCode === null) {
        try {
          const res = await fetch(`http://127.0.0.1:${http}/v1/status/leader`);
          leader = JSON.parse(await res.text()) as string;
          if (leader) break;
        } catch {
          // not listening yet
        }
        await new Promise((done) => setTimeout(done, 300));
      }
      assert.equal(leader, `127.0.0.1:${server}`, `leader elected; agent log:\n${log.slice(-2000)}`);
      const members = (await (await fetch(`http://127.0.0.1:${http}/v1/agent/members`)).json()) as Array<{ Tags: Record<string, string> }>;
      assert.equal(members[0]?.Tags.build?.split(':')[0], CONSUL_VERSION);
    } finally {
      agent.kill('SIGTERM');
      await new Promise((done) => (agent.exitCode !== null ? done(undefined) : agent.once('exit', done)));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('release artifacts laid out like releases.hashicorp.com', { timeout: BUILD_TIMEOUT }, () => {
  let artifacts: ReleaseArtifacts;
  before(async () => {
    artifacts = await ensureReleaseArtifacts();
  }, { timeout: BUILD_TIMEOUT });

  it('has consul and consul-template zips at the HashiCorp paths', () => {
    assert.equal(artifacts.consul.zipPath, `consul/${CONSUL_VERSION}/consul_${CONSUL_VERSION}_linux_amd64.zip`);
    assert.equal(artifacts.consul.sumsPath, `consul/${CONSUL_VERSION}/consul_${CONSUL_VERSION}_SHA256SUMS`);
    assert.equal(artifacts.consulTemplate.zipPath, `consul-template/${CONSUL_TEMPLATE_VERSION}/consul-template_${CONSUL_TEMPLATE_VERSION}_linux_amd64.zip`);
  });

  it('SHA256SUMS lines match the zips, and each zip holds the exact binary (checked with unzip)', async () => {
    const binaries = { consul: await ensureConsulBinary(), 'consul-template': await ensureConsulTemplateBinary() };
    for (const release of [artifacts.consul, artifacts.consulTemplate]) {
      const sums = parseSums(readFileSync(release.sums, 'utf8'));
      const zipName = release.zipPath.split('/').pop()!;
      assert.equal(sums.get(zipName), sha256Hex(readFileSync(release.zip)));
      const listing = await runLocal(['unzip', '-Z1', release.zip]);
      assert.deepEqual(listing.stdout.split('\n').filter(Boolean), [release.product]);
      const mode = await runLocal(['unzip', '-Z', release.zip]);
      assert.match(mode.stdout, /-rwxr-xr-x/);
      const extracted = mkdtempSync(join(tmpdir(), 'lab-unzip-'));
      try {
        await runLocal(['unzip', '-q', release.zip, '-d', extracted]);
        const binary = binaries[release.product as keyof typeof binaries];
        assert.equal(sha256Hex(readFileSync(join(extracted, release.product))), sha256Hex(readFileSync(binary)));
      } finally {
        rmSync(extracted, { recursive: true, force: true });
      }
    }
  });

  it('zips are deterministic: zipping the same binary again gives the same bytes', async () => {
    const binary = readFileSync(await ensureConsulTemplateBinary());
    const again = deterministicZip([{ name: 'consul-template', data: binary, mode: 0o755 }]);
    assert.equal(sha256Hex(again), artifacts.consulTemplate.sha256);
  });

  it('the artifact server serves a zip and its SUMS over HTTP, and the checksum verifies', async () => {
    const server = await startArtifactServer(artifacts.root, '127.0.0.1', 0);
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const sumsText = await (await fetch(`${server.url}/${artifacts.consulTemplate.sumsPath}`)).text();
      const zipResponse = await fetch(`${server.url}/${artifacts.consulTemplate.zipPath}`);
      assert.equal(zipResponse.status, 200);
      const zip = Buffer.from(await zipResponse.arrayBuffer());
      assert.equal(Number(zipResponse.headers.get('content-length')), zip.length);
      const zipName = artifacts.consulTemplate.zipPath.split('/').pop()!;
      assert.equal(parseSums(sumsText).get(zipName), sha256Hex(zip));

      const head = await rawRequest(server.url, `/${artifacts.consul.zipPath}`, 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(Number(head.headers['content-length']), readFileSync(artifacts.consul.zip).length);
      assert.equal(head.body.length, 0);
    } finally {
      await server.stop();
    }
  });

  it('the artifact server answers 404 for missing files, directories and paths outside its root, 405 for POST', async () => {
    const server = await startArtifactServer(artifacts.root, '127.0.0.1', 0);
    try {
      assert.equal((await rawRequest(server.url, '/consul/0.0.0/nothing.zip')).status, 404);
      assert.equal((await rawRequest(server.url, `/consul/${CONSUL_VERSION}/`)).status, 404);
      assert.equal((await rawRequest(server.url, '/../../../../etc/passwd')).status, 404);
      assert.equal((await rawRequest(server.url, '/consul/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd')).status, 404);
      const post = await rawRequest(server.url, `/${artifacts.consul.sumsPath}`, 'POST');
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');
    } finally {
      await server.stop();
    }
  });

  it('the detached artifact server outlives its starter and stops from its state dir', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lab-artifact-state-'));
    try {
      const port = await freePort();
      const started = await startArtifactServerDetached(artifacts.root, '127.0.0.1', port, stateDir);
      assert.equal(started.url, `http://127.0.0.1:${port}`);
      const again = await startArtifactServerDetached(artifacts.root, '127.0.0.1', port, stateDir);
      assert.equal(again.pid, started.pid, 'a running server is reused');
      const sums = await (await fetch(`${started.url}/${artifacts.consul.sumsPath}`)).text();
      assert.equal(sums, readFileSync(artifacts.consul.sums, 'utf8'));
      assert.equal(await stopArtifactServer(stateDir), true);
      await assert.rejects(fetch(`${started.url}/${artifacts.consul.sumsPath}`));
      assert.equal(await stopArtifactServer(stateDir), false);
    } finally {
      await stopArtifactServer(stateDir);
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

describe('lab images', { timeout: BUILD_TIMEOUT }, () => {
  const containers: string[] = [];
  after(async () => {
    for (const id of containers) await docker(['rm', '-f', id], { check: false });
  });

  it('the demo app tarball loads, and the container answers with its own hostname and APP_NAME', { timeout: 300_000 }, async () => {
    const { tarball, image } = await ensureDemoAppImage();
    assert.equal(image, DEMO_APP_IMAGE);
    const loaded = await docker(['load', '-i', tarball]);
    assert.match(loaded.stdout, new RegExp(`Loaded image: ${image.replace(/[/.]/g, '\\$&')}`));
    const id = (await docker(['run', '-d', '--label', 'bootstrap-lab=test', '-e', 'APP_NAME=lab-artifacts-test', image])).stdout.trim();
    containers.push(id);
    const hostname = (await docker(['inspect', '--format', '{{.Config.Hostname}}', id])).stdout.trim();
    assert.ok(id.startsWith(hostname), `hostname ${hostname} is the short container id`);
    let page = '';
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const answer = await docker(['exec', id, '/bin/busybox', 'wget', '-qO-', 'http://127.0.0.1:80/'], { check: false });
      page = answer.stdout;
      if (answer.code === 0) break;
      await new Promise((done) => setTimeout(done, 250));
    }
    assert.match(page, new RegExp(`app=lab-artifacts-test host=${hostname}`));
    const health = await docker(['exec', id, '/bin/busybox', 'wget', '-qO-', 'http://127.0.0.1:80/health']);
    assert.equal(health.stdout, 'ok\n');
  });
});
