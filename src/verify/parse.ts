/** Parsers of what the verify commands print. Pure functions, so they are tested without a host. */

export interface ConsulMember {
  node: string;
  address: string;
  status: string;
  type: string;
}

/** `consul members` table: Node Address Status Type Build Protocol DC ... */
export function parseConsulMembers(stdout: string): ConsulMember[] {
  const lines = stdout.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0 || !/^Node\s+Address\s+Status/.test(lines[0])) return [];
  return lines.slice(1).map((line) => {
    const [node, address, status, type] = line.trim().split(/\s+/);
    return { node, address, status, type };
  });
}

/** Instances ("address:port") in a /v1/health/service/<name> answer; the service address, else the node's. */
export function parseHealthInstances(json: string): string[] {
  const entries = JSON.parse(json) as Array<{ Node: { Address: string }; Service: { Address: string; Port: number } }>;
  if (!Array.isArray(entries)) throw new Error('expected a JSON list from /v1/health/service');
  return entries.map((e) => `${e.Service.Address || e.Node.Address}:${e.Service.Port}`).sort();
}

/**
 * Where each healthy instance comes from: its consul node, and for registrator's service IDs
 * (`<docker host>:<container name>:<port>[:udp]`) the container, e.g.
 * "172.30.20.51:8081 from web1/demo-1 (registrator)".
 */
export function parseInstanceOrigins(json: string): string[] {
  const entries = JSON.parse(json) as Array<{ Node: { Node: string; Address: string }; Service: { ID: string; Address: string; Port: number } }>;
  if (!Array.isArray(entries)) throw new Error('expected a JSON list from /v1/health/service');
  return entries
    .map((e) => {
      const address = `${e.Service.Address || e.Node.Address}:${e.Service.Port}`;
      const registrator = /^([^:]+):([^:]+):\d+(:udp)?$/.exec(e.Service.ID);
      return registrator ? `${address} from ${e.Node.Node}/${registrator[2]} (registrator)` : `${address} from ${e.Node.Node} (service ${e.Service.ID})`;
    })
    .sort();
}

export interface UpstreamServers {
  servers: string[];
  /** the `server 127.0.0.1:65535 down;` placeholder of an app with no healthy instance */
  placeholder: boolean;
  found: boolean;
}

/** `server` lines of `upstream <name> { ... }` in a rendered nginx file. */
export function parseUpstreamServers(conf: string, name: string): UpstreamServers {
  const block = new RegExp(`^\\s*upstream\\s+${name.replace(/[-]/g, '\\-')}\\s*\\{([\\s\\S]*?)^\\s*\\}`, 'm').exec(conf);
  if (!block) return { servers: [], placeholder: false, found: false };
  const servers: string[] = [];
  let placeholder = false;
  for (const line of block[1].split('\n')) {
    const server = /^\s*server\s+(\S+?)(\s[^;]*)?;/.exec(line);
    if (!server) continue;
    if (server[1] === '127.0.0.1:65535' && /\bdown\b/.test(server[2] ?? '')) placeholder = true;
    else servers.push(server[1]);
  }
  return { servers: servers.sort(), placeholder, found: true };
}

/** Backends ($upstream_addr, "upstream=a:1, b:2" when nginx retried) of access-log lines carrying `marker`. */
export function parseUpstreamAddrs(logTail: string, marker: string): string[][] {
  return logTail
    .split('\n')
    .filter((line) => line.includes(marker))
    .map((line) => {
      const match = /upstream=(.*?) upstream_status=/.exec(line);
      if (!match) return [];
      // "a:1, b:2" after a retry, "a:1 : b:2" across internal redirects
      return match[1].split(/\s*,\s*|\s+:\s+/).filter((addr) => addr !== '' && addr !== '-');
    });
}

/** systemctl is-active, Upstart's status, or SysV's `service x status`, first line. */
export function isActiveOutput(stdout: string): boolean {
  const first = stdout.trim().split('\n')[0] ?? '';
  return /^active$/.test(first) || /start\/running/.test(first) || /is running/.test(first);
}

export interface RaftServer {
  node: string;
  address: string;
  leader: boolean;
  voter: boolean;
}

/** /v1/operator/raft/configuration: the raft peer set as the leader sees it. */
export function parseRaftConfiguration(json: string): RaftServer[] {
  const config = JSON.parse(json) as { Servers?: Array<{ Node: string; Address: string; Leader: boolean; Voter: boolean }> };
  if (!config || !Array.isArray(config.Servers)) throw new Error('expected {"Servers": [...]} from /v1/operator/raft/configuration');
  return config.Servers.map((s) => ({ node: s.Node, address: s.Address, leader: s.Leader, voter: s.Voter }));
}

/** IPv4 addresses in `ip -o -4 addr show` output. */
export function parseIpAddresses(stdout: string): string[] {
  return [...stdout.matchAll(/\binet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!);
}

export interface HaproxyServer {
  name: string;
  /** "address:port", or undefined while the slot has no address */
  addr?: string;
  /** srv_op_state: 0 down, 1 starting, 2 up, 3 stopping */
  opState: number;
  /** srv_admin_state mask: 0x01 forced maintenance, 0x20 maintenance for want of a DNS answer, ... */
  adminState: number;
}

/** `show servers state <backend>` (format 1) of the runtime API: one line per server slot. */
export function parseServersState(stdout: string, backend: string): HaproxyServer[] {
  const lines = stdout.split('\n');
  const header = lines.find((line) => line.startsWith('# be_id'));
  if (lines[0]?.trim() !== '1' || !header) throw new Error(`not a format-1 "show servers state" answer: ${JSON.stringify(stdout.slice(0, 120))}`);
  const columns = header.slice(2).trim().split(/\s+/);
  const col = (fields: string[], name: string) => fields[columns.indexOf(name)] ?? '';
  return lines
    .filter((line) => line.trim() !== '' && !line.startsWith('#') && line.trim() !== '1')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => col(fields, 'be_name') === backend)
    .map((fields) => {
      const address = col(fields, 'srv_addr');
      const port = col(fields, 'srv_port');
      return {
        name: col(fields, 'srv_name'),
        addr: address !== '-' && port !== '0' ? `${address}:${port}` : undefined,
        opState: Number(col(fields, 'srv_op_state')),
        adminState: Number(col(fields, 'srv_admin_state')),
      };
    });
}

/**
 * maintenance (forced, inherited, no DNS answer) and drain bits. 0x04 only records that the
 * configuration started the slot `disabled` (HAProxy's maintenance mask is 0x23), and 0x40 that
 * the FQDN came from an SRV record or the CLI.
 */
const ADMIN_NOT_SERVING = 0x01 | 0x02 | 0x08 | 0x10 | 0x20;

/** The slots haproxy-servers sets through the runtime API (<backend>-<n>); <backend>-dns-<n> are the DNS backups. */
export function pushedSlots(servers: HaproxyServer[], backend: string): HaproxyServer[] {
  return servers.filter((s) => s.name.startsWith(`${backend}-`) && /^\d+$/.test(s.name.slice(backend.length + 1)));
}

/** Servers taking traffic: up, and in no maintenance or drain state. */
export function upServers(servers: HaproxyServer[]): string[] {
  return servers.filter((s) => s.addr && s.opState === 2 && (s.adminState & ADMIN_NOT_SERVING) === 0).map((s) => s.addr!).sort();
}

/** `show stat` CSV: sessions so far (stot) per server address, of the servers of `backend`. */
export function parseServerSessions(csv: string, backend: string): Map<string, number> {
  const lines = csv.split('\n').filter((line) => line.trim() !== '');
  if (!lines[0]?.startsWith('# pxname,')) throw new Error(`not a "show stat" CSV answer: ${JSON.stringify(csv.slice(0, 120))}`);
  const columns = lines[0].slice(2).split(',');
  const [px, sv, stot, addr] = ['pxname', 'svname', 'stot', 'addr'].map((name) => columns.indexOf(name));
  const sessions = new Map<string, number>();
  for (const fields of lines.slice(1).map((line) => line.split(','))) {
    if (fields[px!] !== backend || fields[sv!] === 'BACKEND' || fields[sv!] === 'FRONTEND' || !fields[addr!]) continue;
    sessions.set(fields[addr!]!, (sessions.get(fields[addr!]!) ?? 0) + Number(fields[stot!] ?? 0));
  }
  return sessions;
}
