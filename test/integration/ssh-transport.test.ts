import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { UnreachableError } from '../../src/errors.js';
import { LocalTransport } from '../../src/transport/local.js';
import { connectSsh, fetchHostKey } from '../../src/transport/ssh.js';
import type { SshTarget, Transport } from '../../src/transport/types.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

const run = promisify(execFile);

// Never fall back to the agent or keys of the machine running the tests.
delete process.env['SSH_AUTH_SOCK'];

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ssh-transport-test-'));
});
after(() => rm(scratch, { recursive: true, force: true }));

function targetFor(sshd: Sshd, extra: Partial<SshTarget> = {}): SshTarget {
  return {
    name: 'node1',
    address: sshd.host,
    port: sshd.port,
    user: 'root',
    key: sshd.clientKeyPath,
    knownHosts: [sshd.knownHostsFile],
    acceptNewHostKeys: false,
    sshConfig: join(sshd.dir, 'no-ssh-config'),
    ...extra,
  };
}

async function fingerprintOf(sshd: Sshd): Promise<string> {
  const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', sshd.hostKeyPath]);
  return stdout.split(' ')[1]!;
}

async function unreachable(promise: Promise<unknown>): Promise<UnreachableError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof UnreachableError, `expected UnreachableError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the connection to fail');
}

describe('ssh transport: commands', () => {
  let sshd: Sshd;
  let transport: Transport;
  before(async () => {
    sshd = await startSshd();
    transport = await connectSsh(targetFor(sshd));
  });
  after(async () => {
    await transport?.close();
    await sshd?.stop();
  });

  it('returns exit codes and keeps stdout and stderr apart, never throwing for a failure', async () => {
    const result = await transport.exec({ argv: ['sh', '-c', 'echo out; echo err >&2; exit 7'] });
    assert.deepEqual(result, { code: 7, stdout: 'out\n', stderr: 'err\n' });
    const missing = await transport.exec({ argv: ['no-such-program-here'] });
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /not found/);
  });

  it('delivers argv with spaces, quotes, $, backslashes, globs and newlines intact', async () => {
    const args = ['two words', "it's", '"double"', '$HOME', '`id`', '$(id)', 'a\\b', '*', 'line1\nline2', '', 'ünï', ';|&<>'];
    const result = await transport.exec({ argv: ['printf', '%s\\0', ...args] });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.split('\0').slice(0, -1), args);
  });

  it('feeds a string on stdin', async () => {
    const result = await transport.exec({ argv: ['cat'], stdin: 'secret value\nsecond line' });
    assert.deepEqual(result, { code: 0, stdout: 'secret value\nsecond line', stderr: '' });
  });

  it('streams a 150 MB binary on stdin intact (sha256 on the remote side)', async () => {
    const data = randomBytes(150 * 1024 * 1024);
    const expected = createHash('sha256').update(data).digest('hex');
    const result = await transport.exec({ argv: ['sha256sum'], stdin: data });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.split(' ')[0], expected);
  });

  it('copes with a command that exits without reading a large stdin', async () => {
    const result = await transport.exec({ argv: ['true'], stdin: Buffer.alloc(20 * 1024 * 1024) });
    assert.equal(result.code, 0);
  });

  it('reuses one connection for many concurrent commands (more than sshd MaxSessions)', async () => {
    const before = (sshd.log().match(/Accepted publickey/g) ?? []).length;
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => transport.exec({ argv: ['sh', '-c', `sleep 0.1; echo ${i}`] })));
    assert.deepEqual(results.map((r) => r.stdout), Array.from({ length: 25 }, (_, i) => `${i}\n`));
    assert.equal((sshd.log().match(/Accepted publickey/g) ?? []).length, before);
  });
});

describe('ssh transport: host keys', () => {
  let sshd: Sshd;
  before(async () => {
    sshd = await startSshd();
  });
  after(() => sshd?.stop());

  it('fetches the host key with its OpenSSH fingerprint', async () => {
    const key = await fetchHostKey(sshd.host, sshd.port);
    assert.equal(`${key.type} ${key.base64}`, sshd.hostPublicKey);
    assert.equal(key.fingerprint, await fingerprintOf(sshd));
  });

  it('refuses an unknown host key, giving type, fingerprint and how to accept it', async () => {
    const knownHosts = join(scratch, 'unknown', 'known_hosts');
    const err = await unreachable(connectSsh(targetFor(sshd, { knownHosts: [knownHosts] })));
    assert.ok(err.message.includes(`ssh-ed25519 ${await fingerprintOf(sshd)}`), err.message);
    assert.match(err.message, /--accept-new-host-keys/);
    assert.match(err.message, /ssh-keyscan -p \d+ -t ed25519 127\.0\.0\.1/);
    await assert.rejects(stat(knownHosts), { code: 'ENOENT' });
  });

  it('records an unknown key with acceptNewHostKeys and trusts it afterwards', async () => {
    const knownHosts = join(scratch, 'tofu', '.ssh', 'known_hosts');
    const first = await connectSsh(targetFor(sshd, { knownHosts: [knownHosts], acceptNewHostKeys: true }));
    assert.equal((await first.exec({ argv: ['echo', 'ok'] })).stdout, 'ok\n');
    await first.close();
    assert.equal(await readFile(knownHosts, 'utf8'), `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n`);
    assert.equal((await stat(knownHosts)).mode & 0o777, 0o600);
    const second = await connectSsh(targetFor(sshd, { knownHosts: [knownHosts] }));
    assert.equal((await second.exec({ argv: ['echo', 'again'] })).stdout, 'again\n');
    await second.close();
  });

  it('refuses a changed host key on the same address even with acceptNewHostKeys', async () => {
    const first = await startSshd();
    const knownHosts = join(scratch, 'changed_known_hosts');
    const recorded = await readFile(first.knownHostsFile, 'utf8');
    await writeFile(knownHosts, recorded);
    const port = first.port;
    await first.stop();
    const reinstalled = await startSshd({ port });
    try {
      const err = await unreachable(connectSsh(targetFor(reinstalled, { knownHosts: [knownHosts], acceptNewHostKeys: true })));
      assert.match(err.message, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
      assert.ok(err.message.includes(await fingerprintOf(reinstalled)), err.message);
      assert.ok(err.message.includes(`${knownHosts}:1`), err.message);
      assert.notEqual(reinstalled.hostPublicKey, first.hostPublicKey);
      assert.equal(await readFile(knownHosts, 'utf8'), recorded);
    } finally {
      await reinstalled.stop();
    }
  });

  it('accepts a server restarted with the same host key', async () => {
    const again = await startSshd({ hostKeyPath: sshd.hostKeyPath });
    try {
      assert.equal(again.hostPublicKey, sshd.hostPublicKey);
      const knownHosts = join(scratch, 'same_key_known_hosts');
      await writeFile(knownHosts, `[127.0.0.1]:${again.port} ${sshd.hostPublicKey}\n`);
      const transport = await connectSsh(targetFor(again, { knownHosts: [knownHosts] }));
      assert.equal((await transport.exec({ argv: ['true'] })).code, 0);
      await transport.close();
    } finally {
      await again.stop();
    }
  });

  it('refuses a host key marked @revoked', async () => {
    const knownHosts = join(scratch, 'revoked_known_hosts');
    await writeFile(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n@revoked * ${sshd.hostPublicKey}\n`);
    const err = await unreachable(connectSsh(targetFor(sshd, { knownHosts: [knownHosts], acceptNewHostKeys: true })));
    assert.match(err.message, /@revoked/);
  });
});

describe('ssh transport: failures are UnreachableError with an actionable message', () => {
  let sshd: Sshd;
  before(async () => {
    sshd = await startSshd();
  });
  after(() => sshd?.stop());

  it('reports connection refused on a closed port', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const err = await unreachable(connectSsh({ ...targetFor(sshd), port }));
    assert.equal(err.host, 'node1');
    assert.match(err.message, new RegExp(`connection refused by 127\\.0\\.0\\.1:${port}`));
  });

  it('reports a timeout when the port accepts but never speaks SSH', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const started = Date.now();
      const err = await unreachable(connectSsh({ ...targetFor(sshd), port, connectTimeoutMs: 1000 }));
      assert.match(err.message, new RegExp(`timed out after 1s connecting to 127\\.0\\.0\\.1:${port}: no SSH handshake`));
      assert.ok(Date.now() - started < 5000);
    } finally {
      silent.close();
      silent.unref();
    }
  });

  it('reports an authentication failure listing the keys tried, never their contents', async () => {
    const other = join(scratch, 'other_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const err = await unreachable(connectSsh(targetFor(sshd, { key: other })));
    assert.match(err.message, /authentication failed for root@127\.0\.0\.1/);
    assert.ok(err.message.includes(`tried: ${other}`), err.message);
    assert.doesNotMatch(err.message, /PRIVATE KEY|AAAA/);
  });

  it('explains a passphrase-protected key when no agent is running', async () => {
    const encrypted = join(scratch, 'encrypted_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-f', encrypted]);
    const err = await unreachable(connectSsh(targetFor(sshd, { key: encrypted })));
    assert.match(err.message, /passphrase-protected/);
    assert.match(err.message, /ssh-add/);
    assert.ok(err.message.includes(encrypted));
  });

  it('reports a missing key file', async () => {
    const err = await unreachable(connectSsh(targetFor(sshd, { key: join(scratch, 'nope') })));
    assert.match(err.message, /nope does not exist/);
  });

  it('turns a connection dropped mid-command, and later commands, into UnreachableError', async () => {
    const doomed = await startSshd();
    const transport = await connectSsh(targetFor(doomed));
    const sleeping = unreachable(transport.exec({ argv: ['sleep', '30'] }));
    await new Promise((r) => setTimeout(r, 300));
    await doomed.stop();
    const err = await sleeping;
    assert.match(err.message, /connection to root@127\.0\.0\.1:\d+ was closed/);
    await unreachable(transport.exec({ argv: ['true'] }));
    await transport.close();
  });
});

describe('ssh transport: ProxyJump', () => {
  let jump1: Sshd;
  let jump2: Sshd;
  let target: Sshd;
  let configFile: string;
  before(async () => {
    [jump1, jump2, target] = await Promise.all([
      startSshd({ extraConfig: ['LogLevel DEBUG1'] }),
      startSshd({ extraConfig: ['LogLevel DEBUG1'] }),
      startSshd(),
    ]);
    configFile = join(target.dir, 'ssh_config');
    await writeFile(
      configFile,
      [
        'Host bastion',
        '  HostName 127.0.0.1',
        `  Port ${jump1.port}`,
        `  IdentityFile ${jump1.clientKeyPath}`,
        'Host inner',
        '  HostName 127.0.0.1',
        `  IdentityFile ${jump2.clientKeyPath}`,
        'Host app-single',
        '  HostName 127.0.0.1',
        `  Port ${target.port}`,
        '  ProxyJump bastion',
        'Host app-chained',
        '  HostName 127.0.0.1',
        `  Port ${target.port}`,
        `  IdentityFile ${target.clientKeyPath}`,
        `  ProxyJump bastion,root@inner:${jump2.port}`,
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await Promise.all([jump1, jump2, target].map((s) => s?.stop()));
  });

  const allKnown = (): string[] => [target.knownHostsFile, jump1.knownHostsFile, jump2.knownHostsFile];

  it('connects through one jump host (the jump host forwards to the target)', async () => {
    const transport = await connectSsh({
      ...targetFor(target),
      address: 'app-single',
      port: undefined,
      knownHosts: allKnown(),
      sshConfig: configFile,
    });
    assert.deepEqual(await transport.exec({ argv: ['echo', 'through'] }), { code: 0, stdout: 'through\n', stderr: '' });
    await transport.close();
    assert.match(jump1.log(), new RegExp(`direct_tcpip: originator .* target 127\\.0\\.0\\.1 port ${target.port}\\b`));
  });

  it('connects through a chain of two jump hosts with IdentityFile from the config', async () => {
    const transport = await connectSsh({
      ...targetFor(target),
      address: 'app-chained',
      port: undefined,
      key: undefined,
      knownHosts: allKnown(),
      sshConfig: configFile,
    });
    assert.equal((await transport.exec({ argv: ['sh', '-c', 'exit 4'] })).code, 4);
    await transport.close();
    assert.match(jump1.log(), new RegExp(`target 127\\.0\\.0\\.1 port ${jump2.port}\\b`));
    assert.match(jump2.log(), new RegExp(`target 127\\.0\\.0\\.1 port ${target.port}\\b`));
  });

  it('verifies the jump host key too', async () => {
    const err = await unreachable(
      connectSsh({ ...targetFor(target), address: 'app-single', port: undefined, knownHosts: [target.knownHostsFile], sshConfig: configFile }),
    );
    assert.match(err.message, /jump host bastion/);
    assert.match(err.message, new RegExp(`\\[127\\.0\\.0\\.1\\]:${jump1.port} is not known`));
  });
});

describe('local transport', () => {
  const local = new LocalTransport();

  it('runs argv without a shell, with stdin, exit codes and separate streams', async () => {
    const echoed = await local.exec({ argv: ['printf', '%s|', '$HOME', 'a b', "'q'"] });
    assert.deepEqual(echoed, { code: 0, stdout: "$HOME|a b|'q'|", stderr: '' });
    const piped = await local.exec({ argv: ['sh', '-c', 'cat; echo warn >&2; exit 5'], stdin: Buffer.from('in') });
    assert.deepEqual(piped, { code: 5, stdout: 'in', stderr: 'warn\n' });
  });

  it('reports a missing program as exit 127 instead of throwing', async () => {
    const result = await local.exec({ argv: ['/no/such/program', 'x'] });
    assert.equal(result.code, 127);
    assert.match(result.stderr, /command not found/);
  });
});
