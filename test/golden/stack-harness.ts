/**
 * Renders the stack's files for one host exactly as the playbooks describe them: the real
 * inventory loader, host scope, expression evaluator and EJS renderer, walking the `template`,
 * `service` (unit_src / upstart_src) and `copy` (content) tasks of playbooks/*.yml.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { HostFacts } from '../../src/facts/types.js';
import { loadInventory } from '../../src/inventory/load.js';
import type { Inventory } from '../../src/inventory/types.js';
import { selectHosts } from '../../src/inventory/pattern.js';
import { evaluate, type Where } from '../../src/playbook/expression.js';
import { renderString, renderTemplateFile, renderValue } from '../../src/playbook/render.js';
import { hostScope } from '../../src/playbook/scope.js';
import type { SecretKind } from '../../src/stack/secrets.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const PLAYBOOKS = join(ROOT, 'playbooks');
export const TEMPLATES = join(ROOT, 'templates');
export const GOLDEN = join(ROOT, 'test', 'golden');
export const SITE_PLAYS = ['common.yml', 'lb.yml', 'web.yml'];

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

interface RawTask {
  name?: string;
  when?: string | boolean;
  loop?: string | unknown[];
  loop_var?: string;
  [module: string]: unknown;
}

export interface RenderedFile {
  dest: string;
  content: string;
  mode?: string;
  sensitive?: boolean;
}

function scopeFor(inv: Inventory, host: string, facts: HostFacts, playVars: Record<string, unknown>, secret = fakeSecret) {
  const withDefaults: Inventory = {
    ...inv,
    hosts: new Map([...inv.hosts].map(([name, h]) => [name, h])),
  };
  return hostScope(withDefaults, host, facts, playVars, { secret });
}

export interface RenderedTask {
  name: string;
  module: string;
  params: Record<string, unknown>;
}

/** Walks the site plays for `host` like the runner: play vars, when, loop; calls `visit` with each task's scope. */
function walkTasks(inv: Inventory, host: string, facts: HostFacts, secret: typeof fakeSecret, visit: (task: RawTask, scope: Record<string, unknown>, where: Where) => void): void {
  for (const playFile of SITE_PLAYS) {
    const file = join(PLAYBOOKS, playFile);
    const plays = parse(readFileSync(file, 'utf8')) as Array<{ hosts: string; vars?: Record<string, unknown>; tasks: RawTask[] }>;
    for (const play of plays) {
      if (!selectHosts(inv, play.hosts).includes(host)) continue;
      const scope = scopeFor(inv, host, facts, play.vars ?? {}, secret);
      for (const task of play.tasks) {
        const where = { pos: { file }, keyPath: task.name ?? '', host };
        const items = task.loop === undefined ? [undefined] : Array.isArray(task.loop) ? task.loop : (evaluate(task.loop, scope, where) as unknown[]);
        for (const item of items) {
          const itemScope = task.loop === undefined ? scope : { ...scope, [task.loop_var ?? 'item']: item };
          if (task.when !== undefined && !(typeof task.when === 'boolean' ? task.when : evaluate(task.when, itemScope, where))) continue;
          visit(task, itemScope, where);
        }
      }
    }
  }
}

/** Every file the playbooks write on `host` from a template or inline content. */
export function renderHostFiles(inv: Inventory, host: string, facts: HostFacts, secret = fakeSecret): RenderedFile[] {
  const files: RenderedFile[] = [];
  walkTasks(inv, host, facts, secret, (task, scope, where) => files.push(...filesOfTask(task, scope, where)));
  return files;
}

/** The rendered parameters of every task of `module` that runs on `host`. */
export function renderHostTasks(inv: Inventory, host: string, facts: HostFacts, module: string, secret = fakeSecret): RenderedTask[] {
  const tasks: RenderedTask[] = [];
  walkTasks(inv, host, facts, secret, (task, scope, where) => {
    if (task[module] === undefined) return;
    const name = renderString(task.name ?? module, scope, where);
    tasks.push({ name, module, params: renderValue(task[module], scope, where) as Record<string, unknown> });
  });
  return tasks;
}

function filesOfTask(task: RawTask, scope: Record<string, unknown>, where: Where): RenderedFile[] {
  if (task.template) {
    const p = renderValue(task.template, scope, where) as Record<string, string | boolean>;
    const extra = (p.vars ?? {}) as unknown as Record<string, unknown>;
    return [{ dest: String(p.dest), content: renderTemplateFile(join(TEMPLATES, String(p.src)), { ...scope, ...extra }), mode: p.mode as string, sensitive: p.sensitive === true }];
  }
  if (task.copy && typeof (task.copy as Record<string, unknown>).content === 'string') {
    const p = renderValue(task.copy, scope, where) as Record<string, string | boolean>;
    return [{ dest: String(p.dest), content: String(p.content), mode: p.mode as string, sensitive: p.sensitive === true }];
  }
  const service = (task.service ?? task.systemd_unit) as Record<string, string> | undefined;
  if (service && (service.unit_src || service.upstart_src)) {
    const facts = scope.facts as HostFacts;
    const name = renderString(service.name, scope, where);
    if (facts.init === 'upstart' && service.upstart_src) {
      return [{ dest: `/etc/init/${name}.conf`, content: renderTemplateFile(join(TEMPLATES, service.upstart_src), scope), mode: '0644' }];
    }
    if (service.unit_src) return [{ dest: `/etc/systemd/system/${name}.service`, content: renderTemplateFile(join(TEMPLATES, service.unit_src), scope), mode: '0644' }];
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
  managementToken: string;
  api(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; text: string }>;
  stop(): Promise<void>;
}

/** A real consul agent in dev mode on loopback, with ACLs on (default deny) as the stack configures them. */
export async function startDevConsul(consulBinary: string, workDir: string): Promise<DevConsul> {
  const { spawn } = await import('node:child_process');
  const [httpPort, serfLan, server] = [await freePort(), await freePort(), await freePort()];
  const managementToken = fakeSecret('consul_management_token', 'uuid');
  const configFile = join(workDir, 'dev.hcl');
  writeFileSync(
    configFile,
    `ports {\n  http = ${httpPort}\n  dns = -1\n  grpc = -1\n  grpc_tls = -1\n  serf_lan = ${serfLan}\n  serf_wan = -1\n  server = ${server}\n}\n` +
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
    const child = spawn(argv[0], argv.slice(1), { env: options.env ?? process.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
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
