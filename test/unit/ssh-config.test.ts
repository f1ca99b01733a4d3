import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { parseJumpList, resolveSsh } from '../../src/transport/ssh-config.js';

describe('parseJumpList', () => {
  it('parses single and chained hops in every OpenSSH form', () => {
    assert.deepEqual(parseJumpList('bastion', 'f', 'a'), [{ user: undefined, host: 'bastion', port: undefined }]);
    assert.deepEqual(parseJumpList('ops@bastion:2222,10.0.0.1', 'f', 'a'), [
      { user: 'ops', host: 'bastion', port: 2222 },
      { user: undefined, host: '10.0.0.1', port: undefined },
    ]);
    assert.deepEqual(parseJumpList('ssh://me@[::1]:2200', 'f', 'a'), [{ user: 'me', host: '::1', port: 2200 }]);
    assert.deepEqual(parseJumpList('none', 'f', 'a'), []);
  });

  it('names the file, host and value when a hop is malformed', () => {
    assert.throws(
      () => parseJumpList('ops@bastion:99999', '/home/u/.ssh/config', 'web1'),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message.includes('/home/u/.ssh/config') &&
        err.message.includes('Host web1.ProxyJump') &&
        err.message.includes('"ops@bastion:99999"'),
    );
  });
});

describe('resolveSsh', () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sshcfg-unit-'));
    file = join(dir, 'config');
    await writeFile(
      file,
      [
        'Host web1',
        '  HostName 10.0.0.11',
        '  Port 2222',
        '  User deploy',
        '  IdentityFile ~/.ssh/web_%h',
        '  ProxyJump ops@bastion,inner:2200',
        '',
        'Host bastion',
        '  HostName 203.0.113.5',
        '  Port 22022',
        '  IdentityFile /keys/bastion',
        '',
        'Host alias-only',
        '  HostKeyAlias pinned.example.com',
        '',
        'Host badport',
        '  Port twenty-two',
        '',
        'Host *',
        '  User fallback',
        '',
      ].join('\n'),
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('applies HostName, Port, User, IdentityFile and ProxyJump for the alias', async () => {
    const { target, jumps } = await resolveSsh(file, 'web1', {});
    assert.deepEqual(target, {
      alias: 'web1',
      hostName: '10.0.0.11',
      port: 2222,
      user: 'deploy',
      identityFiles: [`${homedir()}/.ssh/web_10.0.0.11`],
      hostKeyName: '10.0.0.11',
    });
    assert.deepEqual(
      jumps.map((j) => [j.alias, j.hostName, j.port, j.user, j.identityFiles]),
      [
        ['bastion', '203.0.113.5', 22022, 'ops', ['/keys/bastion']],
        ['inner', 'inner', 2200, 'fallback', []],
      ],
    );
  });

  it('lets explicit user and port win over the file', async () => {
    const { target } = await resolveSsh(file, 'web1', { user: 'root', port: 22 });
    assert.equal(target.user, 'root');
    assert.equal(target.port, 22);
    assert.equal(target.hostName, '10.0.0.11');
  });

  it('uses the Host * defaults and port 22 for other names, and HostKeyAlias for known_hosts', async () => {
    const other = await resolveSsh(file, '192.0.2.1', {});
    assert.deepEqual(other.target, { alias: '192.0.2.1', hostName: '192.0.2.1', port: 22, user: 'fallback', identityFiles: [], hostKeyName: '192.0.2.1' });
    assert.deepEqual(other.jumps, []);
    const aliased = await resolveSsh(file, 'alias-only', {});
    assert.equal(aliased.target.hostKeyName, 'pinned.example.com');
  });

  it('defaults to root@host:22 when the config file does not exist', async () => {
    const { target, jumps } = await resolveSsh(join(dir, 'missing'), 'web9', {});
    assert.deepEqual([target.hostName, target.user, target.port, jumps.length], ['web9', 'root', 22, 0]);
  });

  it('rejects a non-numeric Port with the file and host', async () => {
    await assert.rejects(resolveSsh(file, 'badport', {}), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, new RegExp(`^${file} Host badport.Port: expected an integer 1-65535, got "twenty-two"$`));
      return true;
    });
  });
});
