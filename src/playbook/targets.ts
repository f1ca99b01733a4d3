import type { Inventory } from '../inventory/types.js';
import { selectHosts } from '../inventory/pattern.js';
import type { Play } from './types.js';

/** Hosts the run may touch: every host some play targets, narrowed by --limit. */
export function targetHosts(inventory: Inventory, plays: Play[], limit?: string): string[] {
  const allowed = limit ? new Set(selectHosts(inventory, limit)) : undefined;
  const names = new Set(plays.flatMap((p) => selectHosts(inventory, p.hosts)));
  return [...names].filter((n) => !allowed || allowed.has(n));
}
