import type { Field } from '../schema/types.js';
import type { Inventory } from './types.js';

/** What the layer above (the stack) brings to reading an inventory, so that inventory/ need not import it. */
export interface InventoryRules {
  /** every variable the tool reads: validated, defaulted and its local files resolved; any other name is the user's own (unless it looks like a typo of one of these) */
  vars: Record<string, Field>;
  /** fills in what the layer above derives once hosts and groups are read (the consul_servers group) */
  complete(inventory: Inventory): void;
}
