/**
 * Renders the stack's files for one host exactly as a run would: the real inventory and playbook
 * loaders and the runner's task walk (src/playbook/expand.ts), then the `template`, `service`
 * (unit_src / upstart_src) and `copy` (content) instances rendered through their module context.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostFacts } from '../../src/facts/types.js';
import { loadInventory } from '../../src/stack/inventory.js';
import type { Inventory } from '../../src/inventory/types.js';
import { selectHosts } from '../../src/inventory/pattern.js';
import { getModule } from '../../src/modules/index.js';
import { unitPath, upstartPath } from '../../src/modules/service.js';
import { expandTask, type TaskInstance } from '../../src/playbook/expand.js';
import { loadPlaybooks } from '../../src/playbook/load-playbooks.js';
import { laptopArtifacts } from '../../src/artifacts/laptop.js';
import type { SecretKind } from '../../src/secrets/store.js';
import { placeholderConsulPki } from '../../src/stack/consul-pki.js';
import { OFFLINE_RUN_ID } from '../../src/host/run-id.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const PLAYBOOKS = join(ROOT, 'playbooks');
export const TEMPLATES = join(ROOT, 'templates');
export const GOLDEN = join(ROOT, 'test', 'golden');

/** Deterministic stand-ins for generated secrets, so golden files are stable. */
export function fakeSecret(name: string, kind: SecretKind): string {
  const digest = createHash('sha256').update(name).digest();
  if (kind === 'gossip') return digest.toString('base64');
  const hex = digest.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function factsFor(os: { id: string; version: string; codename: string }, init: HostFacts['init'] = 'systemd'): HostFacts {
  return { hostname: 'node', os: { ...os, family: 'debian' }, arch: 'amd64', init, user: 'root', isRoot: true, addresses: [] };
}

export const DEBIAN_12 = { id: 'debian', version: '12', codename: 'bookworm' };

export interface RenderedFile {
  dest: string;
  content: string;
  mode?: string;
  sensitive?: boolean;
}

export interface RenderedTask {
  name: string;
  module: string;
  params: Record<string, unknown>;
}

const sitePlays = () => loadPlaybooks([join(PLAYBOOKS, 'site.yml')], getModule);

/** The instances of every site task that runs on `host`, expanded by the runner's own walk (loop, when, rendering). */
function hostInstances(inv: Inventory, host: string, facts: HostFacts, secret: typeof fakeSecret): TaskInstance[] {
  const instances: TaskInstance[] = [];
  for (const play of sitePlays()) {
    if (!selectHosts(inv, play.hosts).includes(host)) continue;
    // a first run: every registered task changed something
    const registered = Object.fromEntries(play.tasks.flatMap((t) => (t.register ? [[t.register, { changed: true, failed: false, skipped: false }]] : [])));
    const hp = { inventory: inv, play, host, facts, runId: OFFLINE_RUN_ID, scopeExtra: { secret, artifacts: laptopArtifacts(), consul_pki: placeholderConsulPki(), ...registered } };
    for (const task of play.tasks) {
      if (task.meta) continue; // meta: flush_handlers runs handlers, it writes nothing of its own
      for (const instance of expandTask(task, hp)) {
        if (instance.skipped) continue;
        if (instance.errors.length) throw new Error(instance.errors.map((e) => e.message).join('\n'));
        instances.push(instance);
      }
    }
  }
  return instances;
}

/** Every file the playbooks write on `host` from a template or inline content. */
export function renderHostFiles(inv: Inventory, host: string, facts: HostFacts, secret = fakeSecret): RenderedFile[] {
  return hostInstances(inv, host, facts, secret).flatMap(filesOf);
}

/** The rendered parameters of every task of `module` that runs on `host`. */
export function renderHostTasks(inv: Inventory, host: string, facts: HostFacts, module: string, secret = fakeSecret): RenderedTask[] {
  return hostInstances(inv, host, facts, secret)
    .filter((i) => i.task.module === module)
    .map((i) => ({ name: i.task.name, module, params: i.params }));
}

/** The files an instance writes, rendered through the module context the module itself renders with. */
function filesOf({ module, params, ctx }: TaskInstance): RenderedFile[] {
  const p = params as Record<string, unknown>;
  const file = (dest: string, content: string, mode = p.mode as string | undefined): RenderedFile => ({ dest, content, mode, sensitive: p.sensitive === true });
  if (module.name === 'template') return [file(String(p.dest), ctx.renderTemplate(String(p.src), (p.vars ?? {}) as Record<string, unknown>))];
  if (module.name === 'copy' && typeof p.content === 'string') return [file(String(p.dest), p.content)];
  if (module.name === 'service') {
    const name = String(p.name);
    if (ctx.facts.init === 'upstart' && p.upstart_src) return [file(upstartPath(name), ctx.renderTemplate(String(p.upstart_src)), '0644')];
    if (ctx.facts.init === 'systemd' && p.unit_src) return [file(unitPath(name), ctx.renderTemplate(String(p.unit_src)), '0644')];
  }
  return [];
}

export function loadCase(name: string): Inventory {
  return loadInventory(join(GOLDEN, name, 'inventory.yaml'));
}

/* ---- real consul / consul-template / nginx helpers for the integration tests ---- */

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface DevConsul {
  httpPort: number;
  /** the DNS interface's port, when asked for one (else DNS is off) */
  dnsPort?: number;
  managementToken: string;
  api(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; text: string }>;
  stop(): Promise<void>;
}

/** A real consul agent in dev mode on loopback, with ACLs on (default deny) as the stack configures them. */
export async function startDevConsul(consulBinary: string, workDir: string, options: { dns?: boolean } = {}): Promise<DevConsul> {
  const { spawn } = await import('node:child_process');
  const [httpPort, serfLan, server] = [await freePort(), await freePort(), await freePort()];
  const dnsPort = options.dns ? await freePort() : undefined;
  const managementToken = fakeSecret('consul_management_token', 'uuid');
  const configFile = join(workDir, 'dev.hcl');
  writeFileSync(
    configFile,
    `ports {\n  http = ${httpPort}\n  dns = ${dnsPort ?? -1}\n  grpc = -1\n  grpc_tls = -1\n  serf_lan = ${serfLan}\n  serf_wan = -1\n  server = ${server}\n}\n` +
      `acl {\n  enabled = true\n  default_policy = "deny"\n  tokens {\n    initial_management = "${managementToken}"\n  }\n}\n`,
  );
  const child = spawn(consulBinary, ['agent', '-dev', '-bind=127.0.0.1', '-client=127.0.0.1', `-config-file=${configFile}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const base = `http://127.0.0.1:${httpPort}`;
  const api = async (method: string, path: string, body?: unknown, token = managementToken) => {
    const res = await fetch(base + path, { method, headers: { 'X-Consul-Token': token }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, text: await res.text() };
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`consul dev agent exited ${child.exitCode}:\n${output}`);
    const ready = await api('GET', '/v1/acl/token/self').catch(() => ({ status: 0, text: '' }));
    if (ready.status === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`consul dev agent not ready within 60s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    httpPort,
    dnsPort,
    managementToken,
    api,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

/** Runs a program, resolving with its exit code and output (never rejects on a non-zero exit). */
export async function run(argv: string[], options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { spawn } = await import('node:child_process');
  return new Promise((done, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env: options.env ?? process.env, cwd: options.cwd, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout, stderr }));
    // a command may exit without reading its input: the EPIPE that follows is no failure of the test
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input);
  });
}

/**
 * An nginx configuration around rendered conf.d files, under a temp prefix: the files' absolute
 * paths (logs, TLS) and ports are moved to the prefix and the given loopback ports.
 */
export function nginxPrefixConfig(prefix: string, confs: Record<string, string>, ports: { http: number; https: number }, tlsDir?: string): string {
  mkdirSync(join(prefix, 'conf.d'), { recursive: true });
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  for (const [name, content] of Object.entries(confs)) {
    let text = content
      .replaceAll('/var/log/nginx/', `${prefix}/logs/`)
      .replace(/listen 80( default_server)?;/g, `listen 127.0.0.1:${ports.http}$1;`)
      .replace(/listen 443 ssl/g, `listen 127.0.0.1:${ports.https} ssl`);
    if (tlsDir) text = text.replaceAll('/etc/nginx/tls/', `${tlsDir}/`);
    writeFileSync(join(prefix, 'conf.d', name), text);
  }
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `pid ${prefix}/nginx.pid;\nerror_log ${prefix}/logs/error.log;\nworker_processes 1;\nevents { worker_connections 256; }\n` +
      `http {\n  access_log ${prefix}/logs/access.log;\n  client_body_temp_path ${prefix}/body;\n  proxy_temp_path ${prefix}/proxy;\n` +
      `  fastcgi_temp_path ${prefix}/fastcgi;\n  uwsgi_temp_path ${prefix}/uwsgi;\n  scgi_temp_path ${prefix}/scgi;\n  include ${prefix}/conf.d/*.conf;\n}\n`,
  );
  return conf;
}
