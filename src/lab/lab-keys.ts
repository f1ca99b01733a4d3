import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLocal } from '../artifacts/exec-local.js';
import { labPaths } from './state.js';

export interface KeyPair {
  privateKey: string;
  publicKey: string;
  /** The one-line public key, `ssh-ed25519 AAAA... comment`. */
  publicLine: string;
}

async function ensureEd25519(privateKey: string, comment: string): Promise<KeyPair> {
  const publicKey = `${privateKey}.pub`;
  if (!existsSync(privateKey) || !existsSync(publicKey)) {
    // a key without a passphrase: it only opens throw-away lab nodes
    await runLocal(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', privateKey], { stdin: 'y\n' });
  }
  chmodSync(privateKey, 0o600);
  return { privateKey, publicKey, publicLine: readFileSync(publicKey, 'utf8').trim() };
}

/** The key pair the lab logs into every node with (root's authorized_keys), under the state dir, 0600. */
export function ensureClientKey(): Promise<KeyPair> {
  return ensureEd25519(labPaths.clientKey(), 'bootstrap-lab');
}

/** A node's sshd host key, made on the host before the node first starts, and reused afterwards. */
export function ensureHostKey(node: string): Promise<KeyPair> {
  return ensureEd25519(join(labPaths.nodeDir(node), 'ssh_host_ed25519_key'), `root@${node}`);
}

/** Reads a node's host key if the lab made one. */
export function existingHostKey(node: string): string | undefined {
  const publicKey = join(labPaths.nodeDir(node), 'ssh_host_ed25519_key.pub');
  return existsSync(publicKey) ? readFileSync(publicKey, 'utf8').trim() : undefined;
}

/** Rewrites the lab's known_hosts: one line per address with the node's host key (no comment). */
export function writeKnownHosts(entries: readonly { addresses: readonly string[]; hostKey: string }[]): string {
  const file = labPaths.knownHosts();
  const lines = entries.flatMap(({ addresses, hostKey }) => {
    const [type, base64] = hostKey.split(/\s+/);
    return addresses.map((address) => `${address} ${type} ${base64}`);
  });
  writeFileSync(file, lines.length > 0 ? `${lines.join('\n')}\n` : '', { mode: 0o644 });
  return file;
}
