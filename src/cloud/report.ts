import { hasDeletable, type DownResult, type DownState } from './down.js';
import { publicIpv4 } from './naming.js';
import type { StatusResult } from './status.js';
import type { CloudSpec } from './types.js';
import type { UpResult } from './up.js';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => '  ' + r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

function requestLines(requests: { method: string; url: string; body?: unknown }[]): string {
  return requests.map((r) => `${r.method} ${r.url}${r.body === undefined ? '' : ` ${JSON.stringify(r.body)}`}\n`).join('');
}

export function formatUp(spec: CloudSpec, result: UpResult): string {
  // A real run gave its warnings on stderr as it went.
  let out = result.dryRun ? result.warnings.map((w) => `warning: ${w}\n`).join('') : '';
  if (result.dryRun) {
    if (result.requests.length === 0) return out + `dry run: environment ${spec.env} is complete, no request would change anything\n`;
    return out + `dry run: these requests would be sent (then wait for the droplets and record their host keys):\n` + requestLines(result.requests);
  }
  out += `environment ${spec.env} (${spec.region}): ${result.hosts.length} droplets ready\n`;
  out += table([
    ['HOST', 'DROPLET', 'ADDRESS', 'PRIVATE', 'HOST KEY'],
    ...result.hosts.map((h) => [h.name, h.dropletName, h.address, h.privateAddress ?? '-', `${h.hostKey.type} ${h.hostKey.fingerprint}`]),
  ]);
  out += `inventory: ${result.inventory} (host keys in ${result.knownHosts})\n`;
  out += `next: bootstrap ${result.inventory} && bootstrap verify ${result.inventory}\n`;
  return out;
}

export function formatDownPlan(env: string, state: DownState, requests: { method: string; url: string }[]): string {
  const kept = [...(state.vpc?.default ? [state.vpc] : []), ...state.regionDefaults];
  const keptLines = kept.map((v) => `  VPC ${v.name} (${v.id}) stays: it is the default VPC of ${v.region}, which the API never deletes\n`).join('');
  if (!hasDeletable(state)) return `environment ${env}: nothing to destroy\n${keptLines}`;
  let out = `environment ${env} has:\n`;
  for (const d of [...state.droplets, ...state.untagged]) out += `  droplet ${d.name} (id ${d.id}${publicIpv4(d) ? `, ${publicIpv4(d)}` : ''})\n`;
  if (state.vpc && !state.vpc.default) out += `  VPC ${state.vpc.name} (${state.vpc.id})\n`;
  out += keptLines;
  if (requests.length > 0) out += `dry run: these requests would be sent:\n` + requestLines(requests);
  return out;
}

export function formatDown(env: string, result: DownResult): string {
  const { droplets, vpc } = result.destroyed;
  let out = droplets.length === 0 && !vpc ? `environment ${env}: ${result.requests.length === 0 ? 'nothing to destroy' : 'nothing destroyed'}\n` : `environment ${env} destroyed:\n`;
  for (const d of droplets) out += `  droplet ${d.name} (id ${d.id}${d.address ? `, ${d.address}` : ''})\n`;
  if (vpc) out += `  VPC ${vpc.name} (${vpc.id})\n`;
  if (result.left.length > 0) out += `not deleted:\n`;
  for (const l of result.left) out += `  ${l.kind} ${l.name} (${l.id}): ${l.reason}\n`;
  return out;
}

const dollars = (n: number): string => `$${n.toFixed(4)}`;

export function formatStatus(result: StatusResult): string {
  if (result.droplets.length === 0) return `environment ${result.env}: no droplets${result.vpc ? ` (VPC ${result.vpc.name} exists)` : ''}\n`;
  let out = `environment ${result.env}${result.vpc ? ` (VPC ${result.vpc.name} ${result.vpc.region}${result.vpc.ipRange ? ` ${result.vpc.ipRange}` : ''})` : ''}:\n`;
  out += table([
    ['DROPLET', 'ROLE', 'STATUS', 'ADDRESS', 'PRIVATE', 'SIZE', 'PER HOUR'],
    ...result.droplets.map((d) => [d.name, d.role ?? '-', d.status, d.address ?? '-', d.privateAddress ?? '-', d.size, d.priceHourly === undefined ? '?' : dollars(d.priceHourly)]),
  ]);
  out += `estimated cost: ${dollars(result.totalHourly)} per hour (${dollars(result.totalHourly * 24)} per day)`;
  out += result.unpricedSizes.length > 0 ? `, not counting sizes without a listed price: ${result.unpricedSizes.join(', ')}\n` : '\n';
  return out;
}
