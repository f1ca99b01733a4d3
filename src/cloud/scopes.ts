/**
 * Token scopes each request needs, as the `security` section of its operation in
 * digitalocean/openapi declares them (plus the per-field notes of the droplet create body).
 * The API has no endpoint that tells a token's scopes, so these lists are how a 403 is explained
 * and what docs/digitalocean.md asks for.
 */
export const SCOPES = {
  listSshKeys: ['ssh_key:read'],
  createSshKey: ['ssh_key:create'],
  listVpcs: ['vpc:read'],
  createVpc: ['vpc:create'],
  deleteVpc: ['vpc:delete'],
  listVpcMembers: ['vpc:read'],
  listTags: ['tag:read'],
  listDropletsByTag: ['droplet:read', 'tag:read'],
  listDropletsByName: ['droplet:read'],
  getDroplet: ['droplet:read'],
  listDropletActions: ['droplet:read'],
  /** the body's image, ssh_keys, tags and vpc_uuid each add a scope */
  createDroplets: ['droplet:create', 'image:read', 'ssh_key:read', 'tag:create', 'vpc:read'],
  deleteDroplet: ['droplet:delete'],
  deleteDropletsByTag: ['droplet:delete', 'tag:read'],
  listSizes: ['sizes:read', 'regions:read'],
} as const satisfies Record<string, readonly string[]>;

export type Operation = keyof typeof SCOPES;

const union = (...ops: Operation[]): string[] => [...new Set(ops.flatMap((op) => SCOPES[op]))].sort();

/** What each command may send. `up` deletes by ID only a droplet whose create errored, to replace it. */
export const COMMAND_SCOPES = {
  up: union('listSshKeys', 'createSshKey', 'listVpcs', 'createVpc', 'listTags', 'listDropletsByTag', 'listDropletsByName', 'getDroplet', 'listDropletActions', 'createDroplets', 'deleteDroplet'),
  down: union('listTags', 'listDropletsByTag', 'deleteDropletsByTag', 'listVpcs', 'listVpcMembers', 'getDroplet', 'deleteDroplet', 'deleteVpc'),
  status: union('listTags', 'listDropletsByTag', 'listVpcs', 'listSizes'),
};
