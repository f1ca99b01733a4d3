import { resolveLocalPath } from '../schema/validate-value.js';
import type { Host, Inventory } from '../inventory/types.js';
import { defaultKnownHostsPath } from '../transport/known-hosts.js';
import type { SshTarget, Transport } from '../transport/types.js';

export interface SshOptions {
  acceptNewHostKeys: boolean;
  knownHosts?: string[];
  sshConfig?: string;
  /** seconds a host may take to answer: TCP connect and the SSH handshake (default 20) */
  connectTimeout?: number;
  /** seconds the connection keeper keeps each host's connection open after the run (0 or absent: no keeper) */
  persist?: number;
}

/** The SSH target of an inventory host: inventory values first, then ~/.ssh/config, then defaults. */
export function sshTarget(host: Host, inventory: Inventory, opts: SshOptions): SshTarget {
  const ssh = (host.vars.ssh ?? {}) as { known_hosts?: string | string[] };
  const fromInventory = ssh.known_hosts === undefined ? [] : [ssh.known_hosts].flat().map((p) => resolveLocalPath(p, inventory.dir));
  const knownHosts = opts.knownHosts?.length ? opts.knownHosts : fromInventory.length ? fromInventory : [defaultKnownHostsPath()];
  return {
    name: host.name,
    address: host.address,
    port: host.port,
    user: host.user,
    key: host.key,
    knownHosts,
    acceptNewHostKeys: opts.acceptNewHostKeys,
    sshConfig: opts.sshConfig,
    ...(opts.connectTimeout !== undefined ? { connectTimeoutMs: opts.connectTimeout * 1000 } : {}),
  };
}

export function connector(inventory: Inventory, opts: SshOptions): (host: Host) => Promise<Transport> {
  if (opts.persist) {
    const persistMs = opts.persist * 1000;
    return async (host) => (await import('../transport/keeper/client.js')).connectKept(sshTarget(host, inventory, opts), persistMs);
  }
  // ssh2 loads only here: a run through the keeper never needs it
  return async (host) => (await import('../transport/ssh.js')).connectSsh(sshTarget(host, inventory, opts));
}
