import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureConsulBinary, ensureConsulTemplateBinary } from '../../src/lab/go-builds.js';
import { DEBIAN_12, factsFor, freePort, loadCase, nginxPrefixConfig, renderHostFiles, run, startDevConsul, type DevConsul } from '../golden/stack-harness.js';

/*
 * nginx-reload's leading-edge coalescing with the real programs on loopback: a dev consul agent,
 * the real consul-template daemon with the rendered config.hcl (no quiescence wait), the rendered
 * app template and reload script, and a real nginx. An isolated change is reloaded at once (one
 * reload); 20 instances registered at once, and deregistered at once, cost at most 3 reloads each,
 * and nginx balances over exactly what Consul has afterwards. Latencies are printed, not asserted.
 */

const APP = 'myapp';
const HOST = 'example.test';
const BURST = 20;

let work: string;
let prefix: string;
let conf: string;
let stateDir: string;
let counter: string;
let agent: DevConsul;
let consulTemplate: ChildProcess;
let ctOutput = '';
let port: number;
const backends: Array<{ server: Server; port: number }> = [];

const nginx = (...args: string[]) => run(['nginx', '-p', prefix, '-c', conf, ...args]);
const reloadCount = () => (existsSync(counter) ? readFileSync(counter, 'utf8').split('\n').filter(Boolean).length : 0);

/** nginx's worker processes (the configuration runs one; a reload's old worker lives on until it is done). */
async function workers(): Promise<number> {
  const master = readFileSync(join(prefix, 'nginx.pid'), 'utf8').trim();
  return (await run(['ps', '-o', 'pid=', '--ppid', master])).stdout.split('\n').filter((l) => l.trim()).length;
}

/** A background reload of nginx-reload still due (its pid alive). */
function reloadPending(): boolean {
  const pid = Number(existsSync(join(stateDir, 'pending')) ? readFileSync(join(stateDir, 'pending'), 'utf8').trim() : 0);
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function through(): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { Host: HOST }, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : `status ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error('no answer through nginx within 5 s')));
    req.on('error', reject);
    req.end();
  });
}

/** The backends answering through nginx over `requests` requests (round robin). */
async function answering(requests: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < requests; i++) seen.add(await through());
  return seen;
}

async function until(what: string, probe: () => Promise<boolean> | boolean, limitMs = 15_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - started;
    if (performance.now() - started > limitMs) throw new Error(`${what}: not within ${limitMs} ms\nconsul-template:\n${ctOutput.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const register = (i: number) => agent.api('PUT', '/v1/agent/service/register', { Name: APP, ID: `web:${APP}:${i}`, Address: '127.0.0.1', Port: backends[i]!.port });
const deregister = (i: number) => agent.api('PUT', `/v1/agent/service/deregister/web:${APP}:${i}`);

before(async () => {
  const [consul, ctBinary] = [await ensureConsulBinary(), await ensureConsulTemplateBinary()];
  work = mkdtempSync(join(tmpdir(), 'stack-nginx-reloads-'));
  prefix = join(work, 'nginx');
  stateDir = join(work, 'reload-state');
  counter = join(work, 'reloads');
  agent = await startDevConsul(consul, work);
  assert.equal((await agent.api('PUT', '/v1/agent/token/agent', { Token: agent.managementToken })).status, 200);
  for (let i = 0; i < BURST; i++) {
    const server = createServer((_req, res) => res.end(`backend ${i}\n`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const address = server.address();
    backends.push({ server, port: typeof address === 'object' && address ? address.port : 0 });
  }
  port = await freePort();
  const files = new Map(renderHostFiles(loadCase('plain'), 'lb1', factsFor(DEBIAN_12)).map((f) => [f.dest, f.content]));
  const statics: Record<string, string> = {};
  for (const [dest, content] of files) if (dest.startsWith('/etc/nginx/conf.d/')) statics[dest.split('/').pop()!] = content;
  conf = nginxPrefixConfig(prefix, statics, { http: port, https: await freePort() });
  const move = (text: string) =>
    text
      .replaceAll('/etc/nginx/conf.d/', `${prefix}/conf.d/`)
      .replaceAll('/etc/consul-template/templates/', `${work}/`)
      .replaceAll('/usr/local/lib/bootstrap/nginx-reload', join(work, 'nginx-reload'))
      .replaceAll('/run/bootstrap-nginx-reload', stateDir)
      .replaceAll('/run/nginx.pid', `${prefix}/nginx.pid`)
      .replaceAll('/var/log/nginx/', `${prefix}/logs/`)
      .replaceAll('127.0.0.1:8500', `127.0.0.1:${agent.httpPort}`)
      .replace(/listen 80;/g, `listen 127.0.0.1:${port};`);
  writeFileSync(join(work, 'config.hcl'), move(files.get('/etc/consul-template/config.hcl')!));
  writeFileSync(join(work, `${APP}.ctmpl`), move(files.get(`/etc/consul-template/templates/${APP}.ctmpl`)!));
  // max 10 min instead of 5 s: a background reload that happens before that was not waited for
  const script = move(files.get('/usr/local/lib/bootstrap/nginx-reload')!);
  assert.match(script, /^max=5000$/m);
  writeFileSync(join(work, 'nginx-reload'), script.replace(/^max=5000$/m, 'max=600000'), { mode: 0o755 });
  // The reload script calls plain `nginx`: the real binary first on PATH, pointed at this prefix,
  // counting the reloads it is asked for
  const binDir = join(work, 'bin');
  mkdirSync(binDir);
  writeFileSync(join(binDir, 'nginx'), `#!/bin/sh\n[ "$*" != "-s reload" ] || echo reload >> ${counter}\nexec /usr/sbin/nginx -p ${prefix} -c ${conf} "$@"\n`);
  chmodSync(join(binDir, 'nginx'), 0o755);
  const started = await nginx();
  assert.equal(started.code, 0, started.stderr);
  consulTemplate = spawn(ctBinary, [`-config=${join(work, 'config.hcl')}`], {
    env: { ...process.env, PATH: `${binDir}:${process.env.PATH}`, CONSUL_HTTP_TOKEN: agent.managementToken },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  consulTemplate.stdout!.on('data', (d: Buffer) => (ctOutput += d.toString()));
  consulTemplate.stderr!.on('data', (d: Buffer) => (ctOutput += d.toString()));
  // the first render (a placeholder upstream) and its reload
  await until('the first render reloaded', () => reloadCount() === 1 && !reloadPending());
  // nginx -s reload only signals the master: the app's server answers once the new workers do
  await until('the app answers (502: no instance yet) and the old worker is gone', async () => (await through()) === 'status 502' && (await workers()) === 1);
});

after(async () => {
  if (consulTemplate && consulTemplate.exitCode === null) {
    const exited = new Promise((r) => consulTemplate.once('exit', r));
    consulTemplate.kill('SIGINT');
    await exited;
  }
  if (prefix && existsSync(join(prefix, 'nginx.pid'))) await nginx('-s', 'stop');
  for (const b of backends) b.server.close();
  await agent?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('nginx-reload coalesces reloads, leading edge first', () => {
  test('an isolated change is reloaded at once: one reload', async () => {
    assert.equal(await through(), 'status 502');
    // isolated: the window (250 ms by default) since the last reload has passed
    await until('a quiet window since the last reload', () => Date.now() - Number(readFileSync(join(stateDir, 'last'), 'utf8')) >= 250);
    const before = reloadCount();
    assert.equal((await register(0)).status, 200);
    const ms = await until('backend 0 served through nginx', async () => (await through()) === 'backend 0');
    await until('no reload due', () => !reloadPending());
    assert.equal(reloadCount() - before, 1);
    assert.match(ctOutput, /nginx-reload: reloading nginx/);
    assert.doesNotMatch(ctOutput, /a reload is already due|this change is reloaded once changes pause/, 'reloaded at once, not in the background');
    console.log(`# an isolated registration -> served through nginx ${ms.toFixed(0)} ms, 1 reload`);
  });

  test(`${BURST} instances registered at once, then deregistered at once: at most 3 reloads each, and nginx has exactly Consul's instances`, async () => {
    const before = reloadCount();
    const all = Array.from({ length: BURST }, (_, i) => `backend ${i}`).sort();
    await Promise.all(backends.map((_, i) => register(i)));
    const inMs = await until(`all ${BURST} served`, async () => !reloadPending() && [...(await answering(BURST * 2))].sort().join() === all.join());
    const burstIn = reloadCount() - before;
    const mid = reloadCount();
    await Promise.all(backends.slice(1).map((_, i) => deregister(i + 1)));
    const outMs = await until('only backend 0 left', async () => !reloadPending() && [...(await answering(BURST))].join() === 'backend 0');
    const burstOut = reloadCount() - mid;
    console.log(`# ${BURST} registered at once: all served after ${inMs.toFixed(0)} ms with ${burstIn} reload(s); ${BURST - 1} deregistered at once: out after ${outMs.toFixed(0)} ms with ${burstOut} reload(s)`);
    assert.ok(burstIn >= 1 && burstIn <= 3, `${burstIn} reloads for the registrations`);
    assert.ok(burstOut >= 1 && burstOut <= 3, `${burstOut} reloads for the deregistrations`);
  });

  test('a change within the window after a reload is reloaded by the background run, once changes pause', async () => {
    const file = join(prefix, 'conf.d', `${APP}.conf`);
    await until('no reload due', () => !reloadPending());
    const before = reloadCount();
    const output = ctOutput.length;
    // as if nginx had just been reloaded (1 s from now, so the window is still open however slow this machine is)
    writeFileSync(join(stateDir, 'last'), String(Date.now() + 1000));
    assert.equal((await register(1)).status, 200);
    assert.equal((await register(2)).status, 200);
    await until('backends 0, 1 and 2 served, no reload due', async () => !reloadPending() && [...(await answering(9))].sort().join() === 'backend 0,backend 1,backend 2');
    assert.match(ctOutput.slice(output), /this change is reloaded once changes pause for 250ms/);
    assert.doesNotMatch(ctOutput.slice(output), /nginx-reload: reloading nginx/, 'not reloaded at once');
    assert.equal(reloadCount() - before, 1, 'one background reload for both changes');
    assert.match(readFileSync(file, 'utf8'), new RegExp(`127\\.0\\.0\\.1:${backends[2]!.port} `));
    assert.equal((await nginx('-t')).code, 0);
  });

  test('SIGTERM to the background run (a stop) reloads at once instead of losing the changes', async () => {
    await until('no reload due', () => !reloadPending());
    const before = reloadCount();
    // a reload that "just happened" 10 minutes from now: the background run would wait that long
    writeFileSync(join(stateDir, 'last'), String(Date.now() + 600_000));
    assert.equal((await deregister(1)).status, 200);
    await until('a background reload due', () => reloadPending());
    const pid = Number(readFileSync(join(stateDir, 'pending'), 'utf8').trim());
    // waiting: its sleep runs (before that, its trap may not be set yet)
    await until('the background run sleeps', async () => /^sleep /m.test((await run(['ps', '-o', 'args=', '-g', String(pid)])).stdout));
    process.kill(-pid, 'SIGTERM'); // its process group, as a stop signals every process
    let seen = '';
    await until('backend 1 out of nginx, no reload due', async () => {
      seen = `pending ${reloadPending()}, reloads ${reloadCount() - before}, answering ${[...(await answering(6))].sort().join()}; ${(await run(['ps', '-o', 'pid,stat,args', '-g', String(pid)])).stdout}`;
      return /^pending false, reloads 1, answering backend 0,backend 2;/.test(seen);
    }).catch((error: Error) => assert.fail(`${error.message}\n${seen}`));
    writeFileSync(join(stateDir, 'last'), '0');
  });
});
