import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Inventory } from '../../src/inventory/types.js';
import { ensureConsulBinary, ensureConsulTemplateBinary } from '../../src/lab/go-builds.js';
import { parseServersState, pushedSlots, upServers } from '../../src/verify/parse.js';
import { DEBIAN_12, factsFor, freePort, loadCase, renderHostFiles, run, startDevConsul, type DevConsul } from '../golden/stack-harness.js';

/*
 * load_balancer haproxy with the rendered files and the real programs on loopback: a dev consul
 * agent, haproxy (master-worker) with the rendered haproxy.cfg, and haproxy-servers (the real
 * consul-template with the rendered servers.hcl and template, running the rendered sync script).
 * An instance registered in Consul is served through haproxy, and a deregistered one is out of
 * it, with no reload (the worker's pid stays); a reload keeps the pushed slots. Timings are
 * printed, not asserted.
 */

const APP = 'myapp';
const HOST = 'example.test';

let work: string;
let agent: DevConsul;
let haproxy: ChildProcess;
let consulTemplate: ChildProcess;
let ctOutput = '';
let httpPort: number;
let sock: string;
let script: string;
const backends: Array<{ server: Server; port: number }> = [];

function haproxyInventory(): Inventory {
  const inv = loadCase('plain');
  for (const host of inv.hosts.values()) host.vars.load_balancer = 'haproxy';
  return inv;
}

const api = async (command: string) => (await run(['socat', '-t', '5', 'stdio', `unix-connect:${sock}`], { input: `${command}\n` })).stdout;
const workerPid = async () => /^Pid: (\d+)$/m.exec(await api('show info'))?.[1];
const served = async () => upServers(pushedSlots(parseServersState(await api(`show servers state ${APP}`), APP), APP));
/** The DNS backup slots up. */
const backups = async () => upServers(parseServersState(await api(`show servers state ${APP}`), APP).filter((s) => s.name.startsWith(`${APP}-dns-`)));

/** One request through haproxy: the answering backend's body, or the status when it was not 200. */
function through(): Promise<string> {
  // node:http, not fetch: fetch does not send a Host header of its own choosing
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: httpPort, path: '/', headers: { Host: HOST }, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : `status ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error('no answer through haproxy within 5 s')));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `probe` every 5 ms until it returns true; the milliseconds it took. */
async function until(what: string, probe: () => Promise<boolean>, limitMs = 10_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - started;
    if (performance.now() - started > limitMs) throw new Error(`${what}: not within ${limitMs} ms\nconsul-template:\n${ctOutput.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const register = (i: number) =>
  agent.api('PUT', '/v1/agent/service/register', { Name: APP, ID: `web${i}:${APP}`, Address: '127.0.0.1', Port: backends[i]!.port });
const deregister = (i: number) => agent.api('PUT', `/v1/agent/service/deregister/web${i}:${APP}`);

before(async () => {
  const [consul, ctBinary] = [await ensureConsulBinary(), await ensureConsulTemplateBinary()];
  work = mkdtempSync(join(tmpdir(), 'stack-haproxy-'));
  agent = await startDevConsul(consul, work, { dns: true });
  assert.equal((await agent.api('PUT', '/v1/agent/token/agent', { Token: agent.managementToken })).status, 200);
  // DNS queries carry no token: the stack gives LB agents a read-only default token (bootstrap-dns)
  assert.equal((await agent.api('PUT', '/v1/agent/token/default', { Token: agent.managementToken })).status, 200);
  for (let i = 0; i < 2; i++) {
    const server = createServer((_req, res) => res.end(`backend ${i}\n`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const address = server.address();
    backends.push({ server, port: typeof address === 'object' && address ? address.port : 0 });
  }

  const files = new Map(renderHostFiles(haproxyInventory(), 'lb1', factsFor(DEBIAN_12)).map((f) => [f.dest, f.content]));
  httpPort = await freePort();
  sock = join(work, 'admin.sock');
  const serversDir = join(work, 'servers');
  mkdirSync(serversDir);
  script = join(work, 'haproxy-servers');
  // the rendered files, moved to the work directory and loopback ports; root-only settings (user, chroot) left out
  const move = (text: string) =>
    text
      .replaceAll('/run/haproxy/admin.sock', sock)
      .replaceAll('/var/lib/haproxy/server-state', join(work, 'server-state'))
      .replaceAll('/etc/haproxy/servers.hcl', join(work, 'servers.hcl'))
      .replaceAll('/etc/haproxy/servers', serversDir)
      .replaceAll('/usr/local/lib/bootstrap/haproxy-servers', script)
      .replaceAll('127.0.0.1:8500', `127.0.0.1:${agent.httpPort}`)
      .replaceAll('127.0.0.1:8600', `127.0.0.1:${agent.dnsPort}`)
      .replace(/^    bind :80$/m, `    bind 127.0.0.1:${httpPort}`)
      .replace(/^    (user|group|chroot) .*\n/gm, '');
  writeFileSync(join(work, 'haproxy.cfg'), move(files.get('/etc/haproxy/haproxy.cfg')!));
  writeFileSync(join(work, 'server-state'), '1\n');
  writeFileSync(script, move(files.get('/usr/local/lib/bootstrap/haproxy-servers')!), { mode: 0o755 });
  writeFileSync(join(work, 'servers.hcl'), move(files.get('/etc/haproxy/servers.hcl')!));
  writeFileSync(join(serversDir, `${APP}.ctmpl`), files.get(`/etc/haproxy/servers/${APP}.ctmpl`)!);

  // what the unit's reload checks first, on the configuration as it runs here
  const check = await run(['haproxy', '-c', '-q', '-f', join(work, 'haproxy.cfg')]);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  haproxy = spawn('haproxy', ['-Ws', '-f', join(work, 'haproxy.cfg'), '-p', join(work, 'haproxy.pid'), '-S', `${join(work, 'master.sock')},mode,600`], { stdio: 'ignore' });
  await until('haproxy answers on its runtime API', async () => (await workerPid().catch(() => undefined)) !== undefined);
  consulTemplate = spawn(ctBinary, [`-config=${join(work, 'servers.hcl')}`], { env: { ...process.env, CONSUL_HTTP_TOKEN: agent.managementToken }, stdio: ['ignore', 'pipe', 'pipe'] });
  consulTemplate.stdout!.on('data', (d: Buffer) => (ctOutput += d.toString()));
  consulTemplate.stderr!.on('data', (d: Buffer) => (ctOutput += d.toString()));
  // its first render: the list of no instance
  await until('consul-template rendered the app list', async () => {
    try {
      return readFileSync(join(serversDir, `${APP}.list`), 'utf8').trim() === '';
    } catch {
      return false;
    }
  });
});

after(async () => {
  consulTemplate?.kill('SIGINT');
  if (haproxy && haproxy.exitCode === null) {
    const exited = new Promise((r) => haproxy.once('exit', r));
    haproxy.kill('SIGTERM');
    await exited;
  }
  for (const b of backends) b.server.close();
  await agent?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('haproxy-servers: Consul changes pushed into haproxy through the runtime API', () => {
  test('no instance: no pushed slot is up, and haproxy answers 503', async () => {
    assert.deepEqual(await served(), []);
    assert.deepEqual(await backups(), []);
    assert.equal(await through(), 'status 503');
  });

  test('a registered instance is served, a deregistered one is out, with no reload', async () => {
    const pid = await workerPid();
    const masterPid = readFileSync(join(work, 'haproxy.pid'), 'utf8').trim();
    assert.equal((await register(0)).status, 200);
    const inMs = await until('backend 0 served through haproxy', async () => (await through()) === 'backend 0');
    assert.deepEqual(await served(), [`127.0.0.1:${backends[0]!.port}`]);
    assert.equal((await register(1)).status, 200);
    const secondMs = await until('backend 1 served as well', async () => (await served()).length === 2);
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add(await through());
    assert.deepEqual([...seen].sort(), ['backend 0', 'backend 1']);
    assert.equal((await deregister(0)).status, 200);
    const outMs = await until('backend 0 out of haproxy', async () => !(await served()).includes(`127.0.0.1:${backends[0]!.port}`));
    for (let i = 0; i < 10; i++) assert.equal(await through(), 'backend 1');
    assert.equal((await deregister(1)).status, 200);
    const lastOutMs = await until('no instance left', async () => (await through()) === 'status 503');
    assert.equal(await workerPid(), pid, 'the same haproxy worker answers: no reload');
    assert.equal(readFileSync(join(work, 'haproxy.pid'), 'utf8').trim(), masterPid);
    console.log(`# registered -> served through haproxy ${inMs.toFixed(0)} ms (a second instance: ${secondMs.toFixed(0)} ms); deregistered -> out ${outMs.toFixed(0)} ms (the last one, until haproxy answered 503: ${lastOutMs.toFixed(0)} ms, DNS backups included)`);
  });

  test('a reload keeps the pushed slots, and the sync after it finds nothing to change', async () => {
    assert.equal((await register(1)).status, 200);
    await until('backend 1 served', async () => (await through()) === 'backend 1');
    const before = await workerPid();
    // the unit's ExecReload steps (the configuration check ran in before())
    writeFileSync(join(work, 'server-state'), await api('show servers state'));
    writeFileSync(join(work, 'worker.pid'), `${before}\n`);
    process.kill(Number(readFileSync(join(work, 'haproxy.pid'), 'utf8').trim()), 'SIGUSR2');
    const sync = await run([script, '--after-reload', join(work, 'worker.pid')]);
    assert.equal(sync.code, 0, sync.stderr);
    assert.notEqual(await workerPid(), before, 'a new worker answers');
    assert.equal(sync.stdout, '', 'the new worker had the pushed slot from the saved state');
    assert.deepEqual(await served(), [`127.0.0.1:${backends[1]!.port}`]);
    assert.equal(await through(), 'backend 1');
  });

  test('the sync script puts a slot changed behind its back right again, and names what it sent', async () => {
    const slot = pushedSlots(parseServersState(await api(`show servers state ${APP}`), APP), APP).find((s) => s.addr === `127.0.0.1:${backends[1]!.port}`)!;
    await api(`set server ${APP}/${slot.name} state maint`);
    assert.deepEqual(await served(), []);
    const sync = await run([script]);
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stdout, new RegExp(`set server ${APP}/${APP}-\\d+ addr 127\\.0\\.0\\.1 port ${backends[1]!.port}; set server ${APP}/${APP}-\\d+ state ready`));
    assert.deepEqual(await served(), [`127.0.0.1:${backends[1]!.port}`]);
  });

  test('with haproxy-servers stopped and the pushed slots empty (an haproxy restart), the DNS backups serve', async () => {
    const stopped = new Promise((r) => consulTemplate.once('exit', r));
    consulTemplate.kill('SIGINT');
    await stopped;
    for (const slot of pushedSlots(parseServersState(await api(`show servers state ${APP}`), APP), APP)) await api(`set server ${APP}/${slot.name} state maint`);
    assert.deepEqual(await served(), []);
    const dnsMs = await until('a DNS backup slot up', async () => (await backups()).includes(`127.0.0.1:${backends[1]!.port}`), 15_000);
    assert.equal(await through(), 'backend 1');
    console.log(`# with no pushed slot up, a DNS backup slot up ${dnsMs.toFixed(0)} ms after (it may have been filled before)`);
  });
});
