import type { CloudContext } from './context.js';
import { CloudApiError } from './errors.js';
import { envTag, publicIpv4, vpcName } from './naming.js';
import type { DoDroplet, DoVpc } from './types.js';
import { pollUntil } from './wait.js';

export interface DownState {
  droplets: DoDroplet[];
  vpc?: DoVpc;
}

export interface DownResult {
  dryRun: boolean;
  requests: { method: string; url: string }[];
  destroyed: { droplets: { id: number; name: string; address?: string }[]; vpc?: { id: string; name: string } };
}

/** Everything of one environment: droplets by its tag, the VPC by its name. */
export async function readDownState(ctx: CloudContext, env: string): Promise<DownState> {
  const droplets = await ctx.provider.listDropletsByTag(envTag(env));
  const vpc = (await ctx.provider.listVpcs()).find((v) => v.name === vpcName(env) && !v.default);
  return { droplets, vpc };
}

export function downRequests(ctx: CloudContext, env: string, state: DownState): { method: string; url: string }[] {
  const requests: { method: string; url: string }[] = [];
  if (state.droplets.length > 0) requests.push({ method: 'DELETE', url: ctx.provider.api.url(`/v2/droplets?tag_name=${encodeURIComponent(envTag(env))}`) });
  if (state.vpc) requests.push({ method: 'DELETE', url: ctx.provider.api.url(`/v2/vpcs/${encodeURIComponent(state.vpc.id)}`) });
  return requests;
}

/** Vpc deletion answers 403 while members remain (delete_vpc.yml); some deployments say 409/422. */
const VPC_BUSY = new Set([403, 409, 422]);

export async function cloudDown(ctx: CloudContext, env: string, state: DownState): Promise<DownResult> {
  const requests = downRequests(ctx, env, state);
  const tag = envTag(env);
  if (state.droplets.length > 0) {
    // Only ever this environment's tag: droplets of other environments or untagged ones cannot match.
    await ctx.provider.deleteDropletsByTag(tag);
    ctx.note(`deleting ${state.droplets.map((d) => d.name).join(', ')}`);
    await pollUntil(
      'droplets to be gone',
      async () => ((await ctx.provider.listDropletsByTag(tag)).length === 0 ? true : undefined),
      { clock: ctx.clock, timeoutMs: ctx.timeouts.goneMs },
    );
  }
  if (state.vpc) {
    const vpc = state.vpc;
    await pollUntil(
      `VPC ${vpc.name} to have no members so it can be deleted`,
      async () => {
        try {
          await ctx.provider.deleteVpc(vpc.id);
          return true;
        } catch (err) {
          if (err instanceof CloudApiError && err.status === 404) return true;
          if (err instanceof CloudApiError && err.status !== undefined && VPC_BUSY.has(err.status)) {
            ctx.note(`VPC ${vpc.name} not deletable yet (${err.status} ${err.apiMessage ?? ''}); retrying`);
            return undefined;
          }
          throw err;
        }
      },
      { clock: ctx.clock, timeoutMs: ctx.timeouts.vpcDeleteMs },
    );
  }
  return {
    dryRun: false,
    requests,
    destroyed: {
      droplets: state.droplets.map((d) => ({ id: d.id, name: d.name, address: publicIpv4(d) })),
      vpc: state.vpc ? { id: state.vpc.id, name: state.vpc.name } : undefined,
    },
  };
}
