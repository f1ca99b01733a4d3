import type { DropletsCreate, SshKeyCreate, VpcCreate } from './digitalocean.js';
import { CloudInputError } from './errors.js';
import { BASE_TAG, dropletName, envTag, indexOf, roleOf, roleTag, vpcName } from './naming.js';
import type { PublicKey } from './ssh-key.js';
import type { CloudSpec, DoDroplet, DoSshKey, DoVpc, Role } from './types.js';
import { ROLES } from './types.js';

/** What exists now, found by fingerprint, VPC name and environment tag. */
export interface UpState {
  sshKey?: DoSshKey;
  vpc?: DoVpc;
  /** droplets carrying bootstrap:ENV */
  droplets: DoDroplet[];
}

export type UpStep =
  | { kind: 'create-ssh-key'; body: SshKeyCreate }
  | { kind: 'create-vpc'; body: VpcCreate }
  /** vpc_uuid is filled in at apply time when the VPC is created by an earlier step */
  | { kind: 'create-droplets'; role: Role; body: Omit<DropletsCreate, 'vpc_uuid'> & { vpc_uuid?: string } };

export interface UpPlan {
  steps: UpStep[];
  warnings: string[];
}

/** The API accepts at most ten names per create request. */
const MAX_NAMES_PER_CREATE = 10;
/** Droplet name pattern from the API specification (droplet_single_create.yml / droplet_multi_create.yml). */
const DROPLET_NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;

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
  if (!state.vpc) {
    steps.push({
      kind: 'create-vpc',
      body: { name: vpcName(spec.env), region: spec.region, description: `bootstrap environment ${spec.env}` },
    });
  }
  for (const role of ROLES) {
    const mine = state.droplets.filter((d) => roleOf(d, spec.env) === role);
    const missing = spec.counts[role] - mine.length;
    if (missing < 0) {
      warnings.push(`${mine.length} ${role} droplets exist, more than the ${spec.counts[role]} asked for; up never removes droplets (use down)`);
    }
    if (missing <= 0) continue;
    const taken = new Set(mine.map((d) => indexOf(d, spec.env, role)));
    const names: string[] = [];
    for (let i = 1; names.length < missing; i++) if (!taken.has(i)) names.push(dropletName(spec.env, role, i));
    const bad = names.find((n) => !DROPLET_NAME.test(n));
    if (bad) {
      throw new CloudInputError(
        `--name ${spec.env}: droplet name ${bad} does not match the API's ${DROPLET_NAME.source} (start with a letter, at most 32 characters)`,
      );
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
          tags: [BASE_TAG, envTag(spec.env), roleTag(spec.env, role)],
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
    case 'create-droplets':
      return {
        method: 'POST',
        path: '/v2/droplets',
        body: { ...step.body, vpc_uuid: step.body.vpc_uuid ?? '<id of the VPC created above>' },
      };
  }
}
