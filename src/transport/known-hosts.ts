/**
 * OpenSSH known_hosts: parsing, host matching (plain, wildcard, negated, hashed |1|salt|hash,
 * [host]:port), @revoked markers, and trust-on-first-use recording.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface KnownHostEntry {
  file: string;
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** Comma-separated patterns as written, or undefined for a hashed entry. */
  patterns?: string[];
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  keyBase64: string;
  keyBlob: Buffer;
}

/** OpenSSH's own: ~/.ssh/known_hosts. */
export function defaultKnownHostsPath(): string {
  return `${homedir()}/.ssh/known_hosts`;
}

export type HostKeyVerdict =
  | { kind: 'trusted'; entry: KnownHostEntry }
  | { kind: 'revoked'; entry: KnownHostEntry }
  /** The host is known with a key of the same type that differs. */
  | { kind: 'changed'; entries: KnownHostEntry[] }
  /** No key of this type is recorded for the host (knownTypes: the types that are). */
  | { kind: 'unknown'; knownTypes: string[] };

/** OpenSSH SHA256 fingerprint: "SHA256:" + unpadded base64 of the key blob's digest. */
export function hostKeyFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH wire-format public key blob (e.g. "ssh-ed25519"). */
export function keyTypeOfBlob(keyBlob: Buffer): string {
  if (keyBlob.length < 4) throw new Error('public key blob too short');
  const length = keyBlob.readUInt32BE(0);
  if (length > 64 || keyBlob.length < 4 + length) throw new Error('malformed public key blob');
  return keyBlob.subarray(4, 4 + length).toString('latin1');
}

/** The name OpenSSH looks up: "host" on port 22, "[host]:port" otherwise. */
export function knownHostsName(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === 22 ? lower : `[${lower}]:${port}`;
}

export function hashHostName(name: string, salt: Buffer): Buffer {
  return createHmac('sha1', salt).update(name).digest();
}

export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const entry = parseLine(raw, file, index + 1);
    if (entry) entries.push(entry);
  });
  return entries;
}

// Malformed lines are skipped, as OpenSSH does, rather than failing every connection.
function parseLine(raw: string, file: string, line: number): KnownHostEntry | undefined {
  const trimmed = raw.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const fields = trimmed.split(/\s+/);
  let marker: KnownHostEntry['marker'];
  if (fields[0]?.startsWith('@')) {
    const name = fields.shift();
    if (name === '@revoked') marker = 'revoked';
    else if (name === '@cert-authority') marker = 'cert-authority';
    else return undefined;
  }
  const [hostField, keyType, keyBase64] = fields;
  if (!hostField || !keyType || !keyBase64) return undefined;
  const keyBlob = Buffer.from(keyBase64, 'base64');
  try {
    if (keyTypeOfBlob(keyBlob) !== keyType) return undefined;
  } catch {
    return undefined;
  }
  const base = { file, line, marker, keyType, keyBase64, keyBlob };
  if (hostField.startsWith('|1|')) {
    const [, , salt, hash] = hostField.split('|');
    if (!salt || !hash) return undefined;
    return { ...base, hashed: { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') } };
  }
  return { ...base, patterns: hostField.split(',').filter((p) => p !== '') };
}

const globs = new Map<string, RegExp>();

/** OpenSSH glob: `*` any run, `?` one character. Each pattern is compiled once per process. */
function globMatches(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern.toLowerCase() === name;
  let compiled = globs.get(pattern);
  if (!compiled) {
    const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    globs.set(pattern, (compiled = new RegExp(`^${regex}$`, 'i')));
  }
  return compiled.test(name);
}

export function entryMatchesHost(entry: KnownHostEntry, host: string, port: number): boolean {
  const name = knownHostsName(host, port);
  if (entry.hashed) return hashHostName(name, entry.hashed.salt).equals(entry.hashed.hash);
  let matched = false;
  for (const pattern of entry.patterns ?? []) {
    if (pattern.startsWith('!')) {
      if (globMatches(pattern.slice(1), name)) return false;
    } else if (globMatches(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/**
 * Judges a server's key against known entries. A revoked key is refused whatever host it is
 * listed for; a matching key of the same type is trusted; a different key of the same type is
 * a change; otherwise the key is unknown.
 */
export function judgeHostKey(entries: KnownHostEntry[], host: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  const revoked = entries.find((e) => e.marker === 'revoked' && e.keyBlob.equals(keyBlob));
  if (revoked) return { kind: 'revoked', entry: revoked };
  const keyType = keyTypeOfBlob(keyBlob);
  const forHost = entries.filter((e) => e.marker === undefined && entryMatchesHost(e, host, port));
  const trusted = forHost.find((e) => e.keyBlob.equals(keyBlob));
  if (trusted) return { kind: 'trusted', entry: trusted };
  const sameType = forHost.filter((e) => e.keyType === keyType);
  if (sameType.length > 0) return { kind: 'changed', entries: sameType };
  return { kind: 'unknown', knownTypes: [...new Set(forHost.map((e) => e.keyType))] };
}

export async function loadKnownHosts(files: readonly string[]): Promise<KnownHostEntry[]> {
  const all: KnownHostEntry[] = [];
  for (const file of files) {
    let text: string;
    try {
      // read on every connection (and again by the keeper before it hands one over): small, and a
      // synchronous read costs a fraction of a promise's (no thread pool hops, no FileHandle)
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new Error(`cannot read known_hosts file ${file}: ${(err as Error).message}`);
    }
    all.push(...parsedOnce(text, file));
  }
  return all;
}

const parsed = new Map<string, { text: string; entries: KnownHostEntry[] }>();

/**
 * A known_hosts file is read for every connection (a key recorded meanwhile counts), but parsed
 * again only when its text changed: with N hosts in one file, a run parses it once, not N times.
 */
function parsedOnce(text: string, file: string): KnownHostEntry[] {
  const last = parsed.get(file);
  if (last?.text === text) return last.entries;
  const entries = parseKnownHosts(text, file);
  parsed.set(file, { text, entries });
  return entries;
}

/** The known_hosts key types OpenSSH would prefer for this host, as ssh2 algorithm names. */
export function hostKeyAlgorithmsFor(knownTypes: readonly string[]): string[] {
  const all = [
    'ssh-ed25519',
    'ecdsa-sha2-nistp256',
    'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521',
    'rsa-sha2-512',
    'rsa-sha2-256',
    'ssh-rsa',
  ];
  const algorithmsOf = (type: string): string[] =>
    type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : all.includes(type) ? [type] : [];
  const preferred = knownTypes.flatMap(algorithmsOf);
  return [...new Set([...preferred, ...all])];
}

/** Appends one plain entry, creating the file (0600) and its directory (0700) if needed. */
export async function recordHostKey(file: string, host: string, port: number, keyBlob: Buffer): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const existing = await readFile(file);
    if (existing.length > 0 && existing[existing.length - 1] !== 0x0a) prefix = '\n';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const line = `${knownHostsName(host, port)} ${keyTypeOfBlob(keyBlob)} ${keyBlob.toString('base64')}\n`;
  await appendFile(file, prefix + line, { mode: 0o600 });
}

export interface HostKeyCheck {
  /** known_hosts files; new keys are recorded in the first. */
  files: readonly string[];
  /** The name the key is recorded under (HostName or HostKeyAlias) and the port. */
  host: string;
  port: number;
  keyBlob: Buffer;
  acceptNew: boolean;
}

export type HostKeyOutcome = { ok: true; recordedIn?: string } | { ok: false; reason: string };

/** Verifies a server's host key; with acceptNew, records an unknown one. Never accepts a changed or revoked key. */
export async function checkServerHostKey(check: HostKeyCheck): Promise<HostKeyOutcome> {
  const { files, host, port, keyBlob } = check;
  const entries = await loadKnownHosts(files);
  const verdict = judgeHostKey(entries, host, port, keyBlob);
  const keyType = keyTypeOfBlob(keyBlob);
  const fingerprint = hostKeyFingerprint(keyBlob);
  const name = knownHostsName(host, port);
  switch (verdict.kind) {
    case 'trusted':
      return { ok: true };
    case 'revoked':
      return {
        ok: false,
        reason:
          `the host key presented by ${name} (${keyType} ${fingerprint}) is marked @revoked in ` +
          `${verdict.entry.file}:${verdict.entry.line}; refusing to connect`,
      };
    case 'changed': {
      const where = verdict.entries.map((e) => `${e.file}:${e.line} (${hostKeyFingerprint(e.keyBlob)})`).join(', ');
      return {
        ok: false,
        reason:
          `WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! The ${keyType} host key of ${name} is now ` +
          `${fingerprint}, but known_hosts has a different one at ${where}. Someone may be intercepting ` +
          `this connection (man-in-the-middle), or the server was reinstalled. Refusing to connect, even ` +
          `with --accept-new-host-keys. If the change is expected, verify the new fingerprint, remove the ` +
          `old entry with \`ssh-keygen -R '${name}' -f ${verdict.entries[0]!.file}\` and accept the new key.`,
      };
    }
    case 'unknown': {
      const target = files[0];
      if (check.acceptNew && target !== undefined) {
        await recordHostKey(target, host, port, keyBlob);
        return { ok: true, recordedIn: target };
      }
      const others = verdict.knownTypes.length > 0 ? ` (known_hosts has only ${verdict.knownTypes.join(', ')} keys for it)` : '';
      const shortType = keyType.replace(/^ssh-/, '').replace(/^ecdsa-sha2-nistp\d+$/, 'ecdsa');
      const portFlag = port === 22 ? '' : `-p ${port} `;
      return {
        ok: false,
        reason:
          `host key of ${name} is not known${others}: ${keyType} ${fingerprint}. Verify this fingerprint ` +
          `out of band (on the server: \`ssh-keygen -lf /etc/ssh/ssh_host_${shortType}_key.pub\`), then ` +
          `re-run with --accept-new-host-keys to trust it on first use, or add it with ` +
          `\`ssh-keyscan ${portFlag}-t ${shortType} ${host} >> ${target ?? '~/.ssh/known_hosts'}\`.`,
      };
    }
  }
}

/** Key types recorded for a host, so the handshake can prefer a key we can verify. */
export async function knownKeyTypes(files: readonly string[], host: string, port: number): Promise<string[]> {
  const entries = await loadKnownHosts(files);
  return [...new Set(entries.filter((e) => e.marker === undefined && entryMatchesHost(e, host, port)).map((e) => e.keyType))];
}
