import { ConfigError, ConfigErrors } from './errors.js';
import type { Inventory } from './inventory/types.js';
import { loadInventory } from './inventory/load.js';
import { selectHosts } from './inventory/pattern.js';
import { getModule } from './modules/index.js';
import { loadPlaybooks } from './playbook/load.js';
import type { Play } from './playbook/types.js';
import { validateRun } from './validate.js';

export interface Loaded {
  inventory: Inventory;
  plays: Play[];
}

/** Loads and validates everything a run needs. Throws ConfigErrors; never connects. */
export function loadRun(inventoryFile: string, playbooks: string[], opts: { limit?: string; tags?: string[] }): Loaded {
  const inventory = loadInventory(inventoryFile);
  const plays = loadPlaybooks(playbooks, getModule);
  const errors = validateRun({ inventory, plays, modules: getModule, limit: opts.limit, tags: opts.tags });
  if (opts.limit && selectHosts(inventory, opts.limit).length === 0) {
    errors.push(new ConfigError({ file: '--limit' }, '', `pattern "${opts.limit}" matches no host of ${inventoryFile}`));
  }
  if (errors.length) throw new ConfigErrors(errors);
  return { inventory, plays };
}
