import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';
import type { Inventory } from '../inventory/types.js';

/*
 * What an app with `tls: acme` must satisfy beyond its schema, checked before any connection:
 * its names go into a certificate validated over HTTP-01.
 */

interface AppVars {
  name?: unknown;
  server_name?: unknown;
  tls?: unknown;
}

/** Why `name` cannot be in a certificate validated with HTTP-01, or undefined when it can. */
export function acmeNameProblem(name: string): string | undefined {
  if (name.startsWith('*.') || name.startsWith('.')) {
    return `${JSON.stringify(name)} is a wildcard: the CA validates tls: acme over HTTP-01, which cannot prove a wildcard (Let's Encrypt needs DNS-01 for one). List each host name, or give this app tls: { cert, key } with a wildcard certificate you obtain yourself`;
  }
  if (name.endsWith('.*')) {
    return `${JSON.stringify(name)} is an nginx trailing wildcard: a certificate names whole host names, never "any top-level domain". List each host name`;
  }
  if (isIP(name)) return `${JSON.stringify(name)} is an IP address: tls: acme certificates here are for DNS names (an ACME CA validates them through the name's DNS record)`;
  if (!name.includes('.')) return `${JSON.stringify(name)} is not a fully qualified name: a public ACME CA issues only for names under a public suffix (e.g. ${name}.example.com)`;
  return undefined;
}

/** Every problem of the inventory's acme apps, each at the app's key (file:line:col, key path). */
export function checkAcmeApps(inventory: Inventory): ConfigError[] {
  const errors = new Map<string, ConfigError>();
  const add = (host: string, path: string, detail: string) => {
    const where = inventory.locate(host, path);
    const err = new ConfigError(where.pos, where.keyPath, detail);
    errors.set(err.message, err);
  };
  for (const host of inventory.groups.get('lb') ?? []) {
    const vars = inventory.hosts.get(host)?.vars ?? {};
    const apps = Array.isArray(vars.apps) ? (vars.apps as AppVars[]) : [];
    apps.forEach((app, i) => {
      if (app?.tls !== 'acme') return;
      if (Array.isArray(app.server_name)) {
        app.server_name.forEach((name, j) => {
          const problem = typeof name === 'string' ? acmeNameProblem(name) : undefined;
          if (problem) add(host, `apps.${i}.server_name.${j}`, problem);
        });
      }
    });
  }
  return [...errors.values()];
}
