import type { SshOptions } from '../../host/connect.js';
import { connector } from '../../host/connect.js';
import { ConfigErrors } from '../../errors.js';
import { missingGroups } from '../../stack/needed-groups.js';
import { limitedHosts, loadInventoryWith } from '../load-run.js';
import type { Redactor } from '../../secrets/redactor.js';
import { allPassed, formatCheckTable, verifyStack } from '../../verify/index.js';
import type { CheckResult } from '../../verify/index.js';

export interface VerifyCommandOptions extends SshOptions {
  requests?: number;
  limit?: string;
  extraVars?: string[];
  forks?: number;
  verbose?: boolean;
}

/** `bootstrap verify`: runs the end-to-end checks once and prints them (through the redactor); returns whether all passed. */
export async function verify(inventoryFile: string, opts: VerifyCommandOptions & { output: 'text' | 'json' }, redactor: Redactor): Promise<boolean> {
  const started = Date.now();
  const results = await verifyOnce(inventoryFile, opts);
  const text = opts.output === 'json' ? JSON.stringify(results, null, 2) : formatCheckTable(results) + (opts.verbose ? `checked in ${((Date.now() - started) / 1000).toFixed(1)} s\n` : '');
  console.log(redactor.text(text));
  return allPassed(results);
}

/** Validates (an inventory without lb hosts is bad input, before any connection), then checks once. */
export function verifyOnce(inventoryFile: string, opts: VerifyCommandOptions): Promise<CheckResult[]> {
  const inventory = loadInventoryWith(inventoryFile, opts.extraVars);
  const { errors } = missingGroups(inventory, [{ pattern: 'lb', by: 'bootstrap verify' }]);
  if (errors.length > 0) throw new ConfigErrors(errors);
  const hosts = opts.limit === undefined ? undefined : limitedHosts(inventory, opts.limit);
  return verifyStack(inventory, connector(inventory, opts), { requests: opts.requests, hosts, forks: opts.forks, verbose: opts.verbose });
}

/** Verification right after an apply waits for registrator and consul-template to catch up. */
export async function verifyUntilPassing(inventory: string, timeoutMs: number): Promise<CheckResult[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const results = await verifyOnce(inventory, { acceptNewHostKeys: false, requests: 20 });
    if (allPassed(results) || Date.now() > deadline) return results;
    await new Promise((r) => setTimeout(r, 3000));
  }
}
