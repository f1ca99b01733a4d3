import { closest } from '../schema/did-you-mean.js';
import type { Inventory } from './types.js';

/**
 * Hosts matched by an Ansible-style pattern, in inventory order. Terms are separated by `:` or `,`;
 * a term is `all`, `*`, a group, a host, or a glob (`web*`, `db?`) over group and host names.
 * `&term` intersects, `!term` excludes; plain terms are unioned first, as in Ansible.
 * A pattern matching nothing returns [] (the caller reports it).
 */
export function selectHosts(inv: Inventory, pattern: string): string[] {
  const terms = splitPattern(pattern);
  if (terms.length === 0) return [];
  const included = new Set<string>();
  const intersections: Set<string>[] = [];
  const excluded = new Set<string>();
  for (const term of terms) {
    if (term.startsWith('!')) for (const host of matchTerm(inv, term.slice(1))) excluded.add(host);
    else if (term.startsWith('&')) intersections.push(new Set(matchTerm(inv, term.slice(1))));
    else for (const host of matchTerm(inv, term)) included.add(host);
  }
  // a pattern of only exclusions/intersections starts from all hosts
  const start = terms.some((term) => !term.startsWith('!') && !term.startsWith('&')) ? included : new Set(inv.hosts.keys());
  return [...inv.hosts.keys()].filter((host) => start.has(host) && intersections.every((set) => set.has(host)) && !excluded.has(host));
}

export function splitPattern(pattern: string): string[] {
  return pattern
    .split(/[:,]/)
    .map((term) => term.trim())
    .filter((term) => term !== '');
}

function matchTerm(inv: Inventory, term: string): string[] {
  if (term === 'all' || term === '*') return [...inv.hosts.keys()];
  if (/[*?[]/.test(term)) {
    const glob = globToRegExp(term);
    const out = new Set<string>();
    for (const [group, hosts] of inv.groups) if (glob.test(group)) for (const host of hosts) out.add(host);
    for (const host of inv.hosts.keys()) if (glob.test(host)) out.add(host);
    return [...out];
  }
  const group = inv.groups.get(term);
  if (group) return group;
  return inv.hosts.has(term) ? [term] : [];
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Terms of a pattern that name no group or host, each with a close name when there is one; for error messages. */
export function unknownPatternTerms(inv: Inventory, pattern: string): Array<{ term: string; suggestion?: string }> {
  const names = [...inv.groups.keys(), ...inv.hosts.keys()];
  return splitPattern(pattern)
    .map((term) => term.replace(/^[!&]/, ''))
    .filter((term) => matchTerm(inv, term).length === 0 && !(inv.groups.has(term)))
    .map((term) => ({ term, suggestion: closest(term, names) }));
}
