import { Socket } from 'node:net';
import { chmodSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { docker, engineAnswers, ensureDockerEngine, stopDockerEngineIfOurs, waitFor } from './docker-engine.js';
import { DEFAULT_DISTRO, LAB_DISTROS, ensureNodeImage, type LabDistro } from './node-image.js';
import { ensureAptProxy, stopAptProxy } from './apt-proxy.js';
import { ensureClientKey, ensureHostKey, existingHostKey, writeKnownHosts } from './lab-keys.js';
import { type NodeInit, NODE_INITS } from './upstart-node.js';
import { CONTAINER_PREFIX, LAB_LABEL, PRIVATE_NETWORK, PUBLIC_NETWORK, labPaths } from './state.js';

export type LabRole = 'lb' | 'web';

export interface LabNode {
  /** lb1, web1, web2 ... */
  name: string;
  /** Docker container name, bootstrap-lab-NAME. */
  container: string;
  /** On bootstrap-lab-public. */
  address: string;
  /** On bootstrap-lab-private. */
  privateAddress: string;
  role: LabRole;
  /** Debian release the node runs. */
  distro: LabDistro;
  /** What the node boots as PID 1. */
  init: NodeInit;
}

export interface LabNodeStatus extends LabNode {
  /** Docker's container state: running, exited, created... */
  state: string;
  /** `systemctl is-system-running` inside a running systemd node (running, degraded, starting...); on Upstart nodes, running once sshd's job runs. */
  system?: string;
}

const LIMITS: Record<LabRole, { first: number; max: number }> = { lb: { first: 10, max: 40 }, web: { first: 50, max: 150 } };

/**
 * A per-node choice (`--distro`, `--init`): one value for every node (`trixie`), or per node
 * (`lb1=trixie,web1=trixie`, the others `fallback`). Returns the value of each named node, with
 * '*' for the rest.
 */
function parseNodeChoice<T extends string>(option: string, what: string, values: readonly T[], fallback: T, spec: string | undefined): Record<string, T> {
  const choice: Record<string, T> = { '*': fallback };
  const known = (value: string): T => {
    if (!(values as readonly string[]).includes(value)) throw new Error(`lab: ${option} ${JSON.stringify(value)}: expected one of ${values.join(', ')}`);
    return value as T;
  };
  for (const part of (spec ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const [node, value] = part.includes('=') ? part.split('=', 2) : ['*', part];
    if (node !== '*' && !/^(lb|web)[1-9][0-9]*$/.test(node)) throw new Error(`lab: ${option} ${JSON.stringify(part)}: expected NODE=${what} with a node such as lb1 or web2`);
    choice[node] = known(value);
  }
  return choice;
}

/** `--distro`: the Debian release of every node (`trixie`) or per node (`lb1=trixie`); bookworm by default. */
export const parseDistros = (spec: string | undefined): Record<string, LabDistro> => parseNodeChoice('--distro', 'RELEASE', LAB_DISTROS, DEFAULT_DISTRO, spec);

/** `--init`: what every node boots (`upstart`) or per node (`web2=upstart`); systemd by default. */
export const parseInits = (spec: string | undefined): Record<string, NodeInit> => parseNodeChoice('--init', 'INIT', NODE_INITS, 'systemd', spec);

export interface NodeChoices {
  distros?: Record<string, LabDistro>;
  inits?: Record<string, NodeInit>;
}

/** Fixed names and addresses: lbN gets .(10+N), webN gets .(50+N) on both lab networks. */
export function plannedNodes(counts: { lb: number; web: number }, choices: NodeChoices = {}): LabNode[] {
  const { distros = {}, inits = {} } = choices;
  const nodes: LabNode[] = [];
  for (const role of ['lb', 'web'] as const) {
    const count = counts[role];
    if (!Number.isInteger(count) || count < 0 || count > LIMITS[role].max) {
      throw new Error(`lab: ${role} node count must be an integer 0-${LIMITS[role].max}, got ${count}`);
    }
    for (let i = 1; i <= count; i++) {
      const name = `${role}${i}`;
      const octet = LIMITS[role].first + i;
      const distro = distros[name] ?? distros['*'] ?? DEFAULT_DISTRO;
      const init = inits[name] ?? inits['*'] ?? 'systemd';
      nodes.push({ name, container: `${CONTAINER_PREFIX}${name}`, address: `${PUBLIC_NETWORK.prefix}${octet}`, privateAddress: `${PRIVATE_NETWORK.prefix}${octet}`, role, distro, init });
    }
  }
  const unknown = [...Object.keys(distros), ...Object.keys(inits)].filter((name) => name !== '*' && !nodes.some((n) => n.name === name));
  if (unknown.length > 0) throw new Error(`lab: --distro/--init name ${[...new Set(unknown)].join(', ')}, not among the planned nodes (${nodes.map((n) => n.name).join(', ')})`);
  return nodes;
}

/** The two user-defined bridges; an existing one with another subnet is an error, not silently reused. */
export async function ensureLabNetworks(): Promise<void> {
  for (const network of [PUBLIC_NETWORK, PRIVATE_NETWORK]) {
    const existing = await docker(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', network.name], { check: false });
    if (existing.code === 0) {
      if (!existing.stdout.split(/\s+/).includes(network.subnet)) {
        throw new Error(`docker network ${network.name} exists with subnet ${existing.stdout.trim() || '(none)'}, expected ${network.subnet}; remove it (bootstrap lab down)`);
      }
      continue;
    }
    // the private network is internal (no default route through it), like a cloud VPC's private side
    const internal = network.name === PRIVATE_NETWORK.name ? ['--internal'] : [];
    await docker(['network', 'create', '--driver', 'bridge', ...internal, '--subnet', network.subnet, '--gateway', network.gateway, '--label', `${LAB_LABEL}=1`, network.name]);
  }
}

/** Docker's state of the container and the release and init it was made with; undefined when it does not exist. */
async function containerState(container: string): Promise<{ state: string; distro: string; init: string } | undefined> {
  const format = `{{.State.Status}} {{index .Config.Labels "${LAB_LABEL}.distro"}} {{index .Config.Labels "${LAB_LABEL}.init"}}`;
  const result = await docker(['container', 'inspect', '--format', format, container], { check: false });
  if (result.code !== 0) return undefined;
  const [state, distro, init] = result.stdout.trim().split(' ');
  return { state, distro: distro || DEFAULT_DISTRO, init: init || 'systemd' };
}

/** How each init is run as PID 1 in a container. */
const INIT_RUN: Record<NodeInit, { options: string[]; command: string[] }> = {
  systemd: { options: ['--stop-signal', 'SIGRTMIN+3'], command: ['/lib/systemd/systemd'] },
  // Upstart turns SIGINT into control-alt-delete, whose job shuts down cleanly (SIGTERM would make it re-exec itself)
  upstart: { options: ['--stop-signal', 'SIGINT'], command: ['/usr/sbin/init'] },
};

/** Files copied into the container before its first start: host key, sshd drop-in, root's authorized_keys. */
async function stageNodeFiles(node: LabNode, clientPublicLine: string): Promise<string> {
  const hostKey = await ensureHostKey(node.name);
  const stage = join(labPaths.nodeDir(node.name), 'stage');
  rmSync(stage, { recursive: true, force: true });
  const dirs: [string, number][] = [['', 0o755], ['etc', 0o755], ['etc/ssh', 0o755], ['root', 0o700], ['root/.ssh', 0o700]];
  for (const [dir, mode] of dirs) {
    mkdirSync(join(stage, dir), { recursive: true });
    chmodSync(join(stage, dir), mode);
  }
  copyFileSync(hostKey.privateKey, join(stage, 'etc/ssh/ssh_host_ed25519_key'));
  chmodSync(join(stage, 'etc/ssh/ssh_host_ed25519_key'), 0o600);
  copyFileSync(hostKey.publicKey, join(stage, 'etc/ssh/ssh_host_ed25519_key.pub'));
  chmodSync(join(stage, 'etc/ssh/ssh_host_ed25519_key.pub'), 0o644);
  writeFileSync(join(stage, 'root/.ssh/authorized_keys'), `${clientPublicLine}\n`, { mode: 0o600 });
  return stage;
}

async function createNode(node: LabNode, image: string, clientPublicLine: string): Promise<void> {
  const stage = await stageNodeFiles(node, clientPublicLine);
  const run = INIT_RUN[node.init];
  await docker([
    'create', '--name', node.container, '--hostname', node.name,
    '--label', `${LAB_LABEL}=1`, '--label', `${LAB_LABEL}.role=${node.role}`, '--label', `${LAB_LABEL}.name=${node.name}`, '--label', `${LAB_LABEL}.distro=${node.distro}`, '--label', `${LAB_LABEL}.init=${node.init}`,
    // systemd or Upstart as PID 1: `docker run --privileged` fails here (one capability is outside the bounding set)
    '--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined',
    '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw', '--tmpfs', '/run', '--tmpfs', '/run/lock',
    ...run.options, '-e', 'container=docker',
    // nested Docker (web nodes): a volume is a plain host directory, so the inner overlay2 works
    // whatever storage driver the outer engine uses; `lab down` removes it with the container
    '--volume', '/var/lib/docker',
    '--network', PUBLIC_NETWORK.name, '--ip', node.address,
    image, ...run.command,
  ]);
  try {
    await docker(['cp', `${stage}/.`, `${node.container}:/`]);
    await docker(['start', node.container]);
    // connected after start so that, as on a cloud VM, eth0 is public and holds the default route
    await docker(['network', 'connect', '--ip', node.privateAddress, PRIVATE_NETWORK.name, node.container]);
  } catch (error) {
    await docker(['rm', '-f', node.container], { check: false });
    throw error;
  }
}

const SYSTEM_STATE = `if [ -d /run/systemd/system ]; then systemctl is-system-running
elif initctl status ssh 2>/dev/null | grep -q start/running; then echo running
else echo starting; fi`;

async function systemState(container: string): Promise<string> {
  const result = await docker(['exec', container, 'sh', '-c', SYSTEM_STATE], { check: false, timeoutMs: 10_000 });
  return result.stdout.trim() || 'unknown';
}

/** True once something on address:22 greets with an SSH banner. */
function sshdAnswers(address: string): Promise<boolean> {
  return new Promise((done) => {
    const socket = new Socket();
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(2000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('data', (chunk: Buffer) => finish(chunk.toString('latin1').startsWith('SSH-')));
    socket.connect(22, address);
  });
}

async function waitUntilReady(node: LabNode, timeoutMs = 120_000): Promise<void> {
  let last = 'unknown';
  const booted = await waitFor(async () => {
    last = await systemState(node.container);
    return last === 'running' || last === 'degraded';
  }, timeoutMs);
  const look = node.init === 'systemd' ? 'systemctl --failed' : 'initctl list; see /var/log/upstart/';
  if (!booted) throw new Error(`lab node ${node.name}: ${node.init} is still "${last}" after ${timeoutMs / 1000}s (docker exec ${node.container} ${look})`);
  if (!(await waitFor(() => sshdAnswers(node.address), 30_000))) {
    throw new Error(`lab node ${node.name}: ${node.init} is ${last} but sshd does not answer on ${node.address}:22 (docker exec ${node.container} ${node.init === 'systemd' ? 'systemctl status ssh' : 'initctl status ssh'})`);
  }
}

/**
 * Starts (or reuses) lb1..lbN and web1..webN, each booting systemd with sshd, on both lab
 * networks, with host keys known in advance; returns once every node boots and sshd answers.
 * Re-running is idempotent: running nodes are kept, stopped ones are started again.
 */
export async function startNodes(
  counts: { lb: number; web: number },
  options: NodeChoices & { aptProxy?: string } = {},
): Promise<LabNode[]> {
  const nodes = plannedNodes(counts, options);
  await ensureLabNetworks();
  const images = new Map<string, string>();
  const imageKey = (node: LabNode) => `${node.distro} ${node.init}`;
  for (const node of nodes) {
    if (!images.has(imageKey(node))) images.set(imageKey(node), await ensureNodeImage({ distro: node.distro, init: node.init, aptProxy: options.aptProxy }));
  }
  const client = await ensureClientKey();
  for (const node of nodes) {
    const existing = await containerState(node.container);
    if (existing !== undefined && (existingHostKey(node.name) === undefined || existing.distro !== node.distro || existing.init !== node.init)) {
      // its host key is lost (no way to pin it), or it runs another release or init: make it anew
      await docker(['rm', '-f', '-v', node.container]);
    } else if (existing?.state === 'running') {
      continue;
    } else if (existing !== undefined) {
      await docker(['start', node.container]);
      continue;
    }
    await createNode(node, images.get(imageKey(node))!, client.publicLine);
  }
  await Promise.all(nodes.map((node) => waitUntilReady(node)));
  await refreshKnownHosts();
  return nodes;
}

/** known_hosts for every lab node that exists, from the host keys made before the nodes started. */
async function refreshKnownHosts(): Promise<string> {
  const entries = (await labStatus()).flatMap((node) => {
    const hostKey = existingHostKey(node.name);
    return hostKey ? [{ addresses: [node.address, node.privateAddress].filter(Boolean), hostKey }] : [];
  });
  return writeKnownHosts(entries);
}

/** Every container the lab made, with Docker's state and, when running, systemd's. */
export async function labStatus(): Promise<LabNodeStatus[]> {
  if (!(await engineAnswers())) return []; // no engine, no nodes
  const ids = (await docker(['ps', '-aq', '--filter', `label=${LAB_LABEL}=1`])).stdout.split('\n').filter(Boolean);
  if (ids.length === 0) return [];
  const inspected = JSON.parse((await docker(['container', 'inspect', ...ids])).stdout) as DockerContainerInfo[];
  const nodes: LabNodeStatus[] = [];
  for (const info of inspected) {
    const networks = info.NetworkSettings?.Networks ?? {};
    const node: LabNodeStatus = {
      name: info.Config.Labels[`${LAB_LABEL}.name`] ?? info.Name.replace(/^\//, '').replace(CONTAINER_PREFIX, ''),
      container: info.Name.replace(/^\//, ''),
      address: networks[PUBLIC_NETWORK.name]?.IPAddress ?? '',
      privateAddress: networks[PRIVATE_NETWORK.name]?.IPAddress ?? '',
      role: (info.Config.Labels[`${LAB_LABEL}.role`] ?? 'web') as LabRole,
      distro: (info.Config.Labels[`${LAB_LABEL}.distro`] ?? DEFAULT_DISTRO) as LabDistro,
      init: (info.Config.Labels[`${LAB_LABEL}.init`] ?? 'systemd') as NodeInit,
      state: info.State.Status,
    };
    if (node.state === 'running') node.system = await systemState(node.container);
    nodes.push(node);
  }
  return nodes.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

interface DockerContainerInfo {
  Name: string;
  State: { Status: string };
  Config: { Labels: Record<string, string> };
  NetworkSettings?: { Networks?: Record<string, { IPAddress: string }> };
}

/** Removes every lab container and network and stops the processes the lab started. Keeps keys, caches and the image. */
export async function stopLab(): Promise<void> {
  // no engine, no containers or networks: only the lab's own processes may be left
  if (await engineAnswers()) await removeLabContainersAndNetworks();
  await stopAptProxy();
  await stopDockerEngineIfOurs();
  rmSync(labPaths.knownHosts(), { force: true });
}

async function removeLabContainersAndNetworks(): Promise<void> {
  const ids = (await docker(['ps', '-aq', '--filter', `label=${LAB_LABEL}=1`])).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await docker(['rm', '-f', '-v', ...ids], { timeoutMs: 120_000 });
  for (const network of [PUBLIC_NETWORK.name, PRIVATE_NETWORK.name]) {
    if ((await docker(['network', 'inspect', network], { check: false })).code === 0) await docker(['network', 'rm', network]);
  }
}

export interface LabUp {
  nodes: LabNode[];
  /** For the inventory's `apt_proxy`. */
  aptProxy: string;
  /** For the inventory's ssh.key. */
  clientKey: string;
  knownHosts: string;
}

/** Everything `bootstrap lab up` does, in order: engine, networks, apt proxy, image, nodes. */
export async function labUp(counts: { lb: number; web: number }, choices: NodeChoices = {}): Promise<LabUp> {
  plannedNodes(counts, choices); // bad counts or node names fail before anything starts
  await ensureDockerEngine();
  await ensureLabNetworks();
  const { url } = await ensureAptProxy(PUBLIC_NETWORK.gateway);
  const nodes = await startNodes(counts, { ...choices, aptProxy: `http://127.0.0.1:${new URL(url).port}` });
  return { nodes, aptProxy: url, clientKey: labPaths.clientKey(), knownHosts: labPaths.knownHosts() };
}
