import { mergeExtraVars, type ExtraVars } from '../inventory/extra-vars.js';
import { readInventory } from '../inventory/read-inventory.js';
import type { InventoryRules } from '../inventory/rules.js';
import type { Inventory } from '../inventory/types.js';
import { toolVarsSchema } from '../inventory/vars-schema.js';
import type { Field } from '../schema/types.js';
import { addServerGroup } from './topology.js';
import { stackVarsSchema } from './vars-schema.js';

/** Variables this tool reads: its own and the stack's; any other top-level var name is the user's own (unless it looks like a typo of one of these). */
export const knownVarsSchema: Record<string, Field> = { ...toolVarsSchema, ...stackVarsSchema };

const stackRules: InventoryRules = { vars: knownVarsSchema, complete: addServerGroup };

/** An inventory of the stack: the stack's variables known, and `consul_servers` filled in from `lb` when not declared. */
export function loadInventory(inventoryFile: string): Inventory {
  return readInventory(inventoryFile, stackRules);
}

/** -e/--extra-vars over every host's variables, type-checked against the stack's known variables. */
export function applyExtraVars(inventory: Inventory, layers: readonly ExtraVars[]): void {
  mergeExtraVars(inventory, layers, knownVarsSchema);
}
