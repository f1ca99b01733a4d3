import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Fact, FactReader, HostFacts } from '../../src/facts/types.js';
import { getModule } from '../../src/modules/index.js';
import type { ModuleContext, Plan } from '../../src/modules/types.js';

const ctx: ModuleContext = { host: 'lb1', facts: { init: 'systemd' } as HostFacts, localDir: '/tmp', runId: 'r1', lockFile: '/run/bootstrap.lock', evaluate: () => { throw new Error('no expressions here'); }, renderTemplate: () => '' };

async function plan(module: string, params: Record<string, unknown>, values: Record<string, unknown>): Promise<Plan> {
  const m = getModule(module)!;
  assert.deepEqual(m.facts(params, ctx).map((f) => f.key).sort(), Object.keys(values).sort());
  const read: FactReader = <T>(fact: Fact<T>) => values[fact.key] as T;
  return m.plan(params, read, ctx);
}

describe('command', () => {
  const argv = ['consul', 'acl', 'bootstrap'];
  it('unguarded: always a change', async () => {
    const p = await plan('command', { argv }, {});
    assert.deepEqual(p.changes, [{ title: 'run consul acl bootstrap (not guarded)', commands: [{ argv }] }]);
  });
  it('creates exists -> ok; absent -> run', async () => {
    assert.deepEqual(await plan('command', { argv, creates: '/etc/consul.d/acl.done' }, { 'exists:/etc/consul.d/acl.done': true }), { changes: [], reason: '/etc/consul.d/acl.done exists' });
    const run = await plan('command', { argv, creates: '/etc/consul.d/acl.done' }, { 'exists:/etc/consul.d/acl.done': false });
    assert.equal(run.changes[0]!.title, 'run consul acl bootstrap (/etc/consul.d/acl.done absent)');
  });
  it('removes absent -> ok', async () => {
    assert.deepEqual(await plan('command', { argv, removes: '/tmp/x' }, { 'exists:/tmp/x': false }), { changes: [], reason: '/tmp/x absent' });
  });
  it('unless exit 0 -> ok; non-zero -> run, saying the exit code', async () => {
    const unless = ['consul', 'acl', 'token', 'list'];
    assert.deepEqual(await plan('command', { argv, unless }, { 'exit-code::consul acl token list': 0 }), { changes: [], reason: '`consul acl token list` succeeded' });
    const run = await plan('command', { argv, unless }, { 'exit-code::consul acl token list': 1 });
    assert.equal(run.changes[0]!.title, 'run consul acl bootstrap (`consul acl token list` exited 1)');
  });
  it('chdir wraps argv without quoting; stdin secrets are marked sensitive', async () => {
    const p = await plan('command', { argv: ['consul', 'kv', 'put', 'k', '-'], chdir: '/srv/my app', stdin: 'hunter2', sensitive: true }, {});
    assert.deepEqual(p.changes[0]!.commands, [{
      argv: ['sh', '-c', 'cd "$1" && shift && exec "$@"', 'sh', '/srv/my app', 'consul', 'kv', 'put', 'k', '-'],
      stdin: 'hunter2', sensitive: true,
    }]);
  });
});

describe('shell', () => {
  it('runs sh -c, guarded by an unless script', async () => {
    const params = { cmd: 'echo ok > /tmp/x', unless: 'test -s /tmp/x' };
    const key = "exit-code::sh -c 'test -s /tmp/x'";
    assert.deepEqual(await plan('shell', params, { [key]: 0 }), { changes: [], reason: "`sh -c 'test -s /tmp/x'` succeeded" });
    const p = await plan('shell', params, { [key]: 1 });
    assert.deepEqual(p.changes[0]!.commands, [{ argv: ['sh', '-c', 'echo ok > /tmp/x'] }]);
  });
  it('chdir', async () => {
    const p = await plan('shell', { cmd: 'make', chdir: '/src' }, {});
    assert.deepEqual(p.changes[0]!.commands[0]!.argv, ['sh', '-c', 'cd "$1" && shift && exec "$@"', 'sh', '/src', 'sh', '-c', 'make']);
  });
});

describe('wait_for', () => {
  it('port open now -> ok; closed -> a polling change with the timeout', async () => {
    assert.deepEqual(await plan('wait_for', { port: 8500 }, { 'port-open:127.0.0.1:8500': true }), { changes: [], reason: '127.0.0.1:8500 open' });
    const p = await plan('wait_for', { port: 8500, host: '10.0.0.2', timeout: 30 }, { 'port-open:10.0.0.2:8500': false });
    assert.equal(p.changes[0]!.title, 'wait for 10.0.0.2:8500 (closed now)');
    const argv = p.changes[0]!.commands[0]!.argv;
    assert.deepEqual([argv[0], argv[1], ...argv.slice(3)], ['sh', '-c', 'sh', '10.0.0.2', '8500']);
    assert.match(argv[2]!, /deadline=\$\(\( \$\(date \+%s\) \+ 30 \)\)/);
    // its own limit, not --command-timeout: the loop's deadline plus room for the last check
    assert.equal(p.changes[0]!.timeout, 40);
  });
  it('url: status default 200, or a list', async () => {
    const url = 'http://127.0.0.1:8500/v1/status/leader';
    assert.deepEqual(await plan('wait_for', { url }, { [`url-status:${url}`]: 200 }), { changes: [], reason: `${url} answers 200` });
    const p = await plan('wait_for', { url, status: [200, 204] }, { [`url-status:${url}`]: 0 });
    assert.equal(p.changes[0]!.title, `wait for ${url} to answer 200 or 204 (no answer now)`);
    assert.match(p.changes[0]!.commands[0]!.argv[2]!, /in 200\|204\) true/);
    assert.equal(p.changes[0]!.timeout, 70, 'default timeout 60 s + 10');
  });
  it('validate: exactly one of port and url', () => {
    assert.deepEqual(getModule('wait_for')!.validate!({}, { localDir: '/tmp' }), [['port', 'give exactly one of port or url']]);
  });
});
