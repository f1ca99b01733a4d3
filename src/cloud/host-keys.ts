import type { ServerHostKey } from '../transport/ssh.js';

/** A server's host key as read in the key exchange (src/transport/ssh.ts fetchHostKey). */
export type HostKey = ServerHostKey;

/** One known_hosts line; OpenSSH writes [host]:port for ports other than 22. */
export function knownHostsLine(address: string, port: number, key: HostKey): string {
  const host = port === 22 ? address : `[${address}]:${port}`;
  return `${host} ${key.type} ${key.base64}`;
}
