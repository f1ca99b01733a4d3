import type { DoDroplet, Role } from './types.js';
import { ROLES } from './types.js';

/** Everything bootstrap creates is found again by these tags, never by name. */
export const BASE_TAG = 'bootstrap';
export const envTag = (env: string): string => `bootstrap:${env}`;
export const roleTag = (env: string, role: Role): string => `bootstrap:${env}:${role}`;
export const vpcName = (env: string): string => `bootstrap-${env}`;
export const dropletName = (env: string, role: Role, index: number): string => `${env}-${role}${index}`;

/** The role a droplet carries by tag, if any. */
export function roleOf(droplet: DoDroplet, env: string): Role | undefined {
  return ROLES.find((role) => droplet.tags.includes(roleTag(env, role)));
}

/** lb1 / web3 from ENV-web3; undefined when the name does not follow our pattern. */
export function indexOf(droplet: DoDroplet, env: string, role: Role): number | undefined {
  const prefix = `${env}-${role}`;
  if (!droplet.name.startsWith(prefix)) return undefined;
  const rest = droplet.name.slice(prefix.length);
  return /^[1-9][0-9]*$/.test(rest) ? Number(rest) : undefined;
}

export function publicIpv4(droplet: DoDroplet): string | undefined {
  return droplet.networks?.v4?.find((n) => n.type === 'public')?.ip_address;
}

export function privateIpv4(droplet: DoDroplet): string | undefined {
  return droplet.networks?.v4?.find((n) => n.type === 'private')?.ip_address;
}
