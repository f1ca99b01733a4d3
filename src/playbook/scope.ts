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
  return { ...inventoryScope(inv, hostName, playVars), facts, ...extra };
}

const inventoryScopes = new WeakMap<Inventory, Map<string, WeakMap<Record<string, unknown>, Record<string, unknown>>>>();

/**
 * The part of a host's scope the inventory and the play's vars make: merged once per host and play
 * (the inventory is not changed once loaded and -e applied), so every task of a run, and offline
 * validation, sees the same values: the task walk's memo (playbook/expansions.ts) compares them by identity.
 */
function inventoryScope(inv: Inventory, hostName: string, playVars: Record<string, unknown>): Record<string, unknown> {
  let byHost = inventoryScopes.get(inv);
  if (!byHost) inventoryScopes.set(inv, (byHost = new Map()));
  let byPlay = byHost.get(hostName);
  if (!byPlay) byHost.set(hostName, (byPlay = new WeakMap()));
  let scope = byPlay.get(playVars);
  if (scope) return scope;
  const host = inv.hosts.get(hostName);
  if (!host) throw new Error(`hostScope: no host ${hostName} in ${inv.file}`);
  scope = {
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
    groups: groupsOf(inv),
  };
  byPlay.set(playVars, scope);
  return scope;
}

const groupLists = new WeakMap<Inventory, Record<string, GroupMember[]>>();

function groupsOf(inv: Inventory): Record<string, GroupMember[]> {
  let groups = groupLists.get(inv);
  if (groups) return groups;
  groups = {};
  for (const [group, members] of inv.groups) {
    groups[group] = members.map((name) => {
      const member = inv.hosts.get(name)!;
      return { name, address: member.address, private_address: member.privateAddress, vars: member.vars };
    });
  }
  groupLists.set(inv, groups);
  return groups;
}
