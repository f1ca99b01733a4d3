import type { DoApi } from './api.js';
import { CloudApiError } from './errors.js';
import { SCOPES } from './scopes.js';
import type { DoAction, DoDroplet, DoSize, DoSshKey, DoTag, DoVpc, DoVpcMember } from './types.js';

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

/** The Digital Ocean endpoints bootstrap uses, one method each, with the scopes each needs. */
export class DigitalOcean {
  constructor(readonly api: DoApi) {}

  listSshKeys(): Promise<DoSshKey[]> {
    return this.api.listAll<DoSshKey>('/v2/account/keys', 'ssh_keys', SCOPES.listSshKeys);
  }

  async createSshKey(body: SshKeyCreate): Promise<DoSshKey> {
    const res = await this.api.request<{ ssh_key: DoSshKey }>('POST', '/v2/account/keys', body, { scopes: SCOPES.createSshKey });
    return res.body.ssh_key;
  }

  listVpcs(): Promise<DoVpc[]> {
    return this.api.listAll<DoVpc>('/v2/vpcs', 'vpcs', SCOPES.listVpcs);
  }

  async createVpc(body: VpcCreate): Promise<DoVpc> {
    const res = await this.api.request<{ vpc: DoVpc }>('POST', '/v2/vpcs', body, { scopes: SCOPES.createVpc });
    return res.body.vpc;
  }

  async deleteVpc(id: string): Promise<void> {
    await this.api.request('DELETE', vpcPath(id), undefined, { scopes: SCOPES.deleteVpc });
  }

  listVpcMembers(id: string): Promise<DoVpcMember[]> {
    return this.api.listAll<DoVpcMember>(`${vpcPath(id)}/members`, 'members', SCOPES.listVpcMembers);
  }

  listTags(): Promise<DoTag[]> {
    return this.api.listAll<DoTag>('/v2/tags', 'tags', SCOPES.listTags);
  }

  /** Only droplets the tag has already been applied to: tags are applied some time after a create. */
  listDropletsByTag(tag: string): Promise<DoDroplet[]> {
    return this.api.listAll<DoDroplet>(dropletsByTagPath(tag), 'droplets', SCOPES.listDropletsByTag);
  }

  /** Exact name, compared without regard to case (the list's `name` filter). */
  listDropletsByName(name: string): Promise<DoDroplet[]> {
    return this.api.listAll<DoDroplet>(`/v2/droplets?name=${encodeURIComponent(name)}`, 'droplets', SCOPES.listDropletsByName);
  }

  /** undefined when the droplet does not exist (404). */
  async getDroplet(id: number): Promise<DoDroplet | undefined> {
    try {
      return (await this.api.request<{ droplet: DoDroplet }>('GET', `/v2/droplets/${id}`, undefined, { scopes: SCOPES.getDroplet })).body.droplet;
    } catch (err) {
      if (err instanceof CloudApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** undefined when the droplet does not exist (404). */
  async listDropletActions(id: number): Promise<DoAction[] | undefined> {
    try {
      return await this.api.listAll<DoAction>(`/v2/droplets/${id}/actions`, 'actions', SCOPES.listDropletActions);
    } catch (err) {
      if (err instanceof CloudApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async createDroplets(body: DropletsCreate): Promise<DoDroplet[]> {
    const res = await this.api.request<{ droplets: DoDroplet[] }>('POST', '/v2/droplets', body, { scopes: SCOPES.createDroplets });
    return res.body.droplets;
  }

  /** false when it was already gone (404). */
  async deleteDroplet(id: number): Promise<boolean> {
    try {
      await this.api.request('DELETE', `/v2/droplets/${id}`, undefined, { scopes: SCOPES.deleteDroplet });
      return true;
    } catch (err) {
      if (err instanceof CloudApiError && err.status === 404) return false;
      throw err;
    }
  }

  /**
   * Deletes every droplet carrying the tag: the caller passes only an environment's own tag.
   * false when the API answers 404, which it does when no droplet carries the tag any more.
   */
  async deleteDropletsByTag(tag: string): Promise<boolean> {
    try {
      await this.api.request('DELETE', dropletsByTagPath(tag), undefined, { scopes: SCOPES.deleteDropletsByTag });
      return true;
    } catch (err) {
      if (err instanceof CloudApiError && err.status === 404) return false;
      throw err;
    }
  }

  listSizes(): Promise<DoSize[]> {
    return this.api.listAll<DoSize>('/v2/sizes', 'sizes', SCOPES.listSizes);
  }
}

export const dropletsByTagPath = (tag: string): string => `/v2/droplets?tag_name=${encodeURIComponent(tag)}`;
export const vpcPath = (id: string): string => `/v2/vpcs/${encodeURIComponent(id)}`;
