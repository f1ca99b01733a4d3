import type { Inventory } from '../inventory/types.js';
import { selectHosts } from '../inventory/pattern.js';
import type { Play } from './types.js';

/** Hosts the run may touch: every host some play targets, narrowed by --limit. */
export function targetHosts(inventory: Inventory, plays: Play[], limit?: string, playHosts = playHostsOf(inventory, plays)): string[] {
  const allowed = limit ? new Set(selectHosts(inventory, limit)) : undefined;
  const names = new Set(plays.flatMap((p) => [...playHosts.get(p)!]));
  return [...names].filter((n) => !allowed || allowed.has(n));
}

/** Each play's hosts in the inventory, in inventory order (selectHosts of its `hosts:` pattern). */
export function playHostsOf(inventory: Inventory, plays: Play[]): Map<Play, Set<string>> {
  return new Map(plays.map((p) => [p, new Set(selectHosts(inventory, p.hosts))]));
}
