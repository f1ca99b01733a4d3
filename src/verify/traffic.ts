import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tail } from '../errors.js';
import type { Fact } from '../facts/types.js';
import type { Host } from '../inventory/types.js';
import type { ExecResult } from '../transport/types.js';
import { acmeCertificateCheck, type SeenCertificate } from './acme.js';
import { list, type App } from './checks.js';
import { accessLogTailFact, haproxyRuntimeFact } from './facts.js';
import { probe, type Probe } from './http.js';
import { parseServerSessions, parseUpstreamAddrs } from './parse.js';
import type { CheckResult, VerifyOptions } from './types.js';

/** The backends each probe request went to, or why that is not known. */
export type Served = { perRequest: string[][] } | { error: string };

/**
 * Which backends served the probe requests, from facts of the LB: `before` is read with the
 * LB's other facts (before any request), `after` once every request of verify went out.
 */
export interface Spread {
  before(app: App): Fact<ExecResult>[];
  after(app: App, requests: number): Fact<ExecResult>;
  served(app: App, marker: string, before: ExecResult | undefined, after: ExecResult): Served;
}

/** nginx: the access log's upstream= of the requests carrying the marker. */
export const nginxSpread: Spread = {
  before: () => [],
  after: (app, requests) => accessLogTailFact(app.name, Math.max(500, requests * 10)),
  served(_app, marker, _before, log) {
    const perRequest = parseUpstreamAddrs(log.stdout, marker);
    if (perRequest.length === 0) return { error: `none of the requests found in the access log${log.code !== 0 ? `: ${tail(log.stderr, 1)}` : ''}` };
    return { perRequest };
  },
};

const showStat = (app: App) => haproxyRuntimeFact(`show stat ${app.name} 4 -1`);

/** haproxy: growth of each server's session counter (`show stat`) over the probe requests; other traffic at the same time counts too. */
export const haproxySpread: Spread = {
  before: (app) => [showStat(app)],
  after: (app) => showStat(app),
  served(app, _marker, before, r) {
    let start: Map<string, number>;
    try {
      start = parseServerSessions(before?.stdout ?? '', app.name);
    } catch {
      start = new Map();
    }
    let after: Map<string, number>;
    try {
      if (r.code !== 0) throw new Error(`runtime API: socat exited ${r.code}: ${tail(r.stderr, 1)}`);
      after = parseServerSessions(r.stdout, app.name);
    } catch (err) {
      return { error: (err as Error).message };
    }
    const perRequest: string[][] = [];
    for (const [addr, sessions] of after) {
      for (let i = start.get(addr) ?? 0; i < sessions; i++) perRequest.push([addr]);
    }
    if (perRequest.length === 0) return { error: 'no server session counter grew during the requests' };
    return { perRequest };
  },
};

/** What the requests through one LB for one app showed; the spread over backends is judged once the LB was read again. */
export interface Probed {
  results: CheckResult[];
  /** the User-Agent of the requests, to find them in the access log */
  marker: string;
}

/** HTTP(S) from here through the LB with the app's name: the redirect to https, the answers and the certificate. */
export async function probeThrough(lb: Host, app: App, requests: number, opts: VerifyOptions): Promise<Probed> {
  const out: CheckResult[] = [];
  const hostName = app.server_name[0]!;
  const marker = `bootstrap-verify/${randomBytes(6).toString('hex')}`;
  const base: Omit<Probe, 'scheme' | 'port'> = { address: lb.address, hostName, userAgent: marker, timeoutMs: opts.timeoutMs ?? 10_000 };
  const where = { host: lb.name, app: app.name };

  const first = await probe({ ...base, scheme: 'http', port: opts.httpPort ?? 80 }).catch((err: Error) => err);
  if (app.tls) {
    const redirected = !(first instanceof Error) && first.status === 301 && (first.location ?? '').startsWith(`https://${hostName}`);
    out.push({ check: 'http -> https', ...where, ok: redirected, detail: first instanceof Error ? first.message : `${first.status}${first.location ? ` to ${first.location}` : ''}` });
  }
  const scheme = app.tls ? 'https' : 'http';
  const port = app.tls ? (opts.httpsPort ?? 443) : (opts.httpPort ?? 80);
  const statuses: number[] = [];
  let failure: string | undefined;
  let fingerprint: string | undefined;
  let presented: SeenCertificate | undefined;
  for (let i = 0; i < requests && !failure; i++) {
    try {
      const r = await probe({ ...base, scheme, port });
      statuses.push(r.status);
      fingerprint ??= r.certFingerprint;
      presented ??= r.certValidTo ? { validTo: r.certValidTo, altNames: r.certAltNames } : undefined;
    } catch (err) {
      failure = (err as Error).message;
    }
  }
  const good = statuses.filter((s) => s >= 200 && s < 300).length;
  out.push({
    check: scheme,
    ...where,
    ok: !failure && good === statuses.length && good > 0,
    detail: failure ?? `${good}/${statuses.length} answered 2xx${good < statuses.length ? ` (got ${[...new Set(statuses)].join(', ')})` : ''} for Host ${hostName}`,
  });
  if (app.tls === 'acme') {
    const warningDays = (lb.vars.acme as { expiry_warning_days?: number } | undefined)?.expiry_warning_days ?? 14;
    out.push(acmeCertificateCheck(app, presented, where, warningDays));
  } else if (app.tls) out.push(certificateCheck(app, fingerprint, where));
  return { results: out, marker };
}

/** Every healthy instance got requests (round robin, least_conn), or only registered ones did (ip_hash: one client, one backend). */
export function spreadCheck(lb: string, app: App, instances: string[], seen: Served): CheckResult {
  const served = 'perRequest' in seen ? seen.perRequest : [];
  const used = [...new Set(served.flat())].sort();
  const unknown = used.filter((addr) => !instances.includes(addr));
  let ok: boolean;
  let detail: string;
  if ('error' in seen) {
    ok = false;
    detail = seen.error;
  } else if (app.balance === 'ip_hash') {
    ok = used.length > 0 && unknown.length === 0;
    detail = `ip_hash: served by ${list(used)}`;
  } else {
    const missed = instances.filter((addr) => !used.includes(addr));
    ok = missed.length === 0 && unknown.length === 0;
    detail = `${served.length} requests served by ${list(used)}${missed.length ? `; never ${list(missed)}` : ''}${unknown.length ? `; not among its passing instances in Consul: ${list(unknown)}` : ''}`;
  }
  return { check: 'spread over backends', host: lb, app: app.name, ok, detail };
}

function certificateCheck(app: App, fingerprint: string | undefined, where: { host: string; app: string }): CheckResult {
  const base = { check: 'certificate', ...where };
  if (!fingerprint) return { ...base, ok: false, detail: 'no certificate seen' };
  const own = typeof app.tls === 'object' ? app.tls.cert : undefined;
  if (!own) return { ...base, ok: false, detail: 'the app has no certificate file to compare with' };
  try {
    const expected = new X509Certificate(readFileSync(own)).fingerprint256;
    return { ...base, ok: expected === fingerprint, detail: expected === fingerprint ? "the app's certificate" : `a different certificate (${fingerprint.slice(0, 23)}...)` };
  } catch (err) {
    return { ...base, ok: false, detail: `cannot read ${own}: ${(err as Error).message}` };
  }
}
