import { homedir } from 'node:os';
import { resolve } from 'node:path';
import type { Host, Inventory } from './inventory/types.js';
import { connectSsh } from './transport/ssh.js';
import type { SshTarget, Transport } from './transport/types.js';

export interface SshOptions {
  acceptNewHostKeys: boolean;
  knownHosts?: string[];
  sshConfig?: string;
}

/** The SSH target of an inventory host: inventory values first, then ~/.ssh/config, then defaults. */
export function sshTarget(host: Host, inventory: Inventory, opts: SshOptions): SshTarget {
  const ssh = (host.vars.ssh ?? {}) as { known_hosts?: string | string[] };
  const fromInventory = ssh.known_hosts === undefined ? [] : [ssh.known_hosts].flat().map((p) => resolve(inventory.dir, expandHome(p)));
  const knownHosts = opts.knownHosts?.length ? opts.knownHosts : fromInventory.length ? fromInventory : [`${homedir()}/.ssh/known_hosts`];
  return {
    name: host.name,
    address: host.address,
    port: host.port,
    user: host.user,
    key: host.key,
    knownHosts,
    acceptNewHostKeys: opts.acceptNewHostKeys,
    sshConfig: opts.sshConfig,
  };
}

export function connector(inventory: Inventory, opts: SshOptions): (host: Host) => Promise<Transport> {
  return (host) => connectSsh(sshTarget(host, inventory, opts));
}

function expandHome(p: string): string {
  return p.startsWith('~/') ? `${homedir()}${p.slice(1)}` : p;
}
