import type { CloudContext } from './context.js';
import { dropletsByTagPath, vpcPath } from './digitalocean.js';
import { CloudApiError } from './errors.js';
import { envTag, isRegionDefaultMadeFor, parseDropletName, publicIpv4, sameTag, vpcName } from './naming.js';
import type { DoDroplet, DoVpc } from './types.js';
import { pollUntil, WaitTimeout } from './wait.js';

export interface DownState {
  /** the environment tag as the account spells it (tags keep their first capitalisation); undefined when absent */
  tag?: string;
  droplets: DoDroplet[];
  /** droplets in the environment's VPC, with its names, whose tags are not applied yet (tags lag creates) */
  untagged: DoDroplet[];
  vpc?: DoVpc;
  /** default VPCs up made for this environment's region: they stay, as every default VPC does */
  regionDefaults: DoVpc[];
}

/** Something of the environment that is still there after down, and why. */
export interface LeftResource {
  kind: 'droplet' | 'vpc';
  id: string;
  name: string;
  reason: string;
  /** false for what no down can remove and up said would stay (a region's default VPC made by up) */
  blocking: boolean;
}

export interface DownResult {
  dryRun: boolean;
  requests: { method: string; url: string }[];
  destroyed: { droplets: { id: number; name: string; address?: string }[]; vpc?: { id: string; name: string } };
  left: LeftResource[];
}

/** Everything of one environment: droplets by its tag (in any capitalisation), VPCs by name and description. */
export async function readDownState(ctx: CloudContext, env: string): Promise<DownState> {
  const tag = (await ctx.provider.listTags()).map((t) => t.name).find((t) => sameTag(t, envTag(env)));
  const droplets = tag ? await ctx.provider.listDropletsByTag(tag) : [];
  const vpcs = await ctx.provider.listVpcs();
  const vpc = vpcs.find((v) => v.name.toLowerCase() === vpcName(env).toLowerCase());
  const untagged: DoDroplet[] = [];
  if (vpc && !vpc.default) {
    for (const member of await ctx.provider.listVpcMembers(vpc.id)) {
      const id = Number(/^do:droplet:(\d+)$/.exec(member.urn)?.[1]);
      if (!id || droplets.some((d) => d.id === id) || !parseDropletName(member.name, env)) continue;
      const droplet = await ctx.provider.getDroplet(id);
      if (droplet && (droplet.tags ?? []).length === 0) untagged.push(droplet);
    }
  }
  return { tag, droplets, untagged, vpc, regionDefaults: vpcs.filter((v) => isRegionDefaultMadeFor(v, env)) };
}

const allDroplets = (state: DownState): DoDroplet[] => [...state.droplets, ...state.untagged];

/** Whether down would delete anything (a default VPC cannot be). */
export const hasDeletable = (state: DownState): boolean => allDroplets(state).length > 0 || (state.vpc !== undefined && !state.vpc.default);

export function downRequests(ctx: CloudContext, state: DownState): { method: string; url: string }[] {
  const requests: { method: string; url: string }[] = [];
  if (state.droplets.length > 0) requests.push({ method: 'DELETE', url: ctx.provider.api.url(dropletsByTagPath(state.tag!)) });
  for (const d of state.untagged) requests.push({ method: 'DELETE', url: ctx.provider.api.url(`/v2/droplets/${d.id}`) });
  if (state.vpc && !state.vpc.default) requests.push({ method: 'DELETE', url: ctx.provider.api.url(vpcPath(state.vpc.id)) });
  return requests;
}

const DEFAULT_VPC = "the API never deletes a region's default VPC";

export async function cloudDown(ctx: CloudContext, env: string, state: DownState): Promise<DownResult> {
  const requests = downRequests(ctx, state);
  const left: LeftResource[] = [];
  let dropletsGone = true;
  const droplets = allDroplets(state);
  if (droplets.length > 0) {
    try {
      // Only ever this environment's tag: droplets of other environments or untagged ones cannot match.
      if (state.droplets.length > 0 && (await ctx.provider.deleteDropletsByTag(state.tag!))) ctx.note(`deleting ${state.droplets.map((d) => d.name).join(', ')}`);
      else if (state.droplets.length > 0) ctx.note(`no droplet carries ${state.tag} any more (DELETE by tag answered 404): nothing left to delete`);
      for (const d of state.untagged) await ctx.provider.deleteDroplet(d.id);
      if (state.untagged.length > 0) ctx.note(`deleting ${state.untagged.map((d) => d.name).join(', ')} by ID: their tags are not applied yet`);
      await pollUntil(
        'droplets to be gone',
        async () => {
          if (state.droplets.length > 0 && (await ctx.provider.listDropletsByTag(state.tag!)).length > 0) return undefined;
          for (const d of state.untagged) if (await ctx.provider.getDroplet(d.id)) return undefined;
          return true;
        },
        { clock: ctx.clock, timeoutMs: ctx.timeouts.goneMs },
      );
    } catch (err) {
      if (!(err instanceof CloudApiError) || err.status !== 403) throw err;
      dropletsGone = false;
      for (const d of droplets) left.push({ kind: 'droplet', id: String(d.id), name: d.name, reason: err.message, blocking: true });
    }
  }
  if (state.vpc?.default) {
    const reason = `it is the default VPC of ${state.vpc.region} and ${DEFAULT_VPC}; make another VPC of ${state.vpc.region} the default (PATCH ${vpcPath('ID')} {"default": true}) and run down again`;
    left.push({ kind: 'vpc', id: state.vpc.id, name: state.vpc.name, reason, blocking: true });
  } else if (state.vpc && !dropletsGone) {
    left.push({ kind: 'vpc', id: state.vpc.id, name: state.vpc.name, reason: 'not tried: its droplets could not be deleted', blocking: true });
  } else if (state.vpc) {
    const stuck = await deleteVpc(ctx, state.vpc, new Set(droplets.map((d) => `do:droplet:${d.id}`)));
    if (stuck) left.push(stuck);
  }
  for (const v of state.regionDefaults) {
    left.push({ kind: 'vpc', id: v.id, name: v.name, reason: `made by up as the default VPC of ${v.region} so that ${vpcName(env)} would not be; ${DEFAULT_VPC}`, blocking: false });
  }
  const vpcDeleted = state.vpc && !left.some((l) => l.id === state.vpc!.id);
  return {
    dryRun: false,
    requests,
    destroyed: {
      droplets: dropletsGone ? droplets.map((d) => ({ id: d.id, name: d.name, address: publicIpv4(d) })) : [],
      vpc: vpcDeleted ? { id: state.vpc!.id, name: state.vpc!.name } : undefined,
    },
    left,
  };
}

/**
 * DELETE answers 403 (or 409) while the VPC has members, and 403 when the token lacks vpc:delete.
 * The member list tells them apart: our own just-deleted droplets are waited for; anything else
 * stops down at once, named; no members at all means the scope is missing.
 */
async function deleteVpc(ctx: CloudContext, vpc: DoVpc, ours: Set<string>): Promise<LeftResource | undefined> {
  let stuck: LeftResource | undefined;
  let lastReason = '';
  const leave = (reason: string): true => {
    stuck = { kind: 'vpc', id: vpc.id, name: vpc.name, reason, blocking: true };
    return true;
  };
  try {
    await pollUntil(
      `VPC ${vpc.name} to be deletable`,
      async () => {
        try {
          await ctx.provider.deleteVpc(vpc.id);
          return true;
        } catch (err) {
          if (!(err instanceof CloudApiError) || (err.status !== 403 && err.status !== 404 && err.status !== 409)) throw err;
          if (err.status === 404) return true;
          const members = await ctx.provider.listVpcMembers(vpc.id);
          const foreign = members.filter((m) => !ours.has(m.urn));
          if (foreign.length > 0) {
            return leave(`it has members this environment did not create: ${foreign.map((m) => `${m.name} (${m.urn})`).join(', ')}; delete or move them, then run down again`);
          }
          if (members.length === 0 && err.status === 403) {
            return leave(`HTTP 403 while it has no members: the token lacks the vpc:delete scope (${err.message})`);
          }
          lastReason = members.length > 0 ? `still lists ${members.map((m) => m.name).join(', ')}, being deleted` : `HTTP ${err.status} ${err.apiMessage ?? ''}`.trim();
          ctx.note(`VPC ${vpc.name} not deletable yet (${lastReason}); retrying`);
          return undefined;
        }
      },
      { clock: ctx.clock, timeoutMs: ctx.timeouts.vpcDeleteMs },
    );
  } catch (err) {
    if (!(err instanceof WaitTimeout)) throw err;
    leave(`${err.message} (${lastReason})`);
  }
  return stuck;
}
