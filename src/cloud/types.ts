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
  /**
   * droplet.yml names new, active, off and archive; there is no "errored" here, a failed create
   * shows in the create action. Typed open: what the API answers is read as it comes (droplet-progress.ts).
   */
  status: 'new' | 'active' | 'off' | 'archive' | (string & {});
  created_at?: string;
  size_slug: string;
  tags: string[];
  vpc_uuid?: string;
  region?: { slug: string };
  networks: { v4: DoNetworkV4[]; v6?: unknown[] };
}

/** action.yml: a droplet's create action ends completed or errored */
export interface DoAction {
  id: number;
  status: 'in-progress' | 'completed' | 'errored';
  type: string;
  resource_id?: number | null;
}

/** tags.yml: names keep the capitalisation they were first created with */
export interface DoTag {
  name: string;
}

/** vpc_member.yml: what else lives in a VPC, e.g. do:droplet:123, do:loadbalancer:UUID */
export interface DoVpcMember {
  urn: string;
  name: string;
  created_at?: string;
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
