import { tail } from '../errors.js';
import type { Host } from '../inventory/types.js';
import { probe } from './http.js';
import { parseIpAddresses, parseRaftConfiguration } from './parse.js';
import type { RemoteHost } from './remote.js';
import type { CheckResult, VerifyOptions } from './types.js';

const list = (items: string[]) => (items.length ? items.join(', ') : 'none');

/** Raft as the leader sees it: every inventory server a voter, no stranger, and a leader. */
export async function checkRaft(lead: RemoteHost, servers: string[]): Promise<CheckResult> {
  const base = { check: 'consul raft', host: lead.name };
  const r = await lead.raftConfiguration();
  if (r.code !== 0) return { ...base, ok: false, detail: `no raft configuration (no leader?): ${tail(r.stderr, 1) || `curl exit ${r.code}`}` };
  let peers;
  try {
    peers = parseRaftConfiguration(r.stdout);
  } catch (err) {
    return { ...base, ok: false, detail: (err as Error).message };
  }
  const voters = peers.filter((p) => p.voter).map((p) => p.node).sort();
  const leader = peers.find((p) => p.leader)?.node;
  const missing = servers.filter((s) => !voters.includes(s));
  const strangers = peers.map((p) => p.node).filter((n) => !servers.includes(n));
  const ok = leader !== undefined && missing.length === 0 && strangers.length === 0;
  const problems = [missing.length ? `not voting: ${list(missing)}` : '', strangers.length ? `not in the inventory: ${list(strangers)}` : '', leader ? '' : 'no leader']
    .filter(Boolean)
    .join('; ');
  return { ...base, ok, detail: `${voters.length} voters (${list(voters)}), leader ${leader ?? 'none'}${problems ? `; ${problems}` : ''}` };
}

interface App {
  name: string;
  server_name: string[];
  tls?: unknown;
}

/** The floating address: held by exactly one LB, and every app answers through it. */
export async function checkVip(vip: string, lbs: Host[], remotes: Map<string, RemoteHost>, apps: App[], opts: VerifyOptions): Promise<CheckResult[]> {
  const address = vip.split('/')[0]!;
  const holders: string[] = [];
  const unknown: string[] = [];
  for (const lb of lbs) {
    const remote = remotes.get(lb.name);
    const r = remote ? await remote.ipv4Addresses() : undefined;
    if (!r || r.code !== 0) unknown.push(lb.name);
    else if (parseIpAddresses(r.stdout).includes(address)) holders.push(lb.name);
  }
  const out: CheckResult[] = [
    {
      check: 'floating address',
      ok: holders.length === 1,
      detail: `${address} held by ${list(holders)}${holders.length > 1 ? ' (more than one holder: VRRP adverts do not get through)' : ''}${unknown.length ? `; not known on ${list(unknown)}` : ''}`,
    },
  ];
  for (const app of apps) {
    const scheme = app.tls ? 'https' : 'http';
    const port = app.tls ? (opts.httpsPort ?? 443) : (opts.httpPort ?? 80);
    const r = await probe({ scheme, address, port, hostName: app.server_name[0]!, userAgent: 'bootstrap-verify/vip', timeoutMs: opts.timeoutMs ?? 10_000 }).catch((e: Error) => e);
    const ok = !(r instanceof Error) && r.status >= 200 && r.status < 300;
    out.push({ check: `${scheme} via floating address`, app: app.name, ok, detail: r instanceof Error ? r.message : `${r.status} from ${address} for Host ${app.server_name[0]}` });
  }
  return out;
}
