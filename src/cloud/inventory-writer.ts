import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Document, parseDocument } from 'yaml';
import type { Role } from './types.js';
import { ROLES } from './types.js';

export interface InventoryHost {
  name: string;
  role: Role;
  address: string;
  privateAddress?: string;
}

export interface InventoryFiles {
  inventoryPath: string;
  knownHostsPath: string;
  sshPort: number;
  /** private key path for all.vars.ssh.key, when known */
  privateKey?: string;
}

/** known_hosts sits beside the inventory: ./inventory/dev.yaml -> ./inventory/dev.known_hosts */
export function knownHostsPathFor(inventoryPath: string): string {
  return inventoryPath.replace(/\.ya?ml$/, '') + '.known_hosts';
}

/**
 * The inventory YAML (design.md section 2). An existing file keeps everything the user added
 * (apps, datacenter, group vars...): only the ssh settings and the lb/web host lists are replaced.
 */
export function renderInventory(existing: string | undefined, env: string, hosts: InventoryHost[], files: InventoryFiles): string {
  const doc = existing !== undefined ? parseDocument(existing) : new Document({ all: {} });
  if (existing === undefined) doc.commentBefore = ` Written by \`bootstrap cloud up --name ${env}\`; the hosts are rewritten by every up.`;
  const ssh: Record<string, unknown> = { user: 'root' };
  if (files.sshPort !== 22) ssh.port = files.sshPort;
  if (files.privateKey) ssh.key = files.privateKey;
  ssh.known_hosts = `./${basename(files.knownHostsPath)}`;
  for (const [key, value] of Object.entries(ssh)) doc.setIn(['all', 'vars', 'ssh', key], value);
  for (const role of ROLES) {
    const roleHosts: Record<string, Record<string, string>> = {};
    for (const host of hosts.filter((h) => h.role === role)) {
      roleHosts[host.name] = { address: host.address, ...(host.privateAddress ? { private_address: host.privateAddress } : {}) };
    }
    doc.setIn(['all', 'children', role, 'hosts'], doc.createNode(roleHosts));
  }
  return doc.toString();
}

export async function writeFileAtomic(path: string, content: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, path);
}

export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
