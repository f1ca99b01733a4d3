import { ConfigError, ConfigErrors } from '../errors.js';
import type { Inventory } from '../inventory/types.js';
import { applyExtraVars, loadInventory } from '../stack/inventory.js';
import { selectHosts, splitPattern } from '../inventory/pattern.js';
import { targetHosts } from '../playbook/targets.js';
import { getModule } from '../modules/index.js';
import { loadPlaybooks } from '../playbook/load-playbooks.js';
import type { Play } from '../playbook/types.js';
import { checkAcmeApps } from '../stack/acme.js';
import { checkServerCount, SERVER_GROUP } from '../stack/topology.js';
import { limitMatchesNothing, validateRun } from './validate-run.js';
import type { Expansions } from '../playbook/expansions.js';
import { checkLaptopArtifacts, laptopArtifacts } from '../artifacts/laptop.js';
import { parseExtraVars } from '../inventory/extra-vars.js';

/** What a run is narrowed and fed with on the command line. */
export interface RunSelection {
  limit?: string;
  tags?: string[];
  skipTags?: string[];
  startAtTask?: string;
  /** raw -e/--extra-vars arguments */
  extraVars?: string[];
}

/** What validation leaves for the run: its task expansions (playbook/expansions.ts). */
export interface LoadShared {
  expansions?: Expansions;
}

export interface Loaded {
  inventory: Inventory;
  plays: Play[];
  /** the hosts the run may touch */
  hosts: string[];
  /** what the laptop builds before connecting, and how (shown by `validate`) */
  artifactNotes: string[];
}

/**
 * The inventory as every command sees it: -e/--extra-vars over every other source. The same
 * loader for apply, validate, facts and verify, so -e means the same everywhere.
 */
export function loadInventoryWith(inventoryFile: string, extraVars: readonly string[] = []): Inventory {
  const extra = parseExtraVars(extraVars);
  const inventory = loadInventory(inventoryFile);
  applyExtraVars(inventory, extra);
  return inventory;
}

/** The hosts --limit selects (every host without one); a pattern that matches none is bad input. */
export function limitedHosts(inventory: Inventory, limit: string | undefined): string[] {
  if (limit === undefined) return [...inventory.hosts.keys()];
  const hosts = selectHosts(inventory, limit);
  if (hosts.length === 0) throw new ConfigErrors([limitMatchesNothing(inventory, limit)]);
  return hosts;
}

/** Loads and validates everything a run needs. Throws ConfigErrors; never connects. */
export function loadRun(inventoryFile: string, playbooks: string[], opts: RunSelection, shared: LoadShared = {}): Loaded {
  const inventory = loadInventoryWith(inventoryFile, opts.extraVars);
  const plays = loadPlaybooks(playbooks, getModule);
  const hosts = targetHosts(inventory, plays, opts.limit);
  const artifacts = laptopArtifacts();
  const needs = checkLaptopArtifacts(inventory, hosts);
  // the bundled playbooks (and any that run Consul servers) need an odd number of them
  const serversPlayed = plays.some((play) => splitPattern(play.hosts).some((term) => term.replace(/^[!&]/, '') === SERVER_GROUP));
  const errors = [
    ...(serversPlayed ? checkServerCount(inventory) : []),
    ...checkAcmeApps(inventory),
    ...validateRun({ inventory, plays, modules: getModule, limit: opts.limit, tags: opts.tags, skipTags: opts.skipTags, startAtTask: opts.startAtTask, scopeExtra: { artifacts }, pending: artifacts.pending, expansions: shared.expansions }),
    ...needs.errors,
  ];
  if (errors.length) throw new ConfigErrors(errors);
  return { inventory, plays, hosts, artifactNotes: needs.notes };
}
