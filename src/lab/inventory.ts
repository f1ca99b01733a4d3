import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { runLocal } from '../artifacts/exec-local.js';
import type { LabNode } from './nodes.js';
import { LAB_VIP } from './state.js';

export interface LabInventoryInput {
  dir: string;
  nodes: LabNode[];
  clientKey: string;
  knownHosts: string;
  aptProxy: string;
  releasesUrl: string;
  app: { image: string; tarball: string };
  /** the lab's Pebble (`lab up --acme`): the app LAB_ACME_APP gets tls: acme from this directory */
  acme?: { directory: string; caBundle: string; validitySeconds: number };
}

/** SERVICE_CHECK_INTERVAL of the demo containers: how soon a failing instance leaves the LB. */
export const LAB_CHECK_INTERVAL = '1s';

/** The lab's apps: one plain HTTP, one TLS (self-signed), each published on its own port. */
export const LAB_APPS = [
  { name: 'demo', port: 8081, server_name: ['demo.lab.test'] },
  { name: 'secure', port: 8082, server_name: ['secure.lab.test'], tls: true },
] as const;

/** With `lab up --acme`: an app whose certificate comes from the lab's Pebble (tls: acme). */
export const LAB_ACME_APP = { name: 'auto', port: 8083, server_name: ['auto.lab.test', 'www.auto.lab.test'] } as const;

/**
 * The acme variables of the lab: its Pebble, and a check every 15 s with retries 5 s apart, so the
 * e2e scenarios see renewals of short-lived certificates within seconds of their due time. Certificates shorter
 * than the default warning of 14 days would always fail verify: the warning is then 0 days (verify
 * still fails an expired one).
 */
export function labAcmeVars(acme: { directory: string; caBundle: string; validitySeconds: number }, rel: (p: string) => string) {
  return {
    directory: acme.directory,
    ca_bundle: rel(acme.caBundle),
    check_interval: 15,
    retry_delay: 5,
    ...(acme.validitySeconds < 28 * 86_400 ? { expiry_warning_days: 0 } : {}),
  };
}

/** A self-signed certificate for the lab's TLS app, made once. */
export async function ensureLabCertificate(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'tls', `${name}.crt`);
  const key = join(dir, 'tls', `${name}.key`);
  if (!existsSync(cert) || !existsSync(key)) {
    mkdirSync(join(dir, 'tls'), { recursive: true, mode: 0o700 });
    await runLocal(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '365', '-subj', `/CN=${name}`,
      '-addext', `subjectAltName=DNS:${name}`, '-keyout', key, '-out', cert]);
  }
  return { cert, key };
}

/**
 * The hard open-files limit on this machine (the lab's, which its engine and containers inherit). When it is below the
 * stack's default for consul and nothing here may raise it (no CAP_SYS_RESOURCE in the bounding
 * set, as in some sandboxes), the lab asks for that much: Upstart's `limit` stanza fails the job
 * rather than settle for less (systemd quietly lowers LimitNOFILE to what it can get).
 */
export function labNofileLimit(limits = readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  const hard = /^Max open files\s+\S+\s+(\d+)/m.exec(limits)?.[1];
  return hard !== undefined && Number(hard) < 65536 ? Number(hard) : undefined;
}

/** Writes the lab inventory (a normal inventory a user can read and reuse) and returns its path. */
export async function writeLabInventory(input: LabInventoryInput): Promise<string> {
  const { dir } = input;
  const rel = (p: string) => relative(dir, p) || '.';
  const apps: Array<Record<string, unknown>> = [];
  for (const app of LAB_APPS) {
    const tls = 'tls' in app ? await ensureLabCertificate(dir, app.server_name[0]) : undefined;
    apps.push({ name: app.name, server_name: [...app.server_name], ...(tls ? { tls: { cert: rel(tls.cert), key: rel(tls.key) } } : {}) });
  }
  const labApps: Array<{ name: string; port: number }> = LAB_APPS.map((a) => ({ name: a.name, port: a.port }));
  if (input.acme) {
    apps.push({ name: LAB_ACME_APP.name, server_name: [...LAB_ACME_APP.server_name], tls: 'acme' });
    labApps.push({ name: LAB_ACME_APP.name, port: LAB_ACME_APP.port });
  }
  const hosts = (role: LabNode['role']) =>
    Object.fromEntries(input.nodes.filter((n) => n.role === role).map((n) => [n.name, { address: n.address, private_address: n.privateAddress }]));
  const inventory = {
    all: {
      vars: {
        ssh: { user: 'root', key: rel(input.clientKey), known_hosts: rel(input.knownHosts) },
        apt_proxy: input.aptProxy,
        // short enough for the e2e suite to watch an old worker go
        nginx_worker_shutdown_timeout: '10s',
        // several LBs share a floating address (keepalived) on the public network
        ...(input.nodes.filter((n) => n.role === 'lb').length >= 2 ? { lb_vip: `${LAB_VIP}/24` } : {}),
        consul: { release_base_url: input.releasesUrl },
        consul_template: { release_base_url: input.releasesUrl },
        ...(labNofileLimit() ? { consul_nofile_limit: labNofileLimit() } : {}),
        apps,
        ...(input.acme ? { acme: labAcmeVars(input.acme, rel) } : {}),
        lab: {
          app_image: input.app.image,
          app_image_tarball: input.app.tarball,
          apps: labApps,
          check_interval: LAB_CHECK_INTERVAL,
        },
      },
      children: { lb: { hosts: hosts('lb') }, web: { hosts: hosts('web') } },
    },
  };
  const file = join(dir, 'inventory.yaml');
  writeFileSync(file, `# Written by \`bootstrap lab up\`: the lab's nodes, keys and local artifact sources.\n${stringify(inventory)}`);
  return file;
}
