import type { Fact } from '../facts/types.js';
import { publishedPortsFact } from '../facts/docker.js';
import type { Host, Inventory } from '../inventory/types.js';
import type { ExecResult, Transport } from '../transport/types.js';
import { haproxyServersCheck, lbConfigCheck, memberChecks, registeredCheck, serviceCheck, upstreamCheck, type App } from './checks.js';
import { floatingAddressCheck, floatingAddressProbes, raftCheck } from './cluster.js';
import { appConfFact, consulMembersFact, haproxyCheckFact, haproxyRuntimeFact, healthyInstancesFact, ipv4AddressesFact, nginxTestFact, raftConfigurationFact, serviceStatusFact } from './facts.js';
import { HostReads } from './host-reads.js';
import { publishedPortsResult } from './published-ports.js';
import { haproxySpread, nginxSpread, probeThrough, spreadCheck, type Probed, type Served, type Spread } from './traffic.js';
import { consulServers } from '../stack/topology.js';
import { eachLimit } from '../host/pool.js';
import { HostSession } from '../host/session.js';
import type { CheckResult, VerifyOptions } from './types.js';

export type { CheckResult, VerifyOptions } from './types.js';

type LoadBalancer = 'nginx' | 'haproxy';
const LB_SERVICES: Record<LoadBalancer, string[]> = { nginx: ['consul', 'consul-template', 'nginx'], haproxy: ['consul', 'haproxy', 'haproxy-servers'] };
const loadBalancerOf = (host: Host): LoadBalancer => (host.vars.load_balancer === 'haproxy' ? 'haproxy' : 'nginx');
const WEB_SERVICES = ['consul', 'docker', 'registrator'];

/** Who is checked, and what is read where: a pure function of the inventory and the options. */
function scopeOf(inventory: Inventory, opts: VerifyOptions) {
  const limited = opts.hosts ? new Set(opts.hosts) : undefined;
  const checked = (host: Host) => !limited || limited.has(host.name);
  const hostsOf = (group: string) => (inventory.groups.get(group) ?? []).map((name) => inventory.hosts.get(name)!).filter(Boolean);
  const allLbs = hostsOf('lb');
  const lbs = allLbs.filter(checked);
  const webs = hostsOf('web').filter(checked);
  const apps = (allLbs[0]?.vars.apps ?? []) as App[];
  const serverNames = consulServers(inventory);
  const servers = serverNames.map((name) => inventory.hosts.get(name)!);
  const checkedServers = servers.filter(checked);
  // the cluster's view (members, registrations) is read on a consul server: one in the limit, else any
  const viewpoints = checkedServers.length > 0 ? checkedServers : servers;
  const everyChecked = [...new Set([...lbs, ...checkedServers, ...webs])];
  const vip = allLbs[0]?.vars.lb_vip;
  const floating = typeof vip === 'string' && vip !== '' ? vip.split('/')[0]! : undefined;
  const webServices = (h: Host) => WEB_SERVICES.filter((s) => s !== 'registrator' || (h.vars.registrator as { enabled?: boolean } | undefined)?.enabled !== false);
  const lbServices = (h: Host) => (floating ? [...LB_SERVICES[loadBalancerOf(h)], 'keepalived'] : LB_SERVICES[loadBalancerOf(h)]);
  const serverOnly = checkedServers.filter((h) => !lbs.includes(h) && !webs.includes(h));
  const services: Array<{ host: Host; services: string[] }> = [
    ...lbs.map((host) => ({ host, services: lbServices(host) })),
    ...webs.map((host) => ({ host, services: webServices(host) })),
    ...serverOnly.map((host) => ({ host, services: ['consul'] })),
  ];
  // which LB holds the floating address is only known looking at all of them
  const vipChecked = floating !== undefined && lbs.length === allLbs.length;
  const appsChecked = lbs.length > 0 ? apps : [];
  return { allLbs, lbs, webs, apps, appsChecked, serverNames, checkedServers, viewpoints, everyChecked, floating, vipChecked, services, contacted: [...new Set([...everyChecked, ...viewpoints])] };
}
type Scope = ReturnType<typeof scopeOf>;

const spreadOf = (lb: Host): Spread => (loadBalancerOf(lb) === 'haproxy' ? haproxySpread : nginxSpread);

/** The cluster's view, read on the lead consul server. */
function clusterFacts(scope: Scope): Fact<unknown>[] {
  return [...(scope.checkedServers.length > 0 ? [raftConfigurationFact()] : []), consulMembersFact(), ...scope.appsChecked.map((app) => healthyInstancesFact(app.name))];
}

/** Everything read on `host` before any request goes out: one fact batch. */
function factsOf(host: Host, scope: Scope): Fact<unknown>[] {
  const facts: Fact<unknown>[] = scope.services.filter((s) => s.host === host).flatMap((s) => s.services.map(serviceStatusFact));
  if (scope.webs.includes(host)) facts.push(publishedPortsFact);
  if (host === scope.viewpoints[0]) facts.push(...clusterFacts(scope));
  if (scope.lbs.includes(host)) {
    const haproxy = loadBalancerOf(host) === 'haproxy';
    facts.push(haproxy ? haproxyCheckFact() : nginxTestFact());
    for (const app of scope.appsChecked) facts.push(haproxy ? haproxyRuntimeFact(`show servers state ${app.name}`) : appConfFact(app.name), ...spreadOf(host).before(app));
    if (scope.vipChecked) facts.push(ipv4AddressesFact());
  }
  return facts;
}

/** A check of what was read on a host; a host whose facts could not be read fails it with the reason. */
function onHost(base: Omit<CheckResult, 'ok' | 'detail'>, check: () => CheckResult): CheckResult {
  try {
    return check();
  } catch (err) {
    return { ...base, ok: false, detail: (err as Error).message };
  }
}

type Reads = Map<string, HostReads>;

/** Connects to every host to contact, reading its facts in the same round trip; a `connect` line for each failure (and each success with -v). */
async function connectAndRead(scope: Scope, connect: (host: Host) => Promise<Transport>, opts: VerifyOptions, sessions: HostSession[]): Promise<{ reads: Reads; connects: CheckResult[] }> {
  const reads: Reads = new Map();
  const connects: Array<CheckResult | undefined> = [];
  await eachLimit([...scope.contacted.keys()], opts.forks ?? 20, async (i) => {
    const session = sessions[i]!;
    const host = scope.contacted[i]!;
    const facts = factsOf(host, scope);
    try {
      await session.open(connect, () => ({ plain: [], elevated: facts }));
      if (opts.verbose) connects[i] = { check: 'connect', host: host.name, ok: true, detail: session.describeLogin() };
    } catch (err) {
      connects[i] = { check: 'connect', host: host.name, ok: false, detail: (err as Error).message };
      return;
    }
    const read = new HostReads(host.name, session);
    await read.gather(facts);
    reads.set(host.name, read);
  });
  return { reads, connects: connects.filter((c): c is CheckResult => c !== undefined) };
}

/** Services, published ports, the cluster as `lead` sees it, and each LB's configuration check: all from what was read. */
function hostChecks(scope: Scope, reads: Reads, lead: HostReads | undefined): CheckResult[] {
  const results: CheckResult[] = [];
  for (const { host, services } of scope.services) {
    const read = reads.get(host.name);
    if (read) results.push(...services.map((service) => onHost({ check: `service ${service}`, host: host.name }, () => serviceCheck(host.name, service, read.read(serviceStatusFact(service))))));
  }
  // container ports reach the apps only through the LB: none answers on a web node's public address
  for (const web of scope.webs) {
    const read = reads.get(web.name);
    if (read) results.push(onHost({ check: 'published ports', host: web.name }, () => publishedPortsResult(web, read.read(publishedPortsFact))));
  }
  if (lead) {
    if (scope.checkedServers.length > 0) results.push(onHost({ check: 'consul raft', host: lead.name }, () => raftCheck(lead.name, lead.read(raftConfigurationFact()), scope.serverNames)));
    try {
      results.push(...memberChecks(lead.name, lead.read(consulMembersFact()), scope.everyChecked.map((h) => h.name)));
    } catch (err) {
      results.push({ check: 'consul members', host: lead.name, ok: false, detail: (err as Error).message });
    }
  }
  for (const lb of scope.lbs.filter((h) => reads.has(h.name))) {
    const haproxy = loadBalancerOf(lb) === 'haproxy';
    const read = reads.get(lb.name)!;
    results.push(onHost({ check: haproxy ? 'haproxy -c' : 'nginx -t', host: lb.name }, () => lbConfigCheck(lb.name, haproxy, read.read(haproxy ? haproxyCheckFact() : nginxTestFact()))));
  }
  return results;
}

/**
 * Each app through the LBs in the limit: registered in consul, what each LB balances over, and
 * requests from here. Which backends served the requests is read on each LB once every request
 * went out (one round trip per LB), then judged in the order of the table.
 */
async function appChecks(scope: Scope, reads: Reads, lead: HostReads | undefined, opts: VerifyOptions): Promise<CheckResult[]> {
  const requests = opts.requests ?? 20;
  const results: CheckResult[] = [];
  const lbs = scope.lbs.filter((lb) => reads.has(lb.name));
  const spreads: Array<{ at: number; lb: Host; app: App; instances: string[]; probed: Probed; before: ExecResult | undefined }> = [];
  for (const app of scope.appsChecked) {
    let instances: string[] = [];
    if (lead) {
      try {
        const registered = registeredCheck(app, lead.read(healthyInstancesFact(app.name)));
        results.push(registered.result);
        instances = registered.instances;
      } catch (err) {
        results.push({ check: 'registered in consul', app: app.name, ok: false, detail: (err as Error).message });
      }
    }
    for (const lb of lbs) {
      const read = reads.get(lb.name)!;
      const haproxy = loadBalancerOf(lb) === 'haproxy';
      results.push(
        onHost({ check: haproxy ? 'haproxy servers' : 'nginx upstream', host: lb.name, app: app.name }, () =>
          haproxy ? haproxyServersCheck(lb.name, app, read.read(haproxyRuntimeFact(`show servers state ${app.name}`)), instances) : upstreamCheck(lb.name, app, read.read(appConfFact(app.name)), instances),
        ),
      );
      const probed = await probeThrough(lb, app, requests, opts);
      results.push(...probed.results);
      // the same fact is read again after the requests: keep what it said before them
      spreads.push({ at: results.length, lb, app, instances, probed, before: readOrUndefined(read, spreadOf(lb).before(app)[0]) });
    }
  }
  if (spreads.length === 0) return results;
  await eachLimit(lbs, opts.forks ?? 20, (lb) => reads.get(lb.name)!.gatherAgain(scope.appsChecked.map((app) => spreadOf(lb).after(app, requests))));
  // inserted from the last, so the earlier positions hold
  for (const { at, lb, app, instances, probed, before } of spreads.reverse()) {
    const spread = spreadOf(lb);
    const read = reads.get(lb.name)!;
    let seen: Served;
    try {
      seen = spread.served(app, probed.marker, before, read.read(spread.after(app, requests)));
    } catch (err) {
      seen = { error: (err as Error).message };
    }
    results.splice(at, 0, spreadCheck(lb.name, app, instances, seen));
  }
  return results;
}

/**
 * End-to-end checks of a deployed stack: consul membership, services, registrations, what each LB
 * balances over (nginx: the rendered upstreams; haproxy: the servers up in its runtime API), the
 * LB's configuration check, and HTTP(S) through every LB from here, spread over every backend.
 *
 * Each host is read in one fact batch, in the round trip that connects (a login user that is not
 * root: one more, through sudo); an LB once more after the requests, for which backends served
 * them. The checks are pure functions of those facts.
 */
export async function verifyStack(inventory: Inventory, connect: (host: Host) => Promise<Transport>, opts: VerifyOptions = {}): Promise<CheckResult[]> {
  const scope = scopeOf(inventory, opts);
  if (scope.allLbs.length === 0) return [{ check: 'inventory', ok: false, detail: 'no host in group lb' }];
  const sessions = scope.contacted.map((host) => new HostSession(host));
  try {
    const { reads, connects } = await connectAndRead(scope, connect, opts, sessions);
    // the cluster's view, from the first reachable consul server: read with its other facts,
    // unless an earlier one was unreachable (then one round trip more)
    const leadHost = scope.viewpoints.find((host) => reads.has(host.name));
    const lead = leadHost && reads.get(leadHost.name)!;
    await lead?.gather(clusterFacts(scope));
    const results = [...connects, ...hostChecks(scope, reads, lead)];
    // which LB holds the floating address is read before the requests, like everything else
    const floating = scope.vipChecked ? floatingAddressCheck(scope.floating!, scope.lbs.map((lb) => ({ lb: lb.name, r: readOrUndefined(reads.get(lb.name), ipv4AddressesFact()) }))) : undefined;
    results.push(...(await appChecks(scope, reads, lead, opts)));
    if (floating) results.push(floating, ...(await floatingAddressProbes(scope.floating!, scope.apps, opts)));
    return results;
  } finally {
    await Promise.all(sessions.map((s) => s.transport?.close().catch(() => undefined)));
  }
}

function readOrUndefined<T>(read: HostReads | undefined, fact: Fact<T> | undefined): T | undefined {
  if (!read || !fact) return undefined;
  try {
    return read.read(fact);
  } catch {
    return undefined;
  }
}
