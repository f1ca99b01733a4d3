import { stringify } from 'yaml';
import { connector } from '../../host/connect.js';
import type { SshOptions } from '../../host/connect.js';
import { ExitCode, UnreachableError } from '../../errors.js';
import { limitedHosts, loadInventoryWith } from '../load-run.js';
import { eachLimit } from '../../host/pool.js';
import type { Redactor } from '../../secrets/redactor.js';
import { HostSession } from '../../host/session.js';

export interface FactsOptions extends SshOptions {
  limit?: string;
  extraVars?: string[];
  output: 'text' | 'json';
  verbose: boolean;
  forks: number;
}

/**
 * `bootstrap facts`: connects to each host, gathers its facts in one round trip, prints them
 * (through the redactor, like every output). -v adds, on stderr, how each host was reached.
 */
export async function gatherFacts(inventoryFile: string, opts: FactsOptions, redactor: Redactor): Promise<number> {
  const inventory = loadInventoryWith(inventoryFile, opts.extraVars);
  const names = limitedHosts(inventory, opts.limit);
  const connect = connector(inventory, opts);
  const found: Record<string, unknown> = {};
  const reached: Record<string, string> = {};
  let unreachable = false;
  await eachLimit(names, opts.forks, async (name) => {
    const session = new HostSession(inventory.hosts.get(name)!);
    const started = Date.now();
    try {
      await session.open(connect);
      found[name] = session.facts;
      reached[name] = `${name}: ${session.describeLogin()}`;
    } catch (error) {
      unreachable = true;
      found[name] = { unreachable: error instanceof UnreachableError ? error.message : (error as Error).message };
      reached[name] = `${name}: not reached after ${Date.now() - started} ms`;
    } finally {
      await session.transport?.close();
    }
  });
  const ordered = Object.fromEntries(names.map((n) => [n, found[n]]));
  process.stdout.write(redactor.text(opts.output === 'json' ? `${JSON.stringify(ordered, null, 2)}\n` : stringify(ordered)));
  if (opts.verbose) for (const name of names) console.error(redactor.text(reached[name]!));
  return unreachable ? ExitCode.UNREACHABLE : ExitCode.OK;
}
