/**
 * get_url's headers, url_username/url_password, force_basic_auth, http_agent, backup,
 * unredirected_headers, tmp_dest, ciphers and a checksum file's request: the planned download
 * command (and the checksum file's fact script) run here (sh and curl, as on a host) against
 * loopback HTTP(S) servers that record what they were sent. Secrets go to curl on stdin, never on
 * its command line.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Fact, FactReader } from '../../src/facts/types.js';
import { batchScript, parseBatch } from '../../src/facts/batch.js';
import { fileDigestFact } from '../../src/facts/checksum.js';
import { hostArchiveFact } from '../../src/facts/host-archive.js';
import { getModule } from '../../src/modules/index.js';
import type { ModuleContext, Plan } from '../../src/modules/types.js';

/** Runs a command without blocking the loop (the server answering it lives in this process). */
function exec(argv: readonly string[], input: string | Buffer = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
async function run(argv: readonly string[], input: string | Buffer = ''): Promise<void> {
  const r = await exec(argv, input);
  if (r.code !== 0) throw new Error(`${argv[0]} exited ${r.code}: ${r.stderr}`);
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
  const paths: string[] = [];
  /** another origin (another port), which /away redirects to */
  let other: Server;
  let otherBase: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-get-url-'));
    server = createServer((req, res) => {
      seen.push(req.headers);
      paths.push(req.url ?? '');
      if (req.url === '/private' && req.headers.authorization !== `Basic ${Buffer.from('deploy:s3cr"t\\x').toString('base64')}`) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="r"' }).end('no');
        return;
      }
      if (req.url === '/hop') return void res.writeHead(302, { location: '/land' }).end('moved');
      if (req.url === '/away') return void res.writeHead(301, { location: `${otherBase}/land` }).end('moved');
      if (req.url === '/sums') {
        if (req.headers['x-token'] !== 'tok') return void res.writeHead(403).end('forbidden');
        return void res.end(`${createHash('sha256').update('body of /file\n').digest('hex')}  file\n`);
      }
      res.end(`body of ${req.url}\n`);
    });
    other = createServer((req, res) => {
      seen.push(req.headers);
      paths.push(`other${req.url}`);
      res.end(`body of other ${req.url}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    otherBase = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });
  after(() => {
    server?.close();
    other?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The plan from facts: files as `files` says (absent otherwise), no leftovers, and a checksum file's fact run here. */
  async function planFor(params: Record<string, unknown>, files: Record<string, unknown> = {}): Promise<Plan> {
    const m = getModule('get_url')!;
    const values = new Map<string, unknown>();
    for (const fact of m.facts(params, ctx)) {
      if (fact.key.startsWith('file:')) values.set(fact.key, files[fact.key.slice(5)] ?? { path: fact.key.slice(5), type: 'absent' });
      else if (fact.key.startsWith('leftovers:')) values.set(fact.key, []);
      else if (fact.key.startsWith('url-text:') && 'script' in fact) {
        const r = await exec(['sh', '-c', fact.script]);
        values.set(fact.key, fact.parse(r.stdout, r.code ?? -1));
      }
    }
    const read: FactReader = <T>(fact: Fact<T>) => {
      assert.ok(values.has(fact.key), `undeclared fact ${fact.key}`);
      return values.get(fact.key) as T;
    };
    return m.plan(params, read, ctx);
  }

  async function download(params: Record<string, unknown>, files: Record<string, unknown> = {}): Promise<Plan> {
    const plan = await planFor(params, files);
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
  it('unredirected_headers: those headers go with the first request only, the others follow the redirect, as urllib redirects them', async () => {
    seen.length = 0;
    paths.length = 0;
    const dest = join(dir, 'hopped');
    await download({ url: `${base}/hop`, dest, headers: { 'X-Keep': 'k', 'X-Drop': 'd' }, unredirected_headers: ['x-drop'] });
    assert.equal(readFileSync(dest, 'utf8'), 'body of /land\n');
    assert.deepEqual(paths, ['/hop', '/land']);
    assert.deepEqual([seen[0]!['x-keep'], seen[0]!['x-drop'], seen[1]!['x-keep'], seen[1]!['x-drop']], ['k', 'd', 'k', undefined]);
    seen.length = 0;
    await download({ url: `${base}/hop`, dest: join(dir, 'hopped2'), headers: { 'X-Keep': 'k', 'X-Drop': 'd' } });
    assert.equal(seen[1]!['x-drop'], 'd', 'without unredirected_headers every header follows');
  });
  it('forced basic auth is a header like the others: redirected, to another origin too, unless Authorization is unredirected', async () => {
    const auth = `Basic ${Buffer.from('deploy:pw').toString('base64')}`;
    seen.length = 0;
    paths.length = 0;
    await download({ url: `${base}/away`, dest: join(dir, 'away1'), url_username: 'deploy', url_password: 'pw', force_basic_auth: true });
    assert.deepEqual(paths, ['/away', 'other/land']);
    assert.deepEqual(seen.map((h) => h.authorization), [auth, auth]);
    seen.length = 0;
    await download({ url: `${base}/away`, dest: join(dir, 'away2'), url_username: 'deploy', url_password: 'pw', force_basic_auth: true, unredirected_headers: ['Authorization'] });
    assert.deepEqual(seen.map((h) => h.authorization), [auth, undefined]);
    assert.equal(readFileSync(join(dir, 'away2'), 'utf8'), 'body of other /land\n');
  });
  it('tmp_dest: staged there, moved into place, nothing left in it; a missing directory or a file fails as in Ansible', async () => {
    const stage = join(dir, 'stage');
    mkdirSync(stage);
    const dest = join(dir, 'via-stage');
    const plan = await download({ url: `${base}/staged`, dest, tmp_dest: stage }, { [stage]: { path: stage, type: 'directory' } });
    assert.ok(plan.changes[0]!.commands[0]!.argv.includes(join(stage, '.via-stage.bootstrap-tmp-r1')));
    assert.equal(readFileSync(dest, 'utf8'), 'body of /staged\n');
    assert.deepEqual(readdirSync(stage), []);
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes('bootstrap-tmp')), []);
    await assert.rejects(planFor({ url: `${base}/x`, dest: join(dir, 'x'), tmp_dest: '/nonexistent/stage' }), { message: '/nonexistent/stage directory does not exist.' });
    await assert.rejects(planFor({ url: `${base}/x`, dest: join(dir, 'x'), tmp_dest: dest }, { [dest]: { path: dest, type: 'file' } }), { message: `${dest} is a file but should be a directory.` });
  });
  it('a checksum file is fetched with the headers and credentials of the download, as Ansible fetches it', async () => {
    seen.length = 0;
    const dest = join(dir, 'file');
    const params = { url: `${base}/file`, dest, checksum: `sha256:${base}/sums`, headers: { 'X-Token': 'tok' }, url_username: 'u', url_password: 'p', force_basic_auth: true };
    await download(params);
    assert.equal(readFileSync(dest, 'utf8'), 'body of /file\n');
    assert.equal(seen[0]!['x-token'], 'tok');
    assert.equal(seen[0]!.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
    const fact = getModule('get_url')!.facts(params, ctx).find((f) => f.key.startsWith('url-text:'))!;
    assert.ok(!fact.key.includes('tok') && !fact.key.includes(':p'), 'the fact key holds no secret');
    await assert.rejects(planFor({ ...params, headers: {} }), /could not download the checksum file .*\(curl exit 22\)/);
  });
  it('ciphers: curl offers only those (TLS 1.2): a server that takes none of them refuses the handshake', async () => {
    const key = join(dir, 'tls.key');
    const cert = join(dir, 'tls.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const tls = createTlsServer({ key: readFileSync(key), cert: readFileSync(cert), ciphers: 'ECDHE-RSA-AES256-GCM-SHA384', maxVersion: 'TLSv1.2' }, (_req, res) => res.end('over tls\n'));
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/t`;
      await download({ url, dest: join(dir, 'tls-ok'), validate_certs: false, ciphers: ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384'] });
      assert.equal(readFileSync(join(dir, 'tls-ok'), 'utf8'), 'over tls\n');
      await assert.rejects(download({ url, dest: join(dir, 'tls-no'), validate_certs: false, ciphers: ['ECDHE-RSA-AES128-GCM-SHA256'] }), /sh exited 35/);
    } finally {
      tls.close();
    }
  });
  it('use_gssapi: true is refused offline, naming why; false is accepted', () => {
    const m = getModule('get_url')!;
    const problem = m.params.use_gssapi!.check!(true as never);
    assert.match(problem ?? '', /^not supported: .*Negotiate \(Kerberos\)/);
    assert.equal(m.params.use_gssapi!.check!(false as never), undefined);
  });
  it('the checksum file fact and a downloading archive fact run side by side in one fact batch, each with its output', async () => {
    const m = getModule('get_url')!;
    const params = { url: `${base}/file`, dest: join(dir, 'batched'), checksum: `sha256:${base}/sums`, headers: { 'X-Token': 'tok' } };
    const sums = m.facts(params, ctx).find((f) => f.key.startsWith('url-text:'))!;
    const archive = hostArchiveFact(`${base}/sums`, dir, false, { extraOpts: [], keepNewer: false, include: [], exclude: [], download: { args: ['-fsS'], config: '' } });
    const facts = [sums, archive, fileDigestFact('/etc/hostname', 'md5')];
    const script = batchScript(facts);
    const r = await exec(['sh', '-s'], script);
    const values = parseBatch(r.stdout, facts, script);
    assert.deepEqual(values.get(sums.key), { exitCode: 0, text: `${createHash('sha256').update('body of /file\n').digest('hex')}  file\n` });
    assert.match((values.get(archive.key) as { error: string }).error, /^Failure downloading http:\/\/127\.0\.0\.1:\d+\/sums, curl: \(22\) The requested URL returned error: 403/);
  });
});
