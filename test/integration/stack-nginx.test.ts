import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureConsulBinary, ensureConsulTemplateBinary } from '../../src/lab/go-builds.js';
import { probe } from '../../src/verify/http.js';
import { parseUpstreamAddrs } from '../../src/verify/parse.js';
import { DEBIAN_12, factsFor, freePort, GOLDEN, loadCase, nginxPrefixConfig, renderHostFiles, run, startDevConsul, type DevConsul } from '../golden/stack-harness.js';

/*
 * A live nginx (real binary, temp prefix, loopback ports) serving the stack's rendered files, with
 * the upstreams rendered by the real consul-template from a real consul agent: proxying and spread
 * over backends, TLS (redirect, SNI, HSTS, the app's certificate), 502 with no instance, and the
 * reload script restoring the previous file when a render is invalid.
 */

const SRC_GOLDEN = GOLDEN.replace(/\/dist\/test\/golden$/, '/test/golden');
const CERT = join(SRC_GOLDEN, 'tls', 'certs', 'shop.crt');
const KEY = join(SRC_GOLDEN, 'tls', 'certs', 'shop.key');

let work: string;
let prefix: string;
let conf: string;
let agent: DevConsul;
let consulTemplate: string;
let ports: { http: number; https: number };
const backends: Array<{ server: Server; port: number }> = [];
let binDir: string;

const lbFiles = () => renderHostFiles(loadCase('tls'), 'lb1', factsFor(DEBIAN_12));

async function renderApp(app: string): Promise<string> {
  const ctmpl = lbFiles().find((f) => f.dest === `/etc/consul-template/templates/${app}.ctmpl`)!.content;
  const src = join(work, `${app}.ctmpl`);
  writeFileSync(src, ctmpl);
  const dest = join(prefix, 'conf.d', `${app}.conf`);
  const result = await run([consulTemplate, '-once', `-consul-addr=127.0.0.1:${agent.httpPort}`, `-template=${src}:${dest}`], {
    env: { ...process.env, CONSUL_HTTP_TOKEN: agent.managementToken },
  });
  assert.equal(result.code, 0, result.stderr);
  // the same moves nginxPrefixConfig made for the static files
  const text = readFileSync(dest, 'utf8')
    .replaceAll('/var/log/nginx/', `${prefix}/logs/`)
    .replaceAll('/etc/nginx/tls/', `${prefix}/tls/`)
    .replace(/listen 80;/g, `listen 127.0.0.1:${ports.http};`)
    .replace(/listen 443 ssl/g, `listen 127.0.0.1:${ports.https} ssl`);
  writeFileSync(dest, text);
  return text;
}

const nginx = (...args: string[]) => run(['nginx', '-p', prefix, '-c', conf, ...args]);

before(async () => {
  const consul = await ensureConsulBinary();
  consulTemplate = await ensureConsulTemplateBinary();
  work = mkdtempSync(join(tmpdir(), 'stack-nginx-'));
  prefix = join(work, 'nginx');
  agent = await startDevConsul(consul, work);
  // lets the agent sync deregistrations to the catalog (the stack gives agents their own token)
  assert.equal((await agent.api('PUT', '/v1/agent/token/agent', { Token: agent.managementToken })).status, 200);
  ports = { http: await freePort(), https: await freePort() };
  for (let i = 0; i < 2; i++) {
    const server = createServer((req, res) => res.end(`backend ${i} saw Host ${req.headers.host} proto ${req.headers['x-forwarded-proto']}\n`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const address = server.address();
    backends.push({ server, port: typeof address === 'object' && address ? address.port : 0 });
  }
  const statics: Record<string, string> = {};
  for (const f of lbFiles()) if (f.dest.startsWith('/etc/nginx/conf.d/')) statics[f.dest.split('/').pop()!] = f.content;
  conf = nginxPrefixConfig(prefix, statics, ports);
  for (const app of ['shop', 'shop-next']) {
    mkdirSync(join(prefix, 'tls', app), { recursive: true });
    copyFileSync(CERT, join(prefix, 'tls', app, 'cert.pem'));
    copyFileSync(KEY, join(prefix, 'tls', app, 'key.pem'));
  }
  for (const [i, b] of backends.entries()) {
    for (const app of ['shop', 'status-page']) {
      const r = await agent.api('PUT', '/v1/agent/service/register', { Name: app, ID: `web${i}:${app}`, Address: '127.0.0.1', Port: b.port });
      assert.equal(r.status, 200, r.text);
    }
  }
  for (const app of ['shop', 'status-page', 'shop-next']) await renderApp(app);
  // The reload script calls plain `nginx`: put the real binary first on PATH, pointed at this prefix.
  binDir = join(work, 'bin');
  mkdirSync(binDir);
  writeFileSync(join(binDir, 'nginx'), `#!/bin/sh\nexec /usr/sbin/nginx -p ${prefix} -c ${conf} "$@"\n`);
  chmodSync(join(binDir, 'nginx'), 0o755);
  const started = await nginx();
  assert.equal(started.code, 0, started.stderr);
});

after(async () => {
  if (prefix && existsSync(join(prefix, 'nginx.pid'))) await nginx('-s', 'stop');
  for (const b of backends) b.server.close();
  await agent?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const base = () => ({ address: '127.0.0.1', timeoutMs: 5000 });

describe('live nginx with the rendered stack files', () => {
  test('plain app: 2xx through the LB, spread over both backends, $upstream_addr logged', async () => {
    const marker = 'bootstrap-verify/plain-test';
    for (let i = 0; i < 20; i++) {
      const r = await probe({ ...base(), scheme: 'http', port: ports.http, hostName: 'status.example.test', userAgent: marker });
      assert.equal(r.status, 200);
    }
    const log = readFileSync(join(prefix, 'logs', 'status-page.access.log'), 'utf8');
    const used = new Set(parseUpstreamAddrs(log, marker).flat());
    assert.deepEqual([...used].sort(), backends.map((b) => `127.0.0.1:${b.port}`).sort());
  });

  test('unknown host names get the default server, not an app', async () => {
    const r = await probe({ ...base(), scheme: 'http', port: ports.http, hostName: 'nobody.example.test', userAgent: 'x' });
    assert.equal(r.status, 404);
  });

  test('TLS app: http redirects to https; https answers with the app certificate, SNI and HSTS', async () => {
    const redirect = await probe({ ...base(), scheme: 'http', port: ports.http, hostName: 'shop.example.test', userAgent: 'x' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.location, 'https://shop.example.test/');
    const secure = await probe({ ...base(), scheme: 'https', port: ports.https, hostName: 'www.shop.example.test', userAgent: 'x' });
    assert.equal(secure.status, 200);
    assert.equal(secure.certFingerprint, new X509Certificate(readFileSync(CERT)).fingerprint256);
    const headers = await fetchHeaders(ports.https, 'shop.example.test');
    assert.match(headers['strict-transport-security'] ?? '', /max-age=31536000/);
  });

  test('an app with no instance answers 502 and nginx stays up', async () => {
    const r = await probe({ ...base(), scheme: 'https', port: ports.https, hostName: 'next.shop.example.test', userAgent: 'x' });
    assert.equal(r.status, 502);
  });
});

describe('the reload script consul-template runs', () => {
  const script = () => {
    const path = join(work, 'nginx-reload');
    // its state in the work directory, and no coalescing window: each run here reloads (or fails) at once
    // (the coalescing is test/integration/stack-nginx-reloads.test.ts)
    const content = lbFiles().find((f) => f.dest === '/usr/local/lib/bootstrap/nginx-reload')!.content
      .replaceAll('/run/bootstrap-nginx-reload', join(work, 'reload-state'))
      .replace(/^window=\d+$/m, 'window=0');
    writeFileSync(path, content, { mode: 0o755 });
    return path;
  };
  const env = () => ({ ...process.env, PATH: `${binDir}:${process.env.PATH}` });

  test('a valid render is reloaded: the new backend list is used', async () => {
    assert.equal((await agent.api('PUT', `/v1/agent/service/deregister/web1:status-page`)).status, 200);
    for (let i = 0; i < 100 && JSON.parse((await agent.api('GET', '/v1/health/service/status-page?passing=1')).text).length !== 1; i++) await new Promise((r) => setTimeout(r, 100));
    const file = join(prefix, 'conf.d', 'status-page.conf');
    copyFileSync(file, `${file}.bak`);
    await renderApp('status-page');
    const result = await run([script()], { env: env() });
    assert.equal(result.code, 0, result.stderr);
    const marker = 'bootstrap-verify/after-reload';
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < 6; i++) await probe({ ...base(), scheme: 'http', port: ports.http, hostName: 'status.example.test', userAgent: marker });
    const used = new Set(parseUpstreamAddrs(readFileSync(join(prefix, 'logs', 'status-page.access.log'), 'utf8'), marker).flat());
    assert.deepEqual([...used], [`127.0.0.1:${backends[0].port}`]);
  });

  test('an invalid render is replaced by the backup, the script fails, nginx keeps serving', async () => {
    const file = join(prefix, 'conf.d', 'status-page.conf');
    copyFileSync(file, `${file}.bak`);
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace('upstream status-page {', 'upstream status-page { bogus_directive;'));
    const result = await run([script()], { env: env() });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /restoring the previous version/);
    assert.equal(readFileSync(file, 'utf8'), good);
    assert.equal((await nginx('-t')).code, 0);
    const r = await probe({ ...base(), scheme: 'http', port: ports.http, hostName: 'status.example.test', userAgent: 'x' });
    assert.equal(r.status, 200);
  });

  test('an invalid first render (no backup) is removed; a broken file that is no app render is left alone', async () => {
    const file = join(prefix, 'conf.d', 'shop-next.conf');
    const good = readFileSync(file, 'utf8');
    rmSync(`${file}.bak`, { force: true });
    writeFileSync(file, 'server { listen nonsense; }\n');
    const result = await run([script()], { env: env() });
    assert.notEqual(result.code, 0);
    assert.equal(existsSync(file), false);
    assert.equal((await nginx('-t')).code, 0);
    writeFileSync(file, good);
    const foreign = join(prefix, 'conf.d', 'by-hand.conf');
    writeFileSync(foreign, 'server { listen nonsense; }\n');
    const refused = await run([script()], { env: env() });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /not in a rendered app file/);
    assert.equal(existsSync(foreign), true);
    rmSync(foreign);
    assert.equal((await nginx('-t')).code, 0);
  });

  test('two broken app renders in one pass: both are restored, and one reload follows', async () => {
    const files = ['shop', 'status-page'].map((app) => join(prefix, 'conf.d', `${app}.conf`));
    const good = files.map((f) => readFileSync(f, 'utf8'));
    files.forEach((f, i) => {
      copyFileSync(f, `${f}.bak`);
      writeFileSync(f, `${good[i]}\nbroken_${i};\n`);
    });
    const result = await run([script()], { env: env() });
    assert.notEqual(result.code, 0);
    assert.equal((result.stderr.match(/restoring the previous version/g) ?? []).length, 2);
    files.forEach((f, i) => assert.equal(readFileSync(f, 'utf8'), good[i]));
    assert.equal((await nginx('-t')).code, 0);
  });
});

async function fetchHeaders(port: number, hostName: string): Promise<Record<string, string>> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { Host: hostName }, servername: hostName, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      resolve(res.headers as Record<string, string>);
    });
    req.on('error', reject);
    req.end();
  });
}

