/**
 * get_url's headers, url_username/url_password, force_basic_auth, http_agent and backup: the
 * planned download command run here (sh and curl, as on a host) against a loopback HTTP server
 * that records what it was sent. Secrets go to curl on stdin, never on its command line.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Fact, FactReader } from '../../src/facts/types.js';
import { getModule } from '../../src/modules/index.js';
import type { ModuleContext, Plan } from '../../src/modules/types.js';

/** Runs a command without blocking the loop (the server answering it lives in this process). */
function run(argv: readonly string[], input: string | Buffer = ''): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv[0]} exited ${code}: ${stderr}`))));
    child.stdin.end(input);
  });
}

const ctx: ModuleContext = {
  host: 'h1', facts: { hostname: 'h1', os: { id: 'debian', version: '12', codename: 'bookworm', family: 'debian' }, arch: 'amd64', init: 'systemd', user: 'root', isRoot: true, addresses: [] },
  localDir: '/tmp', runId: 'r1', lockFile: '/run/bootstrap.lock', renderTemplate: () => '', evaluate: () => undefined,
};

describe('get_url request options, run with curl against loopback', () => {
  let server: Server;
  let base: string;
  let dir: string;
  const seen: IncomingHttpHeaders[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-get-url-'));
    server = createServer((req, res) => {
      seen.push(req.headers);
      if (req.url === '/private' && req.headers.authorization !== `Basic ${Buffer.from('deploy:s3cr"t\\x').toString('base64')}`) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="r"' }).end('no');
        return;
      }
      res.end(`body of ${req.url}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function download(params: Record<string, unknown>): Promise<Plan> {
    const dest = params.dest as string;
    const values: Record<string, unknown> = { [`file:${dest}`]: { path: dest, type: 'absent' }, [`leftovers:${dest}`]: [] };
    const read: FactReader = <T>(fact: Fact<T>) => values[fact.key] as T;
    const plan = await getModule('get_url')!.plan(params, read, ctx);
    for (const cmd of plan.changes.flatMap((c) => c.commands)) await run(cmd.argv, cmd.stdin);
    return plan;
  }

  it('headers and credentials reach the server from curl\'s stdin config; the User-Agent is Ansible\'s', async () => {
    seen.length = 0;
    const dest = join(dir, 'private');
    const plan = await download({ url: `${base}/private`, dest, headers: { 'X-Token': 'tok "quoted"' }, url_username: 'deploy', url_password: 's3cr"t\\x' });
    const cmd = plan.changes[0]!.commands[0]!;
    assert.equal(readFileSync(dest, 'utf8'), 'body of /private\n');
    assert.equal(cmd.sensitive, true);
    assert.ok(!cmd.argv.some((a) => /s3cr|tok/.test(a)), 'no secret on the command line');
    assert.equal(seen.length, 2, '--anyauth: the first request carries no credentials, the second answers the challenge');
    assert.equal(seen[0]!.authorization, undefined);
    assert.equal(seen[1]!['x-token'], 'tok "quoted"');
    assert.equal(seen[1]!['user-agent'], 'ansible-httpget');
  });
  it('force_basic_auth sends them at once; http_agent is taken', async () => {
    seen.length = 0;
    await download({ url: `${base}/private`, dest: join(dir, 'forced'), url_username: 'deploy', url_password: 's3cr"t\\x', force_basic_auth: true, http_agent: 'mine/1' });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!['user-agent'], 'mine/1');
  });
  it('backup copies the file it replaces', async () => {
    const dest = join(dir, 'kept');
    writeFileSync(dest, 'old\n');
    const values: Record<string, unknown> = { [`file:${dest}`]: { path: dest, type: 'file', mode: '0644', sha256: 'f'.repeat(64) }, [`leftovers:${dest}`]: [] };
    const read: FactReader = <T>(fact: Fact<T>) => values[fact.key] as T;
    const plan = await getModule('get_url')!.plan({ url: `${base}/new`, dest, force: true, backup: true }, read, ctx);
    assert.match(plan.changes[0]!.title, /, backed up$/);
    for (const cmd of plan.changes[0]!.commands) await run(cmd.argv, cmd.stdin);
    assert.equal(readFileSync(dest, 'utf8'), 'body of /new\n');
    const copies = readdirSync(dir).filter((n) => n.startsWith('kept.'));
    assert.equal(copies.length, 1);
    assert.match(copies[0]!, /^kept\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$/);
    assert.equal(readFileSync(join(dir, copies[0]!), 'utf8'), 'old\n');
  });
  it('a header name that is no token is refused offline', () => {
    assert.deepEqual(getModule('get_url')!.validate!({ url: base, dest: '/x', headers: { 'Bad Name': 'v' } }, { localDir: '/tmp' }), [['headers', "expected header names of letters, digits and !#$%&'*+.^_`|~-"]]);
  });
});
