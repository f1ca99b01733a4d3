import type { PublishedPort } from '../facts/docker.js';
import type { Host } from '../inventory/types.js';
import type { CheckResult } from './types.js';

const EVERY_ADDRESS = new Set(['0.0.0.0', '::', '']);

/** The published ports that answer on `publicAddress`: bound to every address, or to that one. */
export function publicBindings(ports: PublishedPort[], publicAddress: string): PublishedPort[] {
  return ports.filter((p) => EVERY_ADDRESS.has(p.hostIp) || p.hostIp === publicAddress);
}

/** A web node's published container ports answer on its private address only, never on its public one. */
export function publishedPortsResult(host: Host, ports: PublishedPort[] | null): CheckResult {
  const base = { check: 'published ports', host: host.name };
  if (ports === null) return { ...base, ok: false, detail: 'docker is not installed' };
  const privateAddress = host.privateAddress;
  if (!privateAddress || privateAddress === host.address) {
    return { ...base, ok: true, detail: `${ports.length} published; no private_address apart from ${host.address}, so nothing to keep them off` };
  }
  const exposed = publicBindings(ports, host.address);
  if (exposed.length > 0) {
    const what = exposed.map((p) => `${p.container} publishes ${p.containerPort} on ${p.hostIp}:${p.hostPort}`);
    return { ...base, ok: false, detail: `answer on the public address ${host.address}: ${[...new Set(what)].join('; ')}` };
  }
  const elsewhere = [...new Set(ports.map((p) => p.hostIp))].filter((ip) => ip !== privateAddress);
  return { ...base, ok: true, detail: `${ports.length} published, none on ${host.address} (on ${[privateAddress, ...elsewhere].join(', ')})` };
}
