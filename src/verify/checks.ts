import { tail } from '../errors.js';
import type { ExecResult } from '../transport/types.js';
import { appConfFile } from './facts.js';
import { isActiveOutput, parseConsulMembers, parseHealthInstances, parseInstanceOrigins, parseServersState, parseUpstreamServers, pushedSlots, upServers } from './parse.js';
import type { CheckResult } from './types.js';

/** Pure checks: what was read on a host (facts.ts) in, one line of the table out. */

export const list = (items: string[]) => (items.length ? items.join(', ') : 'none');
export const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export interface App {
  name: string;
  server_name: string[];
  balance: string;
  tls?: 'acme' | { cert: string; key: string };
}

export function serviceCheck(host: string, service: string, r: ExecResult): CheckResult {
  const state = (r.stdout.trim().split('\n')[0] || tail(r.stderr, 1)) ?? '';
  return { check: `service ${service}`, host, ok: isActiveOutput(r.stdout), detail: state || `exit ${r.code}` };
}

/** Each checked host alive in `consul members` as the lead server sees it. */
export function memberChecks(lead: string, r: ExecResult, hosts: readonly string[]): CheckResult[] {
  if (r.code !== 0) return [{ check: 'consul members', host: lead, ok: false, detail: `consul members exited ${r.code}: ${tail(r.stderr, 2)}` }];
  const members = parseConsulMembers(r.stdout);
  return hosts.map((host) => {
    const member = members.find((m) => m.node === host);
    return { check: 'consul member', host, ok: member?.status === 'alive', detail: member ? `${member.status} (${member.type}, ${member.address})` : 'not a member of the cluster' };
  });
}

/** `nginx -t` or `haproxy -c` on an LB. */
export function lbConfigCheck(host: string, haproxy: boolean, r: ExecResult): CheckResult {
  return { check: haproxy ? 'haproxy -c' : 'nginx -t', host, ok: r.code === 0, detail: r.code === 0 ? 'configuration valid' : tail(r.stderr || r.stdout, 3) };
}

/** The app's healthy instances in consul ("address:port", sorted), and the check that there is one. */
export function registeredCheck(app: App, r: ExecResult): { result: CheckResult; instances: string[] } {
  const base = { check: 'registered in consul', app: app.name };
  try {
    if (r.code !== 0) throw new Error(`curl exited ${r.code}: ${tail(r.stderr, 2)}`);
    const instances = parseHealthInstances(r.stdout);
    const origins = parseInstanceOrigins(r.stdout);
    return { result: { ...base, ok: instances.length > 0, detail: instances.length ? `${instances.length} healthy: ${origins.join(', ')}` : 'no healthy instance' }, instances };
  } catch (err) {
    return { result: { ...base, ok: false, detail: (err as Error).message }, instances: [] };
  }
}

/** nginx: the rendered upstream lists exactly the healthy instances (or the placeholder when there is none). */
export function upstreamCheck(host: string, app: App, conf: ExecResult, instances: string[]): CheckResult {
  const base = { check: 'nginx upstream', host, app: app.name };
  if (conf.code !== 0) return { ...base, ok: false, detail: `${appConfFile(app.name)} not rendered: ${tail(conf.stderr, 1)}` };
  const upstream = parseUpstreamServers(conf.stdout, app.name);
  if (!upstream.found) return { ...base, ok: false, detail: `no upstream ${app.name} in ${appConfFile(app.name)}` };
  if (instances.length === 0) {
    return { ...base, ok: upstream.placeholder && upstream.servers.length === 0, detail: upstream.placeholder ? 'placeholder only (no healthy instance)' : `lists ${list(upstream.servers)} but consul has none` };
  }
  const ok = same(upstream.servers, instances);
  return { ...base, ok, detail: ok ? `lists exactly ${list(instances)}` : `lists ${list(upstream.servers)}, consul has ${list(instances)}` };
}

/** haproxy: the servers up in the runtime API (`show servers state`) are exactly the healthy instances. */
export function haproxyServersCheck(host: string, app: App, state: ExecResult, instances: string[]): CheckResult {
  const base = { check: 'haproxy servers', host, app: app.name };
  let up: string[];
  try {
    if (state.code !== 0) throw new Error(`runtime API: socat exited ${state.code}: ${tail(state.stderr, 1)}`);
    const servers = parseServersState(state.stdout, app.name);
    if (servers.length === 0) throw new Error(`no backend ${app.name} in the runtime API`);
    up = upServers(pushedSlots(servers, app.name));
  } catch (err) {
    return { ...base, ok: false, detail: (err as Error).message };
  }
  if (instances.length === 0) return { ...base, ok: up.length === 0, detail: up.length ? `${list(up)} up but consul has no healthy instance` : 'no server up (no healthy instance): answers 503' };
  const ok = same(up, instances);
  return { ...base, ok, detail: ok ? `up: exactly ${list(instances)}` : `up: ${list(up)}, consul has ${list(instances)}` };
}
