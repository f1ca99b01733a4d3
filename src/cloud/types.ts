/** The parts of Digital Ocean API v2 objects that bootstrap reads (digitalocean/openapi). */

export interface DoSshKey {
  id: number;
  fingerprint: string;
  public_key: string;
  name: string;
}

export interface DoVpc {
  id: string;
  name: string;
  region: string;
  ip_range?: string;
  description?: string;
  default?: boolean;
}

export interface DoNetworkV4 {
  ip_address: string;
  netmask?: string;
  gateway?: string;
  type: 'public' | 'private';
}

export interface DoDroplet {
  id: number;
  name: string;
  status: 'new' | 'active' | 'off' | 'archive';
  size_slug: string;
  tags: string[];
  vpc_uuid?: string;
  region?: { slug: string };
  networks: { v4: DoNetworkV4[]; v6?: unknown[] };
}

export interface DoSize {
  slug: string;
  price_hourly: number;
  price_monthly: number;
}

export type Role = 'lb' | 'web';
export const ROLES: readonly Role[] = ['lb', 'web'];

/** What the user asked for. */
export interface CloudSpec {
  env: string;
  region: string;
  size: string;
  image: string;
  counts: Record<Role, number>;
}
