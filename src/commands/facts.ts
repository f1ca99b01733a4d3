import { stringify } from 'yaml';
import { connector } from '../connect.js';
import type { SshOptions } from '../connect.js';
import { ExitCode, UnreachableError } from '../errors.js';
import { loadInventory } from '../inventory/load.js';
import { selectHosts } from '../inventory/pattern.js';
import { eachLimit } from '../runner/pool.js';
import { HostSession } from '../runner/session.js';

/** `bootstrap facts`: connects to each host, gathers its facts in one round trip, prints them. */
export async function gatherFacts(
  inventoryFile: string,
  opts: SshOptions & { limit?: string; output: 'text' | 'json' },
  forks: number,
): Promise<number> {
  const inventory = loadInventory(inventoryFile);
  const names = opts.limit ? selectHosts(inventory, opts.limit) : [...inventory.hosts.keys()];
  const connect = connector(inventory, opts);
  const found: Record<string, unknown> = {};
  let unreachable = false;
  await eachLimit(names, forks, async (name) => {
    const session = new HostSession(inventory.hosts.get(name)!);
    try {
      await session.open(connect);
      found[name] = session.facts;
    } catch (error) {
      unreachable = true;
      found[name] = { unreachable: error instanceof UnreachableError ? error.message : (error as Error).message };
    } finally {
      await session.transport?.close();
    }
  });
  const ordered = Object.fromEntries(names.map((n) => [n, found[n]]));
  if (opts.output === 'json') console.log(JSON.stringify(ordered, null, 2));
  else process.stdout.write(stringify(ordered));
  return unreachable ? ExitCode.UNREACHABLE : ExitCode.OK;
}
