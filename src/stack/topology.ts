import { ConfigError } from '../errors.js';
import type { Inventory } from '../inventory/types.js';

/**
 * Which hosts are Consul servers. By default every `lb` host is one; an inventory may instead
 * declare a `consul_servers` group (servers that need not be load balancers). The group is then
 * what the playbooks, templates and `bootstrap verify` use, so it is filled in from `lb` when the
 * inventory has none.
 */
export const SERVER_GROUP = 'consul_servers';

export function consulServers(inventory: Inventory): string[] {
  const own = inventory.groups.get(SERVER_GROUP) ?? [];
  return own.length > 0 ? own : (inventory.groups.get('lb') ?? []);
}

/** Adds `consul_servers` (= the lb hosts) to an inventory that declares no such group. */
export function addServerGroup(inventory: Inventory): void {
  if ((inventory.groups.get(SERVER_GROUP) ?? []).length > 0) return;
  const servers = inventory.groups.get('lb') ?? [];
  inventory.groups.set(SERVER_GROUP, [...servers]);
  for (const name of servers) {
    const host = inventory.hosts.get(name)!;
    if (!host.groups.includes(SERVER_GROUP)) host.groups.push(SERVER_GROUP);
  }
}

/** Failures a cluster of n servers survives with a leader: raft needs a majority, floor(n/2)+1. */
export const toleratedFailures = (n: number) => Math.floor((n - 1) / 2);

/**
 * An even number of Consul servers is refused: raft needs a majority for a leader, so 2 servers
 * tolerate no failure (like 1) and 4 tolerate one (like 3), each with one more machine to fail.
 */
export function checkServerCount(inventory: Inventory): ConfigError[] {
  const servers = consulServers(inventory);
  const n = servers.length;
  if (n === 0 || n % 2 === 1) return [];
  const lb = inventory.groups.get('lb') ?? [];
  const group = lb.length === n && servers.every((s) => lb.includes(s)) ? 'lb' : SERVER_GROUP;
  const where = inventory.locate(servers[n - 1]!, '');
  const majority = Math.floor(n / 2) + 1;
  const same = n - 1;
  const tolerated = toleratedFailures(n);
  return [
    new ConfigError(
      where.pos,
      where.keyPath,
      `${n} Consul servers (${servers.join(', ')}, every host of group ${group}): raft needs a majority (${majority} of ${n}) to keep a leader, ` +
        `so ${n} servers tolerate ${tolerated === 0 ? 'no failure' : `${tolerated} failure`}, just like ${same}, with one more machine that can fail. ` +
        `Use an odd number (3 tolerate 1 failure, 5 tolerate 2): add or remove a host${group === 'lb' ? ', or list 3 or 5 hosts in a consul_servers group (the servers, which need not be load balancers)' : ''}`,
    ),
  ];
}
