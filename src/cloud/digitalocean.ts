import type { DoApi } from './api.js';
import type { DoDroplet, DoSize, DoSshKey, DoVpc } from './types.js';

/** Request bodies, built once so that apply and --dry-run show exactly the same thing. */
export interface SshKeyCreate {
  name: string;
  public_key: string;
}
export interface VpcCreate {
  name: string;
  region: string;
  description: string;
}
export interface DropletsCreate {
  names: string[];
  region: string;
  size: string;
  image: string;
  ssh_keys: string[];
  tags: string[];
  vpc_uuid: string;
  ipv6: boolean;
  monitoring: boolean;
}

/** The Digital Ocean endpoints bootstrap uses, one method each. */
export class DigitalOcean {
  constructor(readonly api: DoApi) {}

  listSshKeys(): Promise<DoSshKey[]> {
    return this.api.listAll<DoSshKey>('/v2/account/keys', 'ssh_keys');
  }

  async createSshKey(body: SshKeyCreate): Promise<DoSshKey> {
    const res = await this.api.request<{ ssh_key: DoSshKey }>('POST', '/v2/account/keys', body);
    return res.body.ssh_key;
  }

  listVpcs(): Promise<DoVpc[]> {
    return this.api.listAll<DoVpc>('/v2/vpcs', 'vpcs');
  }

  async createVpc(body: VpcCreate): Promise<DoVpc> {
    const res = await this.api.request<{ vpc: DoVpc }>('POST', '/v2/vpcs', body);
    return res.body.vpc;
  }

  async deleteVpc(id: string): Promise<void> {
    await this.api.request('DELETE', `/v2/vpcs/${encodeURIComponent(id)}`);
  }

  listDropletsByTag(tag: string): Promise<DoDroplet[]> {
    return this.api.listAll<DoDroplet>(`/v2/droplets?tag_name=${encodeURIComponent(tag)}`, 'droplets');
  }

  async createDroplets(body: DropletsCreate): Promise<DoDroplet[]> {
    const res = await this.api.request<{ droplets: DoDroplet[] }>('POST', '/v2/droplets', body);
    return res.body.droplets;
  }

  /** Deletes every droplet carrying the tag: the caller passes only an environment's own tag. */
  async deleteDropletsByTag(tag: string): Promise<void> {
    await this.api.request('DELETE', `/v2/droplets?tag_name=${encodeURIComponent(tag)}`);
  }

  listSizes(): Promise<DoSize[]> {
    return this.api.listAll<DoSize>('/v2/sizes', 'sizes');
  }
}
