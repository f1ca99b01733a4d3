import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tail } from '../errors.js';
import type { Host, Inventory } from '../inventory/types.js';
import type { Transport } from '../transport/types.js';
import { acmeCertificateCheck, type SeenCertificate } from './acme.js';
import { probe, type Probe } from './http.js';
import { isActiveOutput, parseConsulMembers, parseHealthInstances, parseInstanceOrigins, parseServerSessions, parseServersState, parseUpstreamAddrs, parseUpstreamServers, pushedSlots, upServers } from './parse.js';
import { appConfFile, RemoteHost } from './remote.js';
import { checkRaft, checkVip } from './cluster.js';
import { checkPublishedPorts } from './published-ports.js';
import { consulServers } from '../stack/topology.js';
import { eachLimit } from '../host/pool.js';
import { HostSession } from '../host/session.js';
import type { CheckResult, VerifyOptions } from './types.js';

export type { CheckResult, VerifyOptions } from './types.js';

interface App {
  name: string;
  server_name: string[];
  balance: string;
  tls?: 'acme' | { cert: string; key: string };
}

type LoadBalancer = 'nginx' | 'haproxy';
const LB_SERVICES: Record<LoadBalancer, string[]> = { nginx: ['consul', 'consul-template', 'nginx'], haproxy: ['consul', 'haproxy', 'haproxy-servers'] };
const loadBalancerOf = (host: Host): LoadBalancer => (host.vars.load_balancer === 'haproxy' ? 'haproxy' : 'nginx');
const WEB_SERVICES = ['consul', 'docker', 'registrator'];

const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const list = (items: string[]) => (items.length ? items.join(', ') : 'none');

/**
 * End-to-end checks of a deployed stack: consul membership, services, registrations, what each LB
 * balances over (nginx: the rendered upstreams; haproxy: the servers up in its runtime API), the
 * LB's configuration check, and HTTP(S) through every LB from here, spread over every backend.
 */
export async function verifyStack(inventory: Inventory, connect: (host: Host) => Promise<Transport>, opts: VerifyOptions = {}): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const requests = opts.requests ?? 20;
  const forks = opts.forks ?? 20;
  const limited = opts.hosts ? new Set(opts.hosts) : undefined;
  const checked = (host: Host) => !limited || limited.has(host.name);
  const hostsOf = (group: string) => (inventory.groups.get(group) ?? []).map((name) => inventory.hosts.get(name)!).filter(Boolean);
  const allLbs = hostsOf('lb');
  if (allLbs.length === 0) return [{ check: 'inventory', ok: false, detail: 'no host in group lb' }];
  const lbs = allLbs.filter(checked);
  const webs = hostsOf('web').filter(checked);
  const apps = (allLbs[0].vars.apps ?? []) as App[];
  const serverNames = consulServers(inventory);
  const servers = serverNames.map((name) => inventory.hosts.get(name)!);
  const checkedServers = servers.filter(checked);
  // the cluster's view (members, registrations) is read on a consul server: one in the limit, else any
  const viewpoints = checkedServers.length > 0 ? checkedServers : servers;
  const everyChecked = [...new Set([...lbs, ...checkedServers, ...webs])];

  const remotes = new Map<string, RemoteHost>();
  const contacted = [...new Set([...everyChecked, ...viewpoints])];
  const sessions = contacted.map((host) => new HostSession(host));
  const connects: Array<CheckResult | undefined> = [];
  await eachLimit([...contacted.keys()], forks, async (i) => {
    const session = sessions[i]!;
    const name = contacted[i]!.name;
    try {
      await session.open(connect);
      remotes.set(name, new RemoteHost(name, session));
      if (opts.verbose) connects[i] = { check: 'connect', host: name, ok: true, detail: session.describeLogin() };
    } catch (err) {
      connects[i] = { check: 'connect', host: name, ok: false, detail: (err as Error).message };
    }
  });
  results.push(...connects.filter((c): c is CheckResult => c !== undefined));

  try {
    // services
    const webServices = (h: Host) => WEB_SERVICES.filter((s) => s !== 'registrator' || (h.vars.registrator as { enabled?: boolean } | undefined)?.enabled !== false);
    const vip = allLbs[0].vars.lb_vip;
    const lbServices = (h: Host) => (typeof vip === 'string' && vip !== '' ? [...LB_SERVICES[loadBalancerOf(h)], 'keepalived'] : LB_SERVICES[loadBalancerOf(h)]);
    const serverOnly = checkedServers.filter((h) => !lbs.includes(h) && !webs.includes(h));
    const serviceChecks: Array<{ host: Host; services: string[] }> = [
      ...lbs.map((host) => ({ host, services: lbServices(host) })),
      ...webs.map((host) => ({ host, services: webServices(host) })),
      ...serverOnly.map((host) => ({ host, services: ['consul'] })),
    ];
    const perHost: CheckResult[][] = serviceChecks.map(() => []);
    await eachLimit([...serviceChecks.keys()], forks, async (i) => {
      const { host, services } = serviceChecks[i]!;
      const remote = remotes.get(host.name);
      if (!remote) return;
      for (const service of services) {
        const r = await remote.serviceStatus(service);
        const state = (r.stdout.trim().split('\n')[0] || tail(r.stderr, 1)) ?? '';
        perHost[i]!.push({ check: `service ${service}`, host: host.name, ok: isActiveOutput(r.stdout), detail: state || `exit ${r.code}` });
      }
    });
    results.push(...perHost.flat());

    // container ports reach the apps only through the LB: none answers on a web node's public address
    const published: CheckResult[] = [];
    await eachLimit([...webs.keys()], forks, async (i) => {
      const remote = remotes.get(webs[i]!.name);
      if (remote) published[i] = await checkPublishedPorts(remote, webs[i]!);
    });
    results.push(...published.filter(Boolean));

    // consul membership and raft, seen from the first reachable consul server
    const lead = viewpoints.map((host) => remotes.get(host.name)).find(Boolean);
    if (lead) {
      if (checkedServers.length > 0) results.push(await checkRaft(lead, serverNames));
      const r = await lead.consulMembers();
      if (r.code !== 0) {
        results.push({ check: 'consul members', host: lead.name, ok: false, detail: `consul members exited ${r.code}: ${tail(r.stderr, 2)}` });
      } else {
        const members = parseConsulMembers(r.stdout);
        for (const host of everyChecked) {
          const member = members.find((m) => m.node === host.name);
          results.push({
            check: 'consul member',
            host: host.name,
            ok: member?.status === 'alive',
            detail: member ? `${member.status} (${member.type}, ${member.address})` : 'not a member of the cluster',
          });
        }
      }
    }

    for (const lb of lbs) {
      const remote = remotes.get(lb.name);
      if (!remote) continue;
      const haproxy = loadBalancerOf(lb) === 'haproxy';
      const r = haproxy ? await remote.haproxyCheck() : await remote.nginxTest();
      results.push({ check: haproxy ? 'haproxy -c' : 'nginx -t', host: lb.name, ok: r.code === 0, detail: r.code === 0 ? 'configuration valid' : tail(r.stderr || r.stdout, 3) });
    }

    // an app is checked through the LBs in the limit
    for (const app of lbs.length > 0 ? apps : []) {
      let instances: string[] = [];
      if (lead) {
        const r = await lead.healthyInstances(app.name);
        try {
          if (r.code !== 0) throw new Error(`curl exited ${r.code}: ${tail(r.stderr, 2)}`);
          instances = parseHealthInstances(r.stdout);
          const origins = parseInstanceOrigins(r.stdout);
          results.push({ check: 'registered in consul', app: app.name, ok: instances.length > 0, detail: instances.length ? `${instances.length} healthy: ${origins.join(', ')}` : 'no healthy instance' });
        } catch (err) {
          results.push({ check: 'registered in consul', app: app.name, ok: false, detail: (err as Error).message });
        }
      }
      for (const lb of lbs) {
        const remote = remotes.get(lb.name);
        if (!remote) continue;
        const haproxy = loadBalancerOf(lb) === 'haproxy';
        results.push(await (haproxy ? checkHaproxyServers(remote, app, instances) : checkUpstream(remote, app, instances)));
        results.push(...(await checkTraffic(remote, lb, app, instances, requests, opts, haproxy ? haproxySpread : nginxSpread)));
      }
    }
    // which LB holds the floating address is only known looking at all of them
    if (typeof vip === 'string' && vip !== '' && lbs.length === allLbs.length) results.push(...(await checkVip(vip, lbs, remotes, apps, opts)));
  } finally {
    await Promise.all(sessions.map((s) => s.transport?.close().catch(() => undefined)));
  }
  return results;
}

async function checkUpstream(remote: RemoteHost, app: App, instances: string[]): Promise<CheckResult> {
  const base = { check: 'nginx upstream', host: remote.name, app: app.name };
  const r = await remote.readFile(appConfFile(app.name));
  if (r.code !== 0) return { ...base, ok: false, detail: `${appConfFile(app.name)} not rendered: ${tail(r.stderr, 1)}` };
  const upstream = parseUpstreamServers(r.stdout, app.name);
  if (!upstream.found) return { ...base, ok: false, detail: `no upstream ${app.name} in ${appConfFile(app.name)}` };
  if (instances.length === 0) {
    return { ...base, ok: upstream.placeholder && upstream.servers.length === 0, detail: upstream.placeholder ? 'placeholder only (no healthy instance)' : `lists ${list(upstream.servers)} but consul has none` };
  }
  const ok = same(upstream.servers, instances);
  return { ...base, ok, detail: ok ? `lists exactly ${list(instances)}` : `lists ${list(upstream.servers)}, consul has ${list(instances)}` };
}

async function checkHaproxyServers(remote: RemoteHost, app: App, instances: string[]): Promise<CheckResult> {
  const base = { check: 'haproxy servers', host: remote.name, app: app.name };
  const r = await remote.haproxyRuntime(`show servers state ${app.name}`);
  let up: string[];
  try {
    if (r.code !== 0) throw new Error(`runtime API: socat exited ${r.code}: ${tail(r.stderr, 1)}`);
    const servers = parseServersState(r.stdout, app.name);
    if (servers.length === 0) throw new Error(`no backend ${app.name} in the runtime API`);
    up = upServers(pushedSlots(servers, app.name));
  } catch (err) {
    return { ...base, ok: false, detail: (err as Error).message };
  }
  if (instances.length === 0) return { ...base, ok: up.length === 0, detail: up.length ? `${list(up)} up but consul has no healthy instance` : 'no server up (no healthy instance): answers 503' };
  const ok = same(up, instances);
  return { ...base, ok, detail: ok ? `up: exactly ${list(instances)}` : `up: ${list(up)}, consul has ${list(instances)}` };
}

/** Which backends served the probe requests: `served` runs after them, `start` before. */
interface Spread {
  start(remote: RemoteHost, app: App): Promise<unknown>;
  served(remote: RemoteHost, app: App, marker: string, before: unknown, requests: number): Promise<{ perRequest: string[][] } | { error: string }>;
}

/** nginx: the access log's upstream= of the requests carrying the marker. */
const nginxSpread: Spread = {
  start: async () => undefined,
  async served(remote, app, marker, _before, requests) {
    const log = await remote.accessLogTail(app.name, Math.max(500, requests * 10));
    const perRequest = parseUpstreamAddrs(log.stdout, marker);
    if (perRequest.length === 0) return { error: `none of the requests found in the access log${log.code !== 0 ? `: ${tail(log.stderr, 1)}` : ''}` };
    return { perRequest };
  },
};

/** haproxy: growth of each server's session counter (`show stat`) over the probe requests; other traffic at the same time counts too. */
const haproxySpread: Spread = {
  async start(remote, app) {
    const r = await remote.haproxyRuntime(`show stat ${app.name} 4 -1`);
    try {
      return parseServerSessions(r.stdout, app.name);
    } catch {
      return new Map<string, number>();
    }
  },
  async served(remote, app, _marker, before) {
    const r = await remote.haproxyRuntime(`show stat ${app.name} 4 -1`);
    let after: Map<string, number>;
    try {
      if (r.code !== 0) throw new Error(`runtime API: socat exited ${r.code}: ${tail(r.stderr, 1)}`);
      after = parseServerSessions(r.stdout, app.name);
    } catch (err) {
      return { error: (err as Error).message };
    }
    const perRequest: string[][] = [];
    for (const [addr, sessions] of after) {
      for (let i = (before as Map<string, number>).get(addr) ?? 0; i < sessions; i++) perRequest.push([addr]);
    }
    if (perRequest.length === 0) return { error: 'no server session counter grew during the requests' };
    return { perRequest };
  },
};

async function checkTraffic(remote: RemoteHost, lb: Host, app: App, instances: string[], requests: number, opts: VerifyOptions, spread: Spread): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const hostName = app.server_name[0];
  const marker = `bootstrap-verify/${randomBytes(6).toString('hex')}`;
  const base: Omit<Probe, 'scheme' | 'port'> = { address: lb.address, hostName, userAgent: marker, timeoutMs: opts.timeoutMs ?? 10_000 };
  const httpPort = opts.httpPort ?? 80;
  const httpsPort = opts.httpsPort ?? 443;
  const where = { host: lb.name, app: app.name };

  const first = await probe({ ...base, scheme: 'http', port: httpPort }).catch((err: Error) => err);
  if (app.tls) {
    const redirected = !(first instanceof Error) && first.status === 301 && (first.location ?? '').startsWith(`https://${hostName}`);
    out.push({ check: 'http -> https', ...where, ok: redirected, detail: first instanceof Error ? first.message : `${first.status}${first.location ? ` to ${first.location}` : ''}` });
  }
  const scheme = app.tls ? 'https' : 'http';
  const port = app.tls ? httpsPort : httpPort;
  const before = await spread.start(remote, app);
  const statuses: number[] = [];
  let failure: string | undefined;
  let fingerprint: string | undefined;
  let presented: SeenCertificate | undefined;
  for (let i = 0; i < requests && !failure; i++) {
    try {
      const r = await probe({ ...base, scheme, port });
      statuses.push(r.status);
      fingerprint ??= r.certFingerprint;
      presented ??= r.certValidTo ? { validTo: r.certValidTo, altNames: r.certAltNames } : undefined;
    } catch (err) {
      failure = (err as Error).message;
    }
  }
  const good = statuses.filter((s) => s >= 200 && s < 300).length;
  out.push({
    check: scheme,
    ...where,
    ok: !failure && good === statuses.length && good > 0,
    detail: failure ?? `${good}/${statuses.length} answered 2xx${good < statuses.length ? ` (got ${[...new Set(statuses)].join(', ')})` : ''} for Host ${hostName}`,
  });
  if (app.tls === 'acme') {
    const warningDays = (lb.vars.acme as { expiry_warning_days?: number } | undefined)?.expiry_warning_days ?? 14;
    out.push(acmeCertificateCheck(app, presented, where, warningDays));
  } else if (app.tls) out.push(certificateCheck(app, fingerprint, where));

  const seen = await spread.served(remote, app, marker, before, requests);
  const served = 'perRequest' in seen ? seen.perRequest : [];
  const used = [...new Set(served.flat())].sort();
  const unknown = used.filter((addr) => !instances.includes(addr));
  let ok: boolean;
  let detail: string;
  if ('error' in seen) {
    ok = false;
    detail = seen.error;
  } else if (app.balance === 'ip_hash') {
    // one client address always maps to the same backend
    ok = used.length > 0 && unknown.length === 0;
    detail = `ip_hash: served by ${list(used)}`;
  } else {
    const missed = instances.filter((addr) => !used.includes(addr));
    ok = missed.length === 0 && unknown.length === 0;
    detail = `${served.length} requests served by ${list(used)}${missed.length ? `; never ${list(missed)}` : ''}${unknown.length ? `; not registered: ${list(unknown)}` : ''}`;
  }
  out.push({ check: 'spread over backends', ...where, ok, detail });
  return out;
}

function certificateCheck(app: App, fingerprint: string | undefined, where: { host: string; app: string }): CheckResult {
  const base = { check: 'certificate', ...where };
  if (!fingerprint) return { ...base, ok: false, detail: 'no certificate seen' };
  const own = typeof app.tls === 'object' ? app.tls.cert : undefined;
  if (!own) return { ...base, ok: false, detail: 'the app has no certificate file to compare with' };
  try {
    const expected = new X509Certificate(readFileSync(own)).fingerprint256;
    return { ...base, ok: expected === fingerprint, detail: expected === fingerprint ? "the app's certificate" : `a different certificate (${fingerprint.slice(0, 23)}...)` };
  } catch (err) {
    return { ...base, ok: false, detail: `cannot read ${own}: ${(err as Error).message}` };
  }
}
