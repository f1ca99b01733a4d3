import { isIP } from 'node:net';
import type { Field, Schema } from '../schema/types.js';

export const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

const port: Schema = { type: 'integer', min: 1, max: 65535 };

const pathList: Schema = {
  type: 'oneOf',
  alternatives: [{ type: 'string' }, { type: 'list', items: { type: 'string' } }],
  hint: 'a path or a list of paths',
};

export const sshSchema: Field = {
  type: 'map',
  description: 'how to reach hosts over SSH',
  fields: {
    user: { type: 'string', pattern: UNIX_USER, patternHint: 'a unix user name (lowercase letters, digits, _ and -, starting with a letter or _)' },
    port,
    key: { type: 'localFile', description: 'private key file' },
    known_hosts: pathList,
  },
};

/** Variables the tool itself reads, whatever it deploys (the stack adds its own: stack/inventory.ts). */
export const toolVarsSchema: Record<string, Field> = {
  ssh: sshSchema,
  datacenter: { type: 'string', default: 'dc1', pattern: /^[a-z0-9_-]+$/, patternHint: 'a Consul datacenter name (lowercase letters, digits, _ and -)' },
  apt_proxy: {
    type: 'string',
    default: '',
    description: 'apt proxy URL for the hosts (empty: none)',
    pattern: /^https?:\/\/[^\s/?#]+(:\d+)?(\/[^\s]*)?$/,
    patternHint: 'an http:// or https:// URL, e.g. http://10.0.0.1:3142',
  },
  state_dir: {
    type: 'string',
    default: '/var/lib/bootstrap',
    description: 'where bootstrap keeps its state on the host (pending handlers)',
    pattern: /^\/[^\s]*$/,
    patternHint: 'an absolute path on the host',
  },
  lock_file: {
    type: 'string',
    default: '/run/bootstrap.lock',
    description: 'the file a run holds flock on, so that one run at a time works on the host (a login that is not root and has no passwordless sudo uses ~/.bootstrap.lock)',
    pattern: /^\/[^\s]*$/,
    patternHint: 'an absolute path on the host',
  },
};

/** Names the host scope defines itself; a var with one of these names would be shadowed. */
export const RESERVED_VAR_NAMES = ['inventory_hostname', 'host', 'groups', 'facts', 'secret', 'artifacts'] as const;

export const ipAddress: Schema = {
  type: 'string',
  check: (value: string) => (isIP(value) ? undefined : `expected an IPv4 or IPv6 address, got ${JSON.stringify(value)}`),
};

export const hostAddress: Schema = {
  type: 'string',
  check: (value: string) =>
    isIP(value) || /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/.test(value)
      ? undefined
      : `expected an IP address or a DNS name, got ${JSON.stringify(value)}`,
};

export const hostFields: Record<string, Field> = {
  address: hostAddress,
  ansible_host: hostAddress,
  port,
  ansible_port: port,
  user: sshSchema.type === 'map' ? sshSchema.fields.user : { type: 'string' },
  ansible_user: sshSchema.type === 'map' ? sshSchema.fields.user : { type: 'string' },
  private_address: ipAddress,
  vars: { type: 'map', fields: {}, additional: { type: 'any' } },
};

export const groupFields: Record<string, Field> = {
  hosts: { type: 'map', fields: {}, additional: { type: 'any' } },
  vars: { type: 'map', fields: {}, additional: { type: 'any' } },
  children: { type: 'map', fields: {}, additional: { type: 'any' } },
};
