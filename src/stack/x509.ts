import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

/*
 * X.509 certificates made with node:crypto alone: node parses certificates (X509Certificate) but
 * cannot issue them, so the TBSCertificate is encoded here in DER (RFC 5280) and signed with the
 * issuer's ECDSA P-256 key, the key type `consul tls` uses.
 */

const tlv = (tag: number, content: Buffer): Buffer => {
  const n = content.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : n < 0x10000 ? Buffer.from([0x82, n >> 8, n & 0xff]) : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
};
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, inner: Buffer) => tlv(0xa0 + n, inner);
const bool = (value: boolean) => tlv(0x01, Buffer.from([value ? 0xff : 0]));
const octets = (value: Buffer) => tlv(0x04, value);
const bits = (value: Buffer, unused = 0) => tlv(0x03, Buffer.concat([Buffer.from([unused]), value]));
const utf8 = (value: string) => tlv(0x0c, Buffer.from(value, 'utf8'));

/** A non-negative INTEGER from big-endian bytes (a leading 0 keeps it positive). */
function integer(value: Buffer): Buffer {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  const trimmed = value.subarray(start);
  return tlv(0x02, trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [a! * 40 + b!];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

function name(commonName: string, organization?: string): Buffer {
  const rdn = (type: string, value: string) => set(seq(oid(type), utf8(value)));
  return seq(...(organization ? [rdn(OID.organization, organization)] : []), rdn(OID.commonName, commonName));
}

const extension = (type: string, critical: boolean, value: Buffer) => seq(oid(type), ...(critical ? [bool(true)] : []), octets(value));

/** The SubjectPublicKey bits' SHA-1 (RFC 5280 4.2.1.2, method 1). */
function keyId(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // the BIT STRING is the last element of the SubjectPublicKeyInfo; for P-256 it is the trailing 65 bytes
  return createHash('sha1').update(spki.subarray(spki.length - 65)).digest();
}

// keyUsage bits: digitalSignature (0), keyCertSign (5), cRLSign (6)
const KU_DIGITAL_SIGNATURE = 0x80;
const KU_CERT_SIGN = 0x04;
const KU_CRL_SIGN = 0x02;

export interface IssueRequest {
  commonName: string;
  organization?: string;
  /** DNS names and IP addresses for subjectAltName */
  altNames?: string[];
  notBefore: Date;
  notAfter: Date;
  /** a CA certificate (basicConstraints CA, keyCertSign) rather than a TLS server + client one */
  ca?: boolean;
  publicKey: KeyObject;
  /** issuer: its key signs; omitted for a self-signed CA */
  issuer?: { commonName: string; organization?: string; privateKey: KeyObject };
  /** the key that signs a self-signed certificate */
  selfKey?: KeyObject;
}

/** A DER certificate as PEM. */
export const pem = (der: Buffer, label = 'CERTIFICATE') => `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;

/** Encodes and signs a certificate; returns it as PEM. */
export function issueCertificate(req: IssueRequest): string {
  const signer = req.issuer?.privateKey ?? req.selfKey;
  if (!signer) throw new Error('issueCertificate: neither an issuer nor a self-signing key');
  const issuerKeyId = keyId(createPublicKey(signer));
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const altNames = (req.altNames ?? []).map((n) => (isIP(n) === 4 ? tlv(0x87, Buffer.from(n.split('.').map(Number))) : tlv(0x82, Buffer.from(n, 'ascii'))));
  const extensions = [
    extension(OID.basicConstraints, true, req.ca ? seq(bool(true)) : seq()),
    extension(OID.keyUsage, true, req.ca ? bits(Buffer.from([KU_DIGITAL_SIGNATURE | KU_CERT_SIGN | KU_CRL_SIGN]), 1) : bits(Buffer.from([KU_DIGITAL_SIGNATURE]), 7)),
    ...(req.ca ? [] : [extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth), oid(OID.clientAuth)))]),
    extension(OID.subjectKeyIdentifier, false, octets(keyId(req.publicKey))),
    extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, issuerKeyId))),
    ...(altNames.length ? [extension(OID.subjectAltName, false, seq(...altNames))] : []),
  ];
  const issuerName = req.issuer ? name(req.issuer.commonName, req.issuer.organization) : name(req.commonName, req.organization);
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    algorithm,
    issuerName,
    seq(time(req.notBefore), time(req.notAfter)),
    name(req.commonName, req.organization),
    req.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, signer);
  return pem(seq(tbs, algorithm, bits(signature)));
}

/** A new ECDSA P-256 key pair (the key type of `consul tls`). */
export function newKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

/** A private key as PEM in the SEC 1 form (`EC PRIVATE KEY`) that `consul tls` writes. */
export const keyPem = (key: KeyObject) => String(key.export({ type: 'sec1', format: 'pem' }));
