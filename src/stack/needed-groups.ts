import { ConfigError } from '../errors.js';
import { didYouMean } from '../schema/did-you-mean.js';
import { SERVER_GROUP } from './topology.js';
import { positionIn } from '../yaml/positions.js';
import { selectHosts, splitPattern } from '../inventory/pattern.js';
import type { Inventory } from '../inventory/types.js';

/** Something that runs on the hosts of a pattern: a play, or a command such as verify. */
export interface GroupUse {
  pattern: string;
  /** a play's name, or what else runs there (e.g. `bootstrap verify`) */
  by: { play: string } | string;
}

/** `plays "a", "b" and "c" run` / `bootstrap verify runs` */
function describeUsers(users: GroupUse['by'][]): string {
  const plays = users.filter((u): u is { play: string } => typeof u !== 'string').map((u) => JSON.stringify(u.play));
  const others = users.filter((u): u is string => typeof u === 'string');
  const parts = [...(plays.length ? [`${plays.length === 1 ? 'play' : 'plays'} ${andList(plays)}`] : []), ...others];
  return `${andList(parts)} ${plays.length + others.length === 1 ? 'runs' : 'run'}`;
}
const andList = (items: string[]) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

/**
 * Groups that plays (or a command) run on and the inventory lacks, or declares without a host,
 * reported against the inventory file: where the group is declared, else its `all.children` (or
 * `all`) key. A use is only looked at when its pattern selects no host. `explained` holds the
 * patterns a missing group accounts for, whose own "matches no host" error would only repeat it.
 */
export function missingGroups(inventory: Inventory, uses: readonly GroupUse[]): { errors: ConfigError[]; explained: Set<string> } {
  const needed = new Map<string, { users: GroupUse['by'][]; via?: string }>();
  const explained = new Set<string>();
  for (const use of uses) {
    if (selectHosts(inventory, use.pattern).length > 0) continue;
    for (const term of splitPattern(use.pattern).filter((t) => !t.startsWith('!') && !t.startsWith('&'))) {
      const group = missingGroupOf(inventory, term);
      if (!group) continue;
      explained.add(use.pattern);
      const entry = needed.get(group.name) ?? { users: [] };
      entry.via ??= group.via;
      if (!entry.users.includes(use.by)) entry.users.push(use.by);
      needed.set(group.name, entry);
    }
  }
  const errors = [...needed].map(([name, { users, via }]) => {
    const declared = inventory.locateGroup?.(name);
    const who = `${describeUsers(users)} on it${via ?? ''}`;
    if (declared) return new ConfigError(declared.pos, declared.keyPath, `group \`${name}\` has no host, and ${who}; list its hosts under ${declared.keyPath}.hosts`);
    const children = positionIn(inventory.file, 'all.children', 'key', positionIn(inventory.file, 'all', 'key'));
    const others = [...inventory.groups.keys()].filter((g) => g !== 'all' && g !== 'ungrouped' && g !== SERVER_GROUP);
    return new ConfigError(children, 'all.children', `the inventory has no group \`${name}\`, and ${who}; add all.children.${name}.hosts.<name>${didYouMean(name, others)}`);
  });
  return { errors, explained };
}

/** The group a plain pattern term asks for when it selects no host; undefined for a host name, a glob, or a group with hosts. */
function missingGroupOf(inventory: Inventory, term: string): { name: string; via?: string } | undefined {
  if (term === 'all' || term === '*' || /[*?[]/.test(term) || inventory.hosts.has(term)) return undefined;
  if ((inventory.groups.get(term) ?? []).length > 0) return undefined;
  // consul_servers defaults to the lb hosts (src/stack/topology.ts): what is missing is lb
  if (term === SERVER_GROUP && !inventory.locateGroup?.(SERVER_GROUP)) return { name: 'lb', via: ' (the Consul servers are the lb hosts unless the inventory declares a consul_servers group)' };
  return { name: term };
}
