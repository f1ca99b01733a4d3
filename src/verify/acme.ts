import type { CheckResult } from './types.js';

const DAY_MS = 86_400_000;

export interface SeenCertificate {
  /** notAfter as node prints it ("Mar  7 00:00:00 2027 GMT") */
  validTo?: string;
  /** subjectAltName as node prints it ("DNS:a.example, DNS:b.example") */
  altNames?: string;
}

/**
 * The certificate an LB serves for an app with tls: acme: it names every server_name and expires
 * later than `warningDays` from now. One expiring sooner means renewals have been failing (they
 * start at two thirds of its lifetime): the LBs' journal (acme-renew) says why.
 */
export function acmeCertificateCheck(app: { name: string; server_name: string[] }, seen: SeenCertificate | undefined, where: { host: string; app: string }, warningDays: number, now = Date.now()): CheckResult {
  const base = { check: 'certificate', ...where };
  if (!seen?.validTo) return { ...base, ok: false, detail: 'no certificate seen (none issued yet? journalctl -t acme-renew, or /var/log/upstart/acme-renew.log, on the LBs)' };
  const names = new Set((seen.altNames ?? '').split(',').map((n) => n.trim()).filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4).toLowerCase()));
  const missing = app.server_name.filter((n) => !names.has(n.toLowerCase()));
  if (missing.length) return { ...base, ok: false, detail: `the ACME certificate served does not name ${missing.join(', ')} (it names ${[...names].join(', ') || 'nothing'})` };
  const end = Date.parse(seen.validTo);
  const left = (end - now) / DAY_MS;
  const until = new Date(end).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  if (left < warningDays) {
    const when = left <= 0 ? `expired ${until}` : `expires ${until}, in ${left.toFixed(1)} days`;
    return { ...base, ok: false, detail: `the ACME certificate ${when}, within acme.expiry_warning_days (${warningDays}): its renewal is failing (journalctl -t acme-renew, or /var/log/upstart/acme-renew.log, on the LBs says why)` };
  }
  return { ...base, ok: true, detail: `ACME certificate for ${app.server_name.join(', ')}, valid until ${until} (${Math.floor(left)} days)` };
}
