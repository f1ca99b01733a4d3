import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureConsulBinary } from '../../src/lab/go-builds.js';
import { createConsulPki } from '../../src/stack/consul-pki.js';
import { DEBIAN_12, factsFor, fakeSecret, freePort, loadCase, renderHostFiles } from '../golden/stack-harness.js';

/*
 * Consul RPC over mutual TLS as the stack configures it, against real consul agents on loopback:
 * lb1's and web1's rendered consul.hcl (the playbooks' TLS block, with certificates from the
 * laptop's CA), a client getting its certificate through auto_encrypt, and agents without a
 * certificate of the CA refused by the server.
 */

interface Agent {
  name: string;
  child: ChildProcess;
  log: () => string;
}

let consul: string;
let work: string;
const agents: Agent[] = [];
let ports: { http: number; serf: number; server: number };

/** The rendered consul.hcl of `host`, moved onto loopback and this test's directories and ports. */
function localConfig(host: 'lb1' | 'web1', dir: string, own: { http: number; serf: number }): string {
  const hcl = renderHostFiles(loadCase('plain'), host, factsFor(DEBIAN_12)).find((f) => f.dest === '/etc/consul.d/consul.hcl')!.content;
  return (
    hcl
      .replace(/^bind_addr\s*=.*$/m, 'bind_addr = "127.0.0.1"')
      .replace(/^advertise_addr\s*=.*$/m, 'advertise_addr = "127.0.0.1"')
      .replace(/^data_dir\s*=.*$/m, `data_dir = "${join(dir, 'data')}"`)
      .replace(/^retry_join\s*=.*$/m, `retry_join = ["127.0.0.1:${ports.serf}"]`)
      .replaceAll('/etc/consul.d/tls/', `${join(work, 'tls')}/`) +
    `ports {\n  http = ${own.http}\n  dns = -1\n  grpc = -1\n  grpc_tls = -1\n  serf_lan = ${own.serf}\n  serf_wan = -1\n  server = ${ports.server}\n}\n`
  );
}

function start(name: string, config: string): Agent {
  const dir = join(work, name);
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'agent.hcl'), config);
  const child = spawn(consul, ['agent', `-config-file=${join(dir, 'agent.hcl')}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const agent = { name, child, log: () => output };
  agents.push(agent);
  return agent;
}

async function until<T>(what: string, probe: () => Promise<T> | T, ok: (v: T) => boolean, logs: Agent[], timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    for (const a of logs) if (a.child.exitCode !== null) throw new Error(`${a.name} exited ${a.child.exitCode} while waiting for ${what}:\n${a.log().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${logs.map((a) => `--- ${a.name}\n${a.log().slice(-3000)}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The catalog's nodes asked through an agent's HTTP API: a client agent answers it with an RPC
 * to a server, so an answer means that agent's RPC got through. (Being in the catalog says
 * nothing: the leader adds every gossip member itself.)
 */
async function catalogThrough(httpPort: number): Promise<{ status: number; nodes: string[]; text: string }> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/v1/catalog/nodes`, { headers: { 'X-Consul-Token': fakeSecret('consul_management_token', 'uuid') } }).catch((err: Error) => err);
  if (res instanceof Error) return { status: 0, nodes: [], text: res.message };
  const text = await res.text();
  return { status: res.status, nodes: res.status === 200 ? (JSON.parse(text) as Array<{ Node: string }>).map((n) => n.Node).sort() : [], text };
}

before(async () => {
  consul = await ensureConsulBinary();
  work = mkdtempSync(join(tmpdir(), 'stack-consul-tls-'));
  ports = { http: await freePort(), serf: await freePort(), server: await freePort() };
  // the laptop's CA and lb1's certificate, where the rendered files expect them
  const pki = createConsulPki(join(work, 'secrets'));
  mkdirSync(join(work, 'tls'));
  writeFileSync(join(work, 'tls', 'ca.pem'), pki.ca_cert());
  writeFileSync(join(work, 'tls', 'server.pem'), pki.server_cert('lb1', 'dc1'));
  writeFileSync(join(work, 'tls', 'server-key.pem'), pki.server_key('lb1', 'dc1'), { mode: 0o600 });
  // another CA's certificate for the same name: what a host with the gossip key could make itself
  const foreign = createConsulPki(join(work, 'foreign'));
  writeFileSync(join(work, 'tls', 'foreign.pem'), foreign.server_cert('rogue', 'dc1'));
  writeFileSync(join(work, 'tls', 'foreign-key.pem'), foreign.server_key('rogue', 'dc1'), { mode: 0o600 });
});

after(async () => {
  await Promise.all(agents.map((a) => new Promise<void>((done) => {
    if (a.child.exitCode !== null) return done();
    a.child.once('exit', () => done());
    a.child.kill('SIGKILL');
  })));
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('consul RPC over mutual TLS, as rendered', { timeout: 240_000 }, () => {
  let server: Agent;

  test('the server starts with its certificate and becomes leader', async () => {
    server = start('lb1', localConfig('lb1', join(work, 'lb1'), { http: ports.http, serf: ports.serf }));
    await until('a leader', async () => (await fetch(`http://127.0.0.1:${ports.http}/v1/status/leader`).then((r) => r.text()).catch(() => '')), (l) => l.includes(`127.0.0.1:${ports.server}`), [server]);
    // the agents' token, as the playbook's ACL tasks create it (auto_encrypt needs node:write)
    const api = (path: string, body: unknown) =>
      fetch(`http://127.0.0.1:${ports.http}${path}`, { method: 'PUT', headers: { 'X-Consul-Token': fakeSecret('consul_management_token', 'uuid') }, body: JSON.stringify(body) });
    const acl = await until('the ACL system up', () => api('/v1/acl/policy', { Name: 'agents', Rules: 'node_prefix "" { policy = "write" }\nservice_prefix "" { policy = "read" }' }).catch(() => undefined), (r) => r?.status === 200, [server]);
    assert.equal(acl!.status, 200);
    const token = await api('/v1/acl/token', { SecretID: fakeSecret('consul_agent_token', 'uuid'), Policies: [{ Name: 'agents' }] });
    assert.equal(token.status, 200, await token.text());
  });

  test('a client with the CA gets its certificate through auto_encrypt and registers over TLS', async () => {
    const http = await freePort();
    const config = localConfig('web1', join(work, 'web1'), { http, serf: await freePort() });
    assert.match(config, /auto_encrypt \{\n  tls = true\n\}/);
    assert.doesNotMatch(config, /cert_file/, 'a client has no certificate of its own on disk');
    const client = start('web1', config);
    const answer = await until('the catalog through web1 (an RPC to the server)', () => catalogThrough(http), (r) => r.status === 200 && r.nodes.includes('web1'), [server, client]);
    assert.deepEqual(answer.nodes, ['lb1', 'web1']);
  });

  test('an agent with the gossip key but no certificate is refused: its plaintext RPC is closed by the server', async () => {
    const http = await freePort();
    const plain = localConfig('web1', join(work, 'plain'), { http, serf: await freePort() })
      .replace(/^node_name\s*=.*$/m, 'node_name = "rogue-plain"')
      .replace(/\ntls \{[\s\S]*?\nauto_encrypt \{[\s\S]*?\n\}\n/, '\n');
    assert.doesNotMatch(plain, /^(tls|auto_encrypt) \{/m);
    const rogue = start('rogue-plain', plain);
    await until('the server refusing plaintext RPC', () => server.log(), (log) => log.includes('Non-TLS connection attempted with VerifyIncoming set'), [server, rogue]);
    const refused = await catalogThrough(http);
    assert.notEqual(refused.status, 200, `the catalog through the rogue agent: ${refused.text}`);
  });

  test('an agent with a certificate of another CA is refused in the TLS handshake', async () => {
    const http = await freePort();
    const foreign = localConfig('web1', join(work, 'foreign'), { http, serf: await freePort() })
      .replace(/^node_name\s*=.*$/m, 'node_name = "rogue-foreign"')
      .replace(/\nauto_encrypt \{[\s\S]*?\n\}\n/, '\n')
      .replace(/ca_file( *)= "([^"]*)"/, `ca_file$1= "$2"\n    cert_file = "${join(work, 'tls', 'foreign.pem')}"\n    key_file = "${join(work, 'tls', 'foreign-key.pem')}"`);
    const rogue = start('rogue-foreign', foreign);
    const seen = await until('the handshake refused', () => rogue.log() + server.log(), (log) => /bad certificate|unknown certificate authority|certificate signed by unknown authority/i.test(log), [server, rogue]);
    const line = seen.split('\n').find((l) => /bad certificate|unknown certificate authority|certificate signed by unknown authority/i.test(l))!;
    console.log(`# refused: ${line.trim().slice(0, 300)}`);
    assert.match(line, /tls/i);
    const refused = await catalogThrough(http);
    assert.notEqual(refused.status, 200, `the catalog through the rogue agent: ${refused.text}`);
  });
});
