import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ContainerState, ImageState } from '../../src/facts/docker.js';
import type { Fact, FactReader, HostFacts } from '../../src/facts/types.js';
import { HASH_LABEL, definitionHash, planContainer, runCommand } from '../../src/modules/docker-container.js';
import type { DockerContainerParams } from '../../src/modules/docker-container.js';
import { imageIdOfTarball, imageIdOfTarballFile } from '../../src/modules/image-tarball.js';
import { getModule } from '../../src/modules/index.js';
import type { ModuleContext } from '../../src/modules/types.js';
import { imageUploadPath } from '../../src/modules/docker-image.js';
import { RECEIVE_SCRIPT } from '../../src/modules/write-file.js';

const registrator: DockerContainerParams = {
  name: 'registrator',
  image: 'gliderlabs/registrator:latest',
  command: ['-ip', '10.0.0.3', '-cleanup', 'consul://localhost:8500'],
  network: 'host',
  volumes: ['/var/run/docker.sock:/tmp/docker.sock'],
  env: { CONSUL_HTTP_TOKEN: 'tok-123', SERVICE_TAGS: 'a' },
};
const hash = definitionHash(registrator);
const container = (extra: Partial<ContainerState> = {}): ContainerState => ({
  id: 'c1', imageId: 'sha256:aaa', image: registrator.image, running: true, status: 'running', labels: { [HASH_LABEL]: hash },
  env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...registrator.env }, ...extra,
});
const image: ImageState = { id: 'sha256:aaa', repoTags: [registrator.image] };

describe('docker_container', () => {
  it('run argv: hash label, restart policy, network, volumes; env only on stdin and secret-looking env marks it sensitive', () => {
    const command = runCommand(registrator, 'run');
    assert.deepEqual(command.argv, [
      'sh', '-c', 'cat | "$@"', 'sh',
      'docker', 'run', '-d', '--name', 'registrator', '--label', `${HASH_LABEL}=${hash}`, '--restart', 'unless-stopped',
      '--network', 'host', '-v', '/var/run/docker.sock:/tmp/docker.sock', '--env-file', '/dev/stdin',
      'gliderlabs/registrator:latest', '-ip', '10.0.0.3', '-cleanup', 'consul://localhost:8500',
    ]);
    assert.equal(command.stdin, 'CONSUL_HTTP_TOKEN=tok-123\nSERVICE_TAGS=a\n');
    assert.equal(command.sensitive, true);
    assert.ok(!command.argv.some((a) => a.includes('tok-123')));
  });

  it('no env: plain argv; ports and labels; non-secret env is not sensitive', () => {
    const app: DockerContainerParams = { name: 'app', image: 'app:1', ports: ['10.0.0.3:8080:80'], labels: { tier: 'web' }, restart: 'always' };
    assert.deepEqual(runCommand(app, 'run').argv, [
      'docker', 'run', '-d', '--name', 'app', '--label', `${HASH_LABEL}=${definitionHash(app)}`, '--label', 'tier=web', '--restart', 'always', '-p', '10.0.0.3:8080:80', 'app:1',
    ]);
    assert.equal(runCommand({ ...app, env: { SERVICE_NAME: 'app' } }, 'run').sensitive, undefined);
  });

  it('the hash ignores the order of env, labels, ports and volumes, but not the command', () => {
    assert.equal(definitionHash({ ...registrator, env: { SERVICE_TAGS: 'a', CONSUL_HTTP_TOKEN: 'tok-123' } }), hash);
    assert.notEqual(definitionHash({ ...registrator, command: [...registrator.command!].reverse() }), hash);
    assert.notEqual(definitionHash({ ...registrator, env: { ...registrator.env, SERVICE_NAME: 'x' } }), hash, 'a variable added or removed');
  });

  it('the hash label holds no environment value: the same for any token, so it cannot test guesses of one', () => {
    assert.equal(definitionHash({ ...registrator, env: { ...registrator.env, CONSUL_HTTP_TOKEN: 'another-token' } }), hash);
    assert.equal(definitionHash({ ...registrator, env: { ...registrator.env, SERVICE_TAGS: 'b' } }), hash);
  });

  const rows: Array<[string, DockerContainerParams, ContainerState | null, ImageState | null, string[], string | undefined]> = [
    ['absent: run', registrator, null, image, ['run container registrator from gliderlabs/registrator:latest (absent)'], undefined],
    ['same hash, running: ok', registrator, container(), image, [], 'container registrator running, definition unchanged'],
    ['hash differs: recreate', { ...registrator, command: ['-resync', '30'] }, container(), image, ['recreate container registrator (definition changed)'], undefined],
    ['image id moved: recreate', registrator, container(), { ...image, id: 'sha256:bbbbbbbbbbbbbbbbbbbbbbbb' }, ['recreate container registrator (image gliderlabs/registrator:latest is now sha256:bbbbbbbbbbbb)'], undefined],
    ['a value differs from the container\'s environment: recreate, naming the variable only', { ...registrator, env: { ...registrator.env, CONSUL_HTTP_TOKEN: 'tok-456' } }, container(), image, ['recreate container registrator (environment CONSUL_HTTP_TOKEN changed)'], undefined],
    ['image defaults beside ours in the environment: ok', registrator, container({ env: { ...container().env, HOME: '/root' } }), image, [], 'container registrator running, definition unchanged'],
    ['exited: start', registrator, container({ running: false, status: 'exited' }), image, ['start container registrator (exited)'], undefined],
    ['state=stopped and running: stop', { ...registrator, state: 'stopped' }, container(), image, ['stop container registrator (running)'], undefined],
    ['state=absent and present: remove', { ...registrator, state: 'absent' }, container(), image, ['remove container registrator (running)'], undefined],
    ['state=absent and absent: ok', { ...registrator, state: 'absent' }, null, null, [], 'container registrator absent'],
  ];
  for (const [name, params, current, img, titles, reason] of rows) {
    it(name, () => {
      const plan = planContainer(params, current, img, true);
      assert.deepEqual(plan.changes.map((c) => c.title), titles);
      assert.equal(plan.reason, reason);
    });
  }

  it('recreate removes then runs', () => {
    const plan = planContainer({ ...registrator, restart: 'always' }, container(), image, true);
    assert.deepEqual(plan.changes[0]!.commands[0]!.argv, ['docker', 'rm', '-f', 'registrator']);
    assert.deepEqual(plan.changes[0]!.commands[1]!.argv.slice(4, 7), ['docker', 'run', '-d']);
  });
});

describe('docker_image', () => {
  const host = { init: 'systemd' } as HostFacts;
  const dir = mkdtempSync(join(tmpdir(), 'docker-image-'));
  const ctx: ModuleContext = { host: 'web1', facts: host, localDir: dir, runId: 'r1', lockFile: '/run/bootstrap.lock', evaluate: () => { throw new Error('no expressions here'); }, renderTemplate: () => '' };
  const plan = (params: Record<string, unknown>, value: ImageState | null) => {
    const m = getModule('docker_image')!;
    const values: Record<string, unknown> = { [`docker-image:${params.name}`]: { dockerPresent: true, value }, [`leftovers:${imageUploadPath(String(params.name))}`]: [] };
    const read: FactReader = <T>(fact: Fact<T>) => values[fact.key] as T;
    return m.plan(params, read, ctx);
  };

  // a real `docker save`-shaped tarball, made with tar(1)
  const id = 'e3f1c5a7b9d2e4f6a8c0b1d3e5f7a9c2b4d6e8f0a1c3e5b7d9f2a4c6e8b0d1f3';
  const stage = join(dir, 'stage');
  execFileSync('mkdir', ['-p', stage]);
  writeFileSync(join(stage, 'manifest.json'), JSON.stringify([{ Config: `${id}.json`, RepoTags: ['registrator:v7'], Layers: [] }]));
  writeFileSync(join(stage, `${id}.json`), '{}');
  execFileSync('tar', ['-C', stage, '-cf', join(dir, 'registrator.tar'), `${id}.json`, 'manifest.json']);
  execFileSync('sh', ['-c', `gzip -c "${join(dir, 'registrator.tar')}" > "${join(dir, 'registrator.tar.gz')}"`]);

  it('reads the image id from plain and gzipped tarballs, in memory and from the file', async () => {
    const { readFileSync } = await import('node:fs');
    assert.equal(imageIdOfTarball(readFileSync(join(dir, 'registrator.tar'))), `sha256:${id}`);
    assert.equal(imageIdOfTarball(readFileSync(join(dir, 'registrator.tar.gz'))), `sha256:${id}`);
    assert.equal(imageIdOfTarballFile(join(dir, 'registrator.tar')), `sha256:${id}`);
    assert.equal(imageIdOfTarballFile(join(dir, 'registrator.tar.gz')), `sha256:${id}`);
    // a pax header names the member (long paths), as GNU tar writes with --format=pax
    execFileSync('tar', ['-C', stage, '--format=pax', '-cf', join(dir, 'pax.tar'), `${id}.json`, 'manifest.json']);
    assert.equal(imageIdOfTarballFile(join(dir, 'pax.tar')), `sha256:${id}`);
    assert.throws(() => imageIdOfTarballFile(join(stage, `${id}.json`)), /no manifest\.json/);
  });

  it('tarball: load + tag when absent or different, ok when the id matches', async () => {
    const absent = await plan({ name: 'registrator:v7', src: 'registrator.tar' }, null);
    assert.equal(absent.changes[0]!.title, `load image registrator:v7 from ${join(dir, 'registrator.tar')} (absent)`);
    // uploaded to a temp file the host verifies, loaded from it, removed (also when a step fails)
    const tmp = '/var/lib/bootstrap/images/.registrator%3av7.tar.bootstrap-tmp-r1';
    assert.deepEqual(absent.changes[0]!.commands.map((c) => c.argv), [
      ['sh', '-c', RECEIVE_SCRIPT, 'sh', tmp, '0600', '/var/lib/bootstrap/images'],
      ['rm', '-f', '--', tmp],
      ['docker', 'load', '-q', '-i', tmp],
      ['rm', '-f', '--', tmp],
      ['docker', 'tag', `sha256:${id}`, 'registrator:v7'],
    ]);
    assert.equal(absent.changes[0]!.commands[1]!.onFailure, true);
    assert.ok(Buffer.isBuffer(absent.changes[0]!.commands[0]!.stdin));
    const present = await plan({ name: 'registrator:v7', src: 'registrator.tar' }, { id: `sha256:${id}`, repoTags: ['registrator:v7'] });
    assert.deepEqual(present, { changes: [], reason: `image registrator:v7 present (sha256:${id.slice(0, 12)})` });
    const other = await plan({ name: 'registrator:v7', src: 'registrator.tar' }, { id: 'sha256:0123456789abcdef', repoTags: [] });
    assert.match(other.changes[0]!.title, /\(sha256:0123456789ab differs from sha256:e3f1c5a7b9d2\)$/);
  });

  it('pull: only when absent', async () => {
    assert.deepEqual((await plan({ name: 'nginx:1.25' }, null)).changes.map((c) => c.commands[0]!.argv), [['docker', 'pull', 'nginx:1.25']]);
    assert.equal((await plan({ name: 'nginx:1.25' }, { id: 'sha256:abcdef0123456789', repoTags: [] })).reason, 'image nginx:1.25 present (sha256:abcdef012345)');
    assert.equal((await plan({ name: 'nginx:1.25', pull: false }, null)).reason, 'image nginx:1.25 absent (pull: false)');
  });
});
