import type { CloudContext } from './context.js';
import { envTag, privateIpv4, publicIpv4, roleOf, sameTag, vpcName } from './naming.js';

export interface StatusRow {
  id: number;
  name: string;
  role?: string;
  status: string;
  address?: string;
  privateAddress?: string;
  size: string;
  /** US dollars per hour, from /v2/sizes price_hourly; undefined when the size is not listed */
  priceHourly?: number;
}

export interface StatusResult {
  env: string;
  vpc?: { id: string; name: string; region: string; ipRange?: string };
  droplets: StatusRow[];
  totalHourly: number;
  /** sizes missing from /v2/sizes, not counted in the total */
  unpricedSizes: string[];
}

export async function cloudStatus(ctx: CloudContext, env: string): Promise<StatusResult> {
  const tag = (await ctx.provider.listTags()).map((t) => t.name).find((t) => sameTag(t, envTag(env)));
  const droplets = tag ? await ctx.provider.listDropletsByTag(tag) : [];
  const vpc = (await ctx.provider.listVpcs()).find((v) => v.name.toLowerCase() === vpcName(env).toLowerCase());
  const prices = new Map((droplets.length > 0 ? await ctx.provider.listSizes() : []).map((s) => [s.slug, s.price_hourly]));
  const rows = droplets
    .map((d) => ({
      id: d.id,
      name: d.name,
      role: roleOf(d, env),
      status: d.status,
      address: publicIpv4(d),
      privateAddress: privateIpv4(d),
      size: d.size_slug,
      priceHourly: prices.get(d.size_slug),
    }))
    .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  return {
    env,
    vpc: vpc ? { id: vpc.id, name: vpc.name, region: vpc.region, ipRange: vpc.ip_range } : undefined,
    droplets: rows,
    totalHourly: rows.reduce((sum, r) => sum + (r.priceHourly ?? 0), 0),
    unpricedSizes: [...new Set(rows.filter((r) => r.priceHourly === undefined).map((r) => r.size))],
  };
}
