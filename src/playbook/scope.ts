import type { HostFacts } from '../facts/types.js';
import type { Inventory } from '../inventory/types.js';
import { deepMerge } from '../yaml/merge.js';

export interface GroupMember {
  name: string;
  address: string;
  private_address?: string;
  vars: Record<string, unknown>;
}

/**
 * What templates and when/loop expressions see for one host: play vars (defaults) < all < group < host vars,
 * plus inventory_hostname, host, groups, facts, and `extra` (e.g. secret) on top.
 */
export function hostScope(
  inv: Inventory,
  hostName: string,
  facts: HostFacts | undefined,
  playVars: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const host = inv.hosts.get(hostName);
  if (!host) throw new Error(`hostScope: no host ${hostName} in ${inv.file}`);
  const groups: Record<string, GroupMember[]> = {};
  for (const [group, members] of inv.groups) {
    groups[group] = members.map((name) => {
      const member = inv.hosts.get(name)!;
      return { name, address: member.address, private_address: member.privateAddress, vars: member.vars };
    });
  }
  return {
    ...(deepMerge(playVars, host.vars) as Record<string, unknown>),
    inventory_hostname: hostName,
    host: {
      name: host.name,
      address: host.address,
      port: host.port,
      user: host.user,
      private_address: host.privateAddress,
      groups: host.groups,
    },
    groups,
    facts,
    ...extra,
  };
}
