import { tail } from '../errors.js';
import type { ExecResult } from '../transport/types.js';
import { list, type App } from './checks.js';
import { probe } from './http.js';
import { parseIpAddresses, parseRaftConfiguration } from './parse.js';
import type { CheckResult, VerifyOptions } from './types.js';

/** Raft as the leader sees it (read on `lead`): every inventory server a voter, no stranger, and a leader. */
export function raftCheck(lead: string, r: ExecResult, servers: string[]): CheckResult {
  const base = { check: 'consul raft', host: lead };
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

/** The floating address is held by exactly one LB; `addresses` is each LB's `ip -o -4 addr show`, undefined where it was not read. */
export function floatingAddressCheck(address: string, addresses: Array<{ lb: string; r: ExecResult | undefined }>): CheckResult {
  const holders: string[] = [];
  const unknown: string[] = [];
  for (const { lb, r } of addresses) {
    if (!r || r.code !== 0) unknown.push(lb);
    else if (parseIpAddresses(r.stdout).includes(address)) holders.push(lb);
  }
  return {
    check: 'floating address',
    ok: holders.length === 1,
    detail: `${address} held by ${list(holders)}${holders.length > 1 ? ' (more than one holder: VRRP adverts do not get through)' : ''}${unknown.length ? `; not known on ${list(unknown)}` : ''}`,
  };
}

/** Every app answers through the floating address. */
export async function floatingAddressProbes(address: string, apps: App[], opts: VerifyOptions): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const app of apps) {
    const scheme = app.tls ? 'https' : 'http';
    const port = app.tls ? (opts.httpsPort ?? 443) : (opts.httpPort ?? 80);
    const r = await probe({ scheme, address, port, hostName: app.server_name[0]!, userAgent: 'bootstrap-verify/vip', timeoutMs: opts.timeoutMs ?? 10_000 }).catch((e: Error) => e);
    const ok = !(r instanceof Error) && r.status >= 200 && r.status < 300;
    out.push({ check: `${scheme} via floating address`, app: app.name, ok, detail: r instanceof Error ? r.message : `${r.status} from ${address} for Host ${app.server_name[0]}` });
  }
  return out;
}
