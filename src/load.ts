import { ConfigError, ConfigErrors } from './errors.js';
import type { Inventory } from './inventory/types.js';
import { loadInventory } from './inventory/load.js';
import { selectHosts, splitPattern } from './inventory/pattern.js';
import { getModule } from './modules/index.js';
import { loadPlaybooks } from './playbook/load.js';
import type { Play } from './playbook/types.js';
import { checkServerCount, SERVER_GROUP } from './stack/topology.js';
import { validateRun } from './validate.js';

export interface Loaded {
  inventory: Inventory;
  plays: Play[];
}

/** Loads and validates everything a run needs. Throws ConfigErrors; never connects. */
export function loadRun(inventoryFile: string, playbooks: string[], opts: { limit?: string; tags?: string[] }): Loaded {
  const inventory = loadInventory(inventoryFile);
  const plays = loadPlaybooks(playbooks, getModule);
  // the bundled playbooks (and any that run Consul servers) need an odd number of them
  const serversPlayed = plays.some((play) => splitPattern(play.hosts).some((term) => term.replace(/^[!&]/, '') === SERVER_GROUP));
  const errors = [...(serversPlayed ? checkServerCount(inventory) : []), ...validateRun({ inventory, plays, modules: getModule, limit: opts.limit, tags: opts.tags })];
  if (opts.limit && selectHosts(inventory, opts.limit).length === 0) {
    errors.push(new ConfigError({ file: '--limit' }, '', `pattern "${opts.limit}" matches no host of ${inventoryFile}`));
  }
  if (errors.length) throw new ConfigErrors(errors);
  return { inventory, plays };
}
