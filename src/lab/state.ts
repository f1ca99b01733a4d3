import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Labels, names and fixed addresses shared by every part of the lab. */
export const LAB_LABEL = 'bootstrap-lab';
export const CONTAINER_PREFIX = 'bootstrap-lab-';
export const PUBLIC_NETWORK = { name: 'bootstrap-lab-public', subnet: '172.30.10.0/24', gateway: '172.30.10.1', prefix: '172.30.10.' } as const;
export const PRIVATE_NETWORK = { name: 'bootstrap-lab-private', subnet: '172.30.20.0/24', gateway: '172.30.20.1', prefix: '172.30.20.' } as const;
export const APT_PROXY_PORT = 3142;
/** The floating address (lb_vip) of a lab with several LBs: on the public network, outside the nodes' range (.11-.200). */
export const LAB_VIP = `${PUBLIC_NETWORK.prefix}250`;

/** The project directory holding the current working directory (nearest package.json or .git), else cwd. */
function projectRoot(start = process.cwd()): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'package.json')) || existsSync(join(dir, '.git'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(start);
    dir = parent;
  }
}

/** The lab state dir: $BOOTSTRAP_LAB_DIR, else `.lab/` in the project. Created on first use. */
export function labDir(): string {
  const dir = process.env.BOOTSTRAP_LAB_DIR ? resolve(process.env.BOOTSTRAP_LAB_DIR) : join(projectRoot(), '.lab');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function sub(...parts: string[]): string {
  const dir = join(labDir(), ...parts);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export const labPaths = {
  keysDir: () => sub('keys'),
  /** ed25519 private key the lab logs in with; `.pub` beside it. */
  clientKey: () => join(sub('keys'), 'id_ed25519'),
  knownHosts: () => join(labDir(), 'known_hosts'),
  logsDir: () => sub('logs'),
  pidFile: (name: string) => join(sub('run'), `${name}.pid`),
  /** Per-node files generated on the host before the node starts (host keys, staging tree). */
  nodeDir: (node: string) => sub('nodes', node),
};
