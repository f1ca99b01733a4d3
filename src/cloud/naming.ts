import type { DoDroplet, DoVpc, Role } from './types.js';
import { ROLES } from './types.js';

/** Everything bootstrap creates is found again by these tags (droplets) and names (VPCs). */
export const BASE_TAG = 'bootstrap';
export const envTag = (env: string): string => `bootstrap:${env}`;
export const roleTag = (env: string, role: Role): string => `bootstrap:${env}:${role}`;
export const vpcName = (env: string): string => `bootstrap-${env}`;
export const vpcDescription = (env: string): string => `bootstrap environment ${env}`;
export const dropletName = (env: string, role: Role, index: number): string => `${env}-${role}${index}`;

/**
 * The first VPC of a region becomes its default, and a default VPC can never be deleted. When a
 * region has no VPC yet, `up` creates this one first so that the environment's own VPC is not the default.
 */
export const regionDefaultVpcName = (region: string): string => `default-${region}`;
export const regionDefaultVpcDescription = (env: string, region: string): string =>
  `default VPC of ${region}, made by bootstrap cloud up for environment ${env}`;
export const isRegionDefaultMadeFor = (vpc: DoVpc, env: string): boolean =>
  vpc.default === true && vpc.description === regionDefaultVpcDescription(env, vpc.region);

/** The published name patterns: droplet_single_create.yml / droplet_multi_create.yml, vpc.yml, tags.yml. */
export const DROPLET_NAME = /^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$/;
export const VPC_NAME = /^[a-zA-Z0-9\-.]+$/;
export const TAG_NAME = /^[a-zA-Z0-9_\-:]+$/;
/** droplet names and tag names; VPC descriptions */
export const NAME_MAX = 255;

/**
 * Why an environment name cannot be used, or undefined. The name goes into droplet names, a VPC
 * name and tags, so it must fit all three patterns: letters, digits and "-" (tags refuse ".",
 * droplet and VPC names refuse "_").
 */
export function envNameProblem(env: string): string | undefined {
  const checks: [string, string, RegExp, number][] = [
    ['droplet name', dropletName(env, 'web', 999), DROPLET_NAME, NAME_MAX],
    ['VPC name', vpcName(env), VPC_NAME, Infinity],
    ['tag', roleTag(env, 'web'), TAG_NAME, NAME_MAX],
    ['VPC description', regionDefaultVpcDescription(env, 'sgp1'), /^/, NAME_MAX],
  ];
  for (const [what, value, pattern, max] of checks) {
    if (!pattern.test(value)) return `it makes the ${what} ${JSON.stringify(value)}, which does not match the API's pattern ${pattern.source}`;
    if (value.length > max) return `it makes the ${what} ${JSON.stringify(value.slice(0, 40) + '...')}, longer than the API's ${max} characters`;
  }
  return undefined;
}

/** Tags keep the capitalisation they were first created with, so compare them without regard to case. */
export const sameTag = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
export const hasTag = (droplet: DoDroplet, tag: string): boolean => (droplet.tags ?? []).some((t) => sameTag(t, tag));

/** The role a droplet carries by tag, if any. */
export function roleOf(droplet: DoDroplet, env: string): Role | undefined {
  return ROLES.find((role) => hasTag(droplet, roleTag(env, role)));
}

/** lb / web and the index from ENV-web3 (any case); undefined when the name does not follow our pattern. */
export function parseDropletName(name: string, env: string): { role: Role; index: number } | undefined {
  for (const role of ROLES) {
    const prefix = `${env}-${role}`.toLowerCase();
    if (!name.toLowerCase().startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    if (/^[1-9][0-9]*$/.test(rest)) return { role, index: Number(rest) };
  }
  return undefined;
}

export function publicIpv4(droplet: DoDroplet): string | undefined {
  return droplet.networks?.v4?.find((n) => n.type === 'public')?.ip_address;
}

export function privateIpv4(droplet: DoDroplet): string | undefined {
  return droplet.networks?.v4?.find((n) => n.type === 'private')?.ip_address;
}
