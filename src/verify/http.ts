import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface ProbeResult {
  status: number;
  location?: string;
  /** sha256 fingerprint of the certificate the server presented (https only) */
  certFingerprint?: string;
  /** the presented certificate's notAfter (as node prints it) and subjectAltName ("DNS:a, DNS:b") */
  certValidTo?: string;
  certAltNames?: string;
}

export interface Probe {
  scheme: 'http' | 'https';
  address: string;
  port: number;
  /** Host header, and SNI for https */
  hostName: string;
  userAgent: string;
  timeoutMs: number;
}

/** One GET / from the laptop to an LB, with Host (and SNI) set to the app's name. The certificate is not verified here; the caller compares its fingerprint. */
export function probe(p: Probe): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const options = {
      host: p.address,
      port: p.port,
      path: '/',
      method: 'GET',
      headers: { Host: p.hostName, 'User-Agent': p.userAgent, Connection: 'close' },
      agent: false as const,
      timeout: p.timeoutMs,
    };
    const req =
      p.scheme === 'https'
        ? httpsRequest({ ...options, servername: p.hostName, rejectUnauthorized: false })
        : httpRequest(options);
    req.on('response', (res) => {
      const cert = p.scheme === 'https' ? (res.socket as TLSSocket).getPeerCertificate?.() : undefined;
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          location: typeof res.headers.location === 'string' ? res.headers.location : undefined,
          certFingerprint: cert && 'fingerprint256' in cert ? cert.fingerprint256 : undefined,
          certValidTo: cert && 'valid_to' in cert ? cert.valid_to : undefined,
          certAltNames: cert && 'subjectaltname' in cert ? cert.subjectaltname : undefined,
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${p.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
