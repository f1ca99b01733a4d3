import type { SshOptions } from '../connect.js';
import { connector } from '../connect.js';
import { loadInventory } from '../inventory/load.js';
import { allPassed, formatCheckTable, verifyStack } from '../verify/index.js';
import type { CheckResult } from '../verify/index.js';

/** `bootstrap verify`: runs the end-to-end checks once; returns whether all passed. */
export async function verify(inventoryFile: string, opts: SshOptions & { requests: number; output: 'text' | 'json' }): Promise<boolean> {
  const results = await verifyOnce(inventoryFile, opts);
  console.log(opts.output === 'json' ? JSON.stringify(results, null, 2) : formatCheckTable(results));
  return allPassed(results);
}

export function verifyOnce(inventoryFile: string, opts: SshOptions & { requests?: number }): Promise<CheckResult[]> {
  const inventory = loadInventory(inventoryFile);
  return verifyStack(inventory, connector(inventory, opts), { requests: opts.requests });
}
