/**
 * Where ssh2 spends CPU per connection on work whose result we never use, or redoes for every
 * connection what one would do: the fixes, each behind the same bytes on the wire.
 */
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import ssh2Handlers from 'ssh2/lib/protocol/handlers.js';
import ssh2Utils from 'ssh2/lib/protocol/utils.js';
import { corkPerTick } from '../cork-per-tick.js';

/** What a parsed private key (ssh2's ParsedKey) offers us. */
export interface OwnKey {
  type?: string;
  getPrivatePEM?: () => string | null;
  sign?: (data: Buffer, hash?: string) => Buffer | Error;
}

/** The hash crypto.sign() takes for a key type, as ssh2 signs with it; RSA's comes from the algorithm offered. */
const HASH_OF_TYPE: Record<string, string | null> = {
  'ssh-ed25519': null,
  'ecdsa-sha2-nistp256': 'sha256',
  'ecdsa-sha2-nistp384': 'sha384',
  'ecdsa-sha2-nistp521': 'sha512',
};

const keyObjects = new WeakMap<OwnKey, KeyObject>();

/**
 * ssh2's ParsedKey.sign() hands crypto.sign() the key as PEM text, which OpenSSL decodes again
 * for every signature: ~0.8 ms of a login's CPU against ~0.08 ms for the signature itself (an
 * ed25519 key). The key is decoded once per parsed key here and signed with as ssh2 would: the
 * same algorithm and hash, the same signature bytes. A key type not known here signs as before.
 */
export function signOnce(key: OwnKey, data: Buffer, hash: string | undefined): Buffer | Error {
  const algorithm = hash ?? (key.type === undefined ? undefined : HASH_OF_TYPE[key.type]);
  if (algorithm === undefined || typeof key.getPrivatePEM !== 'function') return key.sign!(data, hash);
  let keyObject = keyObjects.get(key);
  if (keyObject === undefined) {
    const pem = key.getPrivatePEM();
    if (pem === null) return key.sign!(data, hash);
    keyObject = createPrivateKey(pem);
    keyObjects.set(key, keyObject);
  }
  try {
    return sign(algorithm, data, keyObject);
  } catch (error) {
    return error as Error;
  }
}

const SSH_MSG_IGNORE = 2;
const SSH_MSG_GLOBAL_REQUEST = 80;
/** ssh2's packet writer (lib/protocol/Protocol.js): a packet is allocated, filled from allocStart, then finalized (padding, MAC, encryption). */
interface PacketWriter {
  allocStart: number;
  alloc(payloadLength: number): Buffer;
  finalize(packet: Buffer): Buffer;
}
const HOSTKEYS = Buffer.from('hostkeys-00@openssh.com');
type PayloadHandler = (protocol: unknown, payload: Buffer) => unknown;
let hostKeysDropped = false;

/**
 * After authentication OpenSSH announces its other host keys (hostkeys-00@openssh.com, for
 * UpdateHostKeys). ssh2 parses every key in it, then answers by asking the server to sign with
 * each of them and verifying the signatures, to emit a 'hostkeys' event we never use
 * (known_hosts is never updated from a connection): a round trip, a signature per key on the
 * host and a parse and a verify per key here, for every connection. The announcement wants no
 * reply, so it is dropped as it arrives, before ssh2 parses it; any other global request is
 * handled as before. ssh2 has no option for it; this wraps the handler of its message table,
 * which all its clients share (runner-round-trips asserts sshd is never asked).
 *
 * It is answered with SSH_MSG_IGNORE, which every implementation ignores (RFC 4253 11.2): sshd
 * writes without TCP_NODELAY outside interactive sessions, so the confirmation of our first
 * channel, written right after the announcement, waits in its kernel until our ACK of the
 * announcement, which Linux delays by 40 ms when no data goes back with it. The ignore message
 * carries the ACK at once (a fresh connection's first command: 63 -> 27 ms on loopback).
 */
export function dropHostKeysAnnouncements(): void {
  if (hostKeysDropped) return;
  const handlers = ssh2Handlers as PayloadHandler[];
  const handle = handlers[SSH_MSG_GLOBAL_REQUEST];
  if (typeof handle !== 'function') throw new Error('ssh2 has no GLOBAL_REQUEST handler where expected (lib/protocol/handlers.js)');
  const { sendPacket } = ssh2Utils as { sendPacket: (protocol: unknown, packet: Buffer) => void };
  handlers[SSH_MSG_GLOBAL_REQUEST] = (protocol, payload) => {
    if (!isHostKeysAnnouncement(payload)) return handle(protocol, payload);
    const writer = (protocol as { _packetRW: { write: PacketWriter } })._packetRW.write;
    const start = writer.allocStart;
    const packet = writer.alloc(5);
    packet[start] = SSH_MSG_IGNORE;
    packet.writeUInt32BE(0, start + 1); // string data: empty
    sendPacket(protocol, writer.finalize(packet));
    return undefined;
  };
  hostKeysDropped = true;
}

/** byte 80, string "hostkeys-00@openssh.com", boolean want-reply false, then the keys (RFC 4254 4) */
function isHostKeysAnnouncement(payload: Buffer): boolean {
  const nameEnd = 5 + HOSTKEYS.length;
  return payload.length > nameEnd && payload.readUInt32BE(1) === HOSTKEYS.length && payload.subarray(5, nameEnd).equals(HOSTKEYS) && payload[nameEnd] === 0;
}

/**
 * ssh2 writes every packet to the socket on its own: a send() each, and on loopback or a LAN
 * each wakes the host's sshd. Packets queued in the same tick (a command's stdin and its EOF,
 * two channels opened together, replies to a burst of messages) go out in one write instead.
 */
export function coalesceWrites(client: unknown): void {
  type Writer = { _onWrite?: (data: Buffer) => void };
  const internals = client as { _sock?: { cork?: () => void; uncork?: () => void }; _protocol?: Writer & { _cipher?: Writer } };
  const sock = internals._sock;
  const protocol = internals._protocol;
  const write = protocol?._onWrite;
  if (!sock || !protocol || typeof write !== 'function' || typeof sock.cork !== 'function' || typeof sock.uncork !== 'function') return;
  const cork = corkPerTick(sock as { cork(): void; uncork(): void });
  protocol._onWrite = (data: Buffer) => {
    cork();
    write(data);
  };
  // the handshake's cipher (no encryption yet) holds the write it was made with; the keyed ones take it at key exchange
  if (protocol._cipher?._onWrite === write) protocol._cipher._onWrite = protocol._onWrite;
}
