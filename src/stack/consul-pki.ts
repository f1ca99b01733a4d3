import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCertificate, keyPem, newKeyPair } from './x509.js';

/*
 * The CA of Consul's agent RPC TLS and the servers' certificates, made on the laptop and kept
 * beside the other secrets (.bootstrap/secrets/ next to the inventory), as `consul tls ca create`
 * and `consul tls cert create -server` would make them. The CA key is only ever read here: no
 * task ships it. Client agents get their certificates from the servers (auto_encrypt).
 */

/** Lifetimes as `consul tls` gives them by default: the CA 5 years, server certificates 1 year. */
export const CA_DAYS = 1825;
export const SERVER_CERT_DAYS = 365;
/** A server certificate is issued again once less than this share of its lifetime is left. */
export const RENEW_WHEN_LEFT = 1 / 3;

const DAY_MS = 86_400_000;
const ORGANIZATION = 'bootstrap';

export const CA_CERT_FILE = 'consul-agent-ca.pem';
export const CA_KEY_FILE = 'consul-agent-ca-key.pem';
/** Files of one server's certificate and key in the store (inventory host names are a subset of the store's names). */
export const serverCertFile = (host: string) => `consul-server.${host.toLowerCase()}.pem`;
export const serverKeyFile = (host: string) => `consul-server.${host.toLowerCase()}-key.pem`;

/** The DNS name every server certificate carries: what clients check with verify_server_hostname. */
export const serverName = (datacenter: string, domain = 'consul') => `server.${datacenter}.${domain}`;

/** What playbooks see as `consul_pki`. */
export interface ConsulPki {
  /** the CA certificate (PEM), made on first use */
  ca_cert(): string;
  /** this server's certificate (PEM) for server.<datacenter>.consul, issued again when due */
  server_cert(host: string, datacenter: string): string;
  /** the key of server_cert (PEM) */
  server_key(host: string, datacenter: string): string;
}

export interface ConsulPkiOptions {
  /** now, for renewal decisions (tests move it) */
  now?: () => Date;
  /** every key handed out is told to this (the run's redactor) */
  conceal?: (value: string) => void;
}

function writeNew(file: string, content: string, mode: number): void {
  // written beside and renamed: a reader never sees half a certificate
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, content, { mode });
  renameSync(temp, file);
}

/** Why a stored server certificate cannot be used as it is, or undefined when it can. */
export function serverCertProblem(certPem: string, keyPemText: string, ca: X509Certificate, datacenter: string, now: Date): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return 'unreadable';
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'not signed by the current CA';
  if (!(cert.subjectAltName ?? '').split(', ').includes(`DNS:${serverName(datacenter)}`)) return `not for ${serverName(datacenter)}`;
  try {
    if (!cert.checkPrivateKey(createPrivateKey(keyPemText))) return 'key does not match';
  } catch {
    return 'key unreadable';
  }
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (now.getTime() >= to) return 'expired';
  if (to - now.getTime() < (to - from) * RENEW_WHEN_LEFT) return `expires ${cert.validTo}, less than a third of its lifetime left`;
  return undefined;
}

/** The CA and server certificates kept in `dir` (the secret store's directory). */
export function createConsulPki(dir: string, opts: ConsulPkiOptions = {}): ConsulPki {
  const now = opts.now ?? (() => new Date());
  const conceal = opts.conceal ?? (() => undefined);
  let ca: { cert: string; x509: X509Certificate; key: string } | undefined;
  const servers = new Map<string, { cert: string; key: string }>();

  const ensureDir = () => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  };

  const loadCa = () => {
    if (ca) return ca;
    const certFile = join(dir, CA_CERT_FILE);
    const keyFile = join(dir, CA_KEY_FILE);
    if (existsSync(certFile) !== existsSync(keyFile)) {
      throw new Error(`${existsSync(certFile) ? keyFile : certFile} is missing beside ${existsSync(certFile) ? certFile : keyFile}: restore it, or delete both to make a new CA (every server certificate is then issued again)`);
    }
    if (!existsSync(certFile)) {
      ensureDir();
      const { privateKey, publicKey } = newKeyPair();
      const start = now();
      const commonName = `Consul Agent CA ${Math.floor(start.getTime() / 1000)}`;
      const cert = issueCertificate({ commonName, organization: ORGANIZATION, ca: true, publicKey, selfKey: privateKey, notBefore: new Date(start.getTime() - 60_000), notAfter: new Date(start.getTime() + CA_DAYS * DAY_MS) });
      // the key first: a certificate without its key is refused above, a key alone is not read
      writeFileSync(keyFile, keyPem(privateKey), { mode: 0o600, flag: 'wx' });
      writeFileSync(certFile, cert, { mode: 0o600, flag: 'wx' });
    }
    if ((statSync(keyFile).mode & 0o077) !== 0) chmodSync(keyFile, 0o600);
    const cert = readFileSync(certFile, 'utf8');
    const key = readFileSync(keyFile, 'utf8');
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(cert);
      if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error('the key does not match the certificate');
    } catch (error) {
      throw new Error(`${certFile}: not a usable CA with ${keyFile} (${(error as Error).message}); delete both to make a new CA`);
    }
    if (now().getTime() >= Date.parse(x509.validTo)) throw new Error(`${certFile}: the Consul agent CA expired ${x509.validTo}; docs/security.md "Consul RPC TLS" says how to replace it`);
    conceal(key);
    ca = { cert, x509, key };
    return ca;
  };

  const server = (host: string, datacenter: string) => {
    const memo = servers.get(host);
    if (memo) return memo;
    const authority = loadCa();
    const certFile = join(dir, serverCertFile(host));
    const keyFile = join(dir, serverKeyFile(host));
    if (existsSync(certFile) && existsSync(keyFile)) {
      const cert = readFileSync(certFile, 'utf8');
      const key = readFileSync(keyFile, 'utf8');
      if (!serverCertProblem(cert, key, authority.x509, datacenter, now())) {
        conceal(key);
        servers.set(host, { cert, key });
        return { cert, key };
      }
    }
    ensureDir();
    const { privateKey, publicKey } = newKeyPair();
    const start = now();
    const caKey = createPrivateKey(authority.key);
    const cert = issueCertificate({
      commonName: serverName(datacenter),
      altNames: [serverName(datacenter), 'localhost', '127.0.0.1'],
      publicKey,
      issuer: { commonName: authority.x509.subject.split('\n').find((l) => l.startsWith('CN='))!.slice(3), organization: ORGANIZATION, privateKey: caKey },
      notBefore: new Date(start.getTime() - 60_000),
      notAfter: new Date(Math.min(start.getTime() + SERVER_CERT_DAYS * DAY_MS, Date.parse(authority.x509.validTo))),
    });
    const key = keyPem(privateKey);
    writeNew(keyFile, key, 0o600);
    writeNew(certFile, cert, 0o600);
    conceal(key);
    servers.set(host, { cert, key });
    return { cert, key };
  };

  return {
    ca_cert: () => loadCa().cert,
    server_cert: (host, datacenter) => server(host, datacenter).cert,
    server_key: (host, datacenter) => server(host, datacenter).key,
  };
}

/** Stands in for the store where nothing may be created (validation) or nothing random may show (golden files). */
export function placeholderConsulPki(): ConsulPki {
  const block = (label: string, what: string) => `-----BEGIN ${label}-----\n${Buffer.from(what).toString('base64')}\n-----END ${label}-----\n`;
  return {
    ca_cert: () => block('CERTIFICATE', 'placeholder: the Consul agent CA'),
    server_cert: (host, datacenter) => block('CERTIFICATE', `placeholder: ${serverName(datacenter)} for ${host}`),
    server_key: (host) => block('EC PRIVATE KEY', `placeholder: key of ${host}`),
  };
}
