import type { DropletsCreate, SshKeyCreate, VpcCreate } from './digitalocean.js';
import { CloudInputError } from './errors.js';
import {
  BASE_TAG,
  dropletName,
  envTag,
  parseDropletName,
  regionDefaultVpcDescription,
  regionDefaultVpcName,
  roleTag,
  sameTag,
  vpcDescription,
  vpcName,
} from './naming.js';
import type { PublicKey } from './ssh-key.js';
import type { CloudSpec, DoDroplet, DoSshKey, DoVpc, Role } from './types.js';
import { ROLES } from './types.js';

/** A droplet of the environment, found by its tag, by its name while tags lag, or by the ID a create returned. */
export interface EnvDroplet {
  droplet: DoDroplet;
  role: Role;
  /** set when it must be replaced: why (its create action errored) */
  broken?: string;
}

/** What exists now, found by fingerprint, VPC name, environment tag and droplet names. */
export interface UpState {
  sshKey?: DoSshKey;
  vpc?: DoVpc;
  /** whether the region has any VPC: the first one created there becomes its default */
  regionHasVpc: boolean;
  /** every tag of the account, in its canonical capitalisation */
  tags: string[];
  droplets: EnvDroplet[];
}

export type UpStep =
  | { kind: 'create-ssh-key'; body: SshKeyCreate }
  | { kind: 'create-vpc'; regionDefault: boolean; body: VpcCreate }
  | { kind: 'delete-droplet'; id: number; name: string; reason: string }
  /** vpc_uuid is filled in at apply time when the VPC is created by an earlier step */
  | { kind: 'create-droplets'; role: Role; body: Omit<DropletsCreate, 'vpc_uuid'> & { vpc_uuid?: string } };

export interface UpPlan {
  steps: UpStep[];
  warnings: string[];
}

/** The API accepts at most ten names per create request. */
const MAX_NAMES_PER_CREATE = 10;

/** A tag as the account already spells it (tags.yml: the first capitalisation is canonical), else as given. */
export function canonicalTag(tag: string, existing: readonly string[]): string {
  return existing.find((t) => sameTag(t, tag)) ?? tag;
}

/** The names to create per role: the lowest free indices, where broken droplets free theirs. */
export function missingNames(spec: CloudSpec, droplets: readonly EnvDroplet[]): { role: Role; names: string[]; surplus: number }[] {
  return ROLES.map((role) => {
    const mine = droplets.filter((d) => d.role === role && !d.broken);
    const missing = spec.counts[role] - mine.length;
    const taken = new Set(mine.map((d) => parseDropletName(d.droplet.name, spec.env)?.index));
    const names: string[] = [];
    for (let i = 1; names.length < missing; i++) if (!taken.has(i)) names.push(dropletName(spec.env, role, i));
    return { role, names, surplus: Math.max(0, -missing) };
  });
}

export function planUp(spec: CloudSpec, key: PublicKey, state: UpState): UpPlan {
  const steps: UpStep[] = [];
  const warnings: string[] = [];
  if (!state.sshKey) {
    steps.push({ kind: 'create-ssh-key', body: { name: key.comment ? `bootstrap ${key.comment}` : 'bootstrap', public_key: key.line } });
  }
  if (state.vpc && state.vpc.region !== spec.region) {
    throw new CloudInputError(
      `VPC ${state.vpc.name} of environment ${spec.env} is in region ${state.vpc.region}, not ${spec.region}: pass --region ${state.vpc.region}`,
    );
  }
  if (!state.vpc && !state.regionHasVpc) {
    warnings.push(
      `region ${spec.region} has no VPC yet, and the first VPC of a region becomes its default, which the API never deletes: ` +
        `creating ${regionDefaultVpcName(spec.region)} first as that default, so that ${vpcName(spec.env)} stays deletable (${regionDefaultVpcName(spec.region)} stays after down)`,
    );
    steps.push({
      kind: 'create-vpc',
      regionDefault: true,
      body: { name: regionDefaultVpcName(spec.region), region: spec.region, description: regionDefaultVpcDescription(spec.env, spec.region) },
    });
  }
  if (!state.vpc) {
    steps.push({ kind: 'create-vpc', regionDefault: false, body: { name: vpcName(spec.env), region: spec.region, description: vpcDescription(spec.env) } });
  } else if (state.vpc.default) {
    warnings.push(`VPC ${state.vpc.name} is the default VPC of ${state.vpc.region}: down will not be able to delete it`);
  }
  for (const d of state.droplets.filter((x) => x.broken)) {
    steps.push({ kind: 'delete-droplet', id: d.droplet.id, name: d.droplet.name, reason: d.broken! });
  }
  for (const { role, names, surplus } of missingNames(spec, state.droplets)) {
    if (surplus > 0) {
      warnings.push(`${spec.counts[role] + surplus} ${role} droplets exist, more than the ${spec.counts[role]} asked for; up never removes droplets (use down)`);
    }
    for (let i = 0; i < names.length; i += MAX_NAMES_PER_CREATE) {
      steps.push({
        kind: 'create-droplets',
        role,
        body: {
          names: names.slice(i, i + MAX_NAMES_PER_CREATE),
          region: spec.region,
          size: spec.size,
          image: spec.image,
          ssh_keys: [state.sshKey?.fingerprint ?? key.md5Fingerprint],
          tags: [BASE_TAG, envTag(spec.env), roleTag(spec.env, role)].map((t) => canonicalTag(t, state.tags)),
          ...(state.vpc ? { vpc_uuid: state.vpc.id } : {}),
          ipv6: false,
          monitoring: false,
        },
      });
    }
  }
  return { steps, warnings };
}

/** The HTTP request a step makes, for --dry-run and logs. */
export function stepRequest(step: UpStep): { method: string; path: string; body: unknown } {
  switch (step.kind) {
    case 'create-ssh-key':
      return { method: 'POST', path: '/v2/account/keys', body: step.body };
    case 'create-vpc':
      return { method: 'POST', path: '/v2/vpcs', body: step.body };
    case 'delete-droplet':
      return { method: 'DELETE', path: `/v2/droplets/${step.id}`, body: undefined };
    case 'create-droplets':
      return {
        method: 'POST',
        path: '/v2/droplets',
        body: { ...step.body, vpc_uuid: step.body.vpc_uuid ?? '<id of the VPC created above>' },
      };
  }
}
