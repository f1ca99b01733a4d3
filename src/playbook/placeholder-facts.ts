import { isIP } from 'node:net';
import type { Inventory } from '../inventory/types.js';
import type { HostFacts } from '../facts/types.js';

/** Facts of a typical target, so templates and `when` expressions can be tried before connecting. */
export function placeholderFacts(inv: Inventory, hostName: string): HostFacts {
  const host = inv.hosts.get(hostName);
  const addresses = [host?.privateAddress, host?.address].filter((a): a is string => a !== undefined && isIP(a) === 4);
  return {
    hostname: hostName,
    os: { id: 'debian', version: '12', codename: 'bookworm', family: 'debian' },
    arch: 'amd64',
    init: 'systemd',
    user: 'root',
    isRoot: true,
    addresses,
    interfaces: Object.fromEntries(addresses.map((a, i) => [a, `eth${i}`])),
  };
}

const placeholderFactSets = new WeakMap<Inventory, Map<string, HostFacts>>();

/**
 * placeholderFacts, one object per host and inventory: offline validation expands with it, and the
 * run's first round trip speculates with it, so the two share those expansions (playbook/expansions.ts).
 */
export function placeholderFactsOf(inv: Inventory, hostName: string): HostFacts {
  let byHost = placeholderFactSets.get(inv);
  if (!byHost) placeholderFactSets.set(inv, (byHost = new Map()));
  let facts = byHost.get(hostName);
  if (!facts) byHost.set(hostName, (facts = placeholderFacts(inv, hostName)));
  return facts;
}

/** The placeholder facts handed out so far for this inventory (what cli/load-cache.ts keeps with validation's expansions). */
export function placeholderFactsHandedOut(inv: Inventory): Array<[string, HostFacts]> {
  return [...(placeholderFactSets.get(inv) ?? [])];
}

/** Makes these the placeholder facts of an inventory taken over from another process, so the expansions kept with them hold. */
export function adoptPlaceholderFacts(inv: Inventory, sets: ReadonlyArray<[string, HostFacts]>): void {
  placeholderFactSets.set(inv, new Map(sets));
}
