import { dirname, join, relative } from 'node:path';
import { ExitCode } from '../errors.js';
import { ensureDemoAppImage } from './app-image.js';
import { startArtifactServerDetached, stopArtifactServer } from './artifact-server.js';
import { ensureReleaseArtifacts } from './artifacts.js';
import { ensurePebbleBinary } from './go-builds.js';
import { PEBBLE_VERSION } from './versions.js';
import { LAB_ACME_APP, LAB_APPS, writeLabInventory } from './inventory.js';
import { mapName, PEBBLE_PORTS, startLabPebble, stopLabPebble } from './pebble.js';
import { labStatus, labUp, stopLab } from './nodes.js';
import { ensureRegistratorImage, registratorSourceDir } from '../artifacts/registrator.js';
import { ensureNodeRootfs, type LabDistro } from './node-image.js';
import type { NodeInit } from './upstart-node.js';
import { PUBLIC_NETWORK, labDir } from './state.js';
import { cacheDir } from '../artifacts/cache.js';
import { defaultPlaybook, packageRoot } from '../paths.js';
import { allPassed, formatCheckTable } from '../verify/index.js';
import type { CheckResult } from '../verify/index.js';
import { redactorFor } from '../secrets/store.js';
import type { Redactor } from '../secrets/redactor.js';

/** The lab's release mirror (consul, consul-template zips + SHA256SUMS) takes any free port on the lab gateway, so two checkouts' labs never collide. */
const ARTIFACT_PORT = 0;
export const labAppsPlaybook = `${packageRoot}playbooks/lab-apps.yml`;

const runDir = () => join(labDir(), 'run');
const say = (line: string) => console.log(line);

export interface LabUpOptions {
  lb: number;
  web: number;
  /** Debian release per node name, '*' for the rest */
  distros?: Record<string, LabDistro>;
  /** what each node boots, per node name, '*' for the rest */
  inits?: Record<string, NodeInit>;
  /** registrator source directory (else $BOOTSTRAP_REGISTRATOR_SRC, else go install) */
  registratorSrc?: string;
  /** run Pebble on the lab host and add the app `auto` with tls: acme; certificates live this many seconds */
  acme?: { validitySeconds: number };
}

/** The node images the suites boot: Debian 12 and 13 with systemd, Debian 12 with Upstart. */
const NODE_IMAGES: ReadonlyArray<[LabDistro, NodeInit]> = [['bookworm', 'systemd'], ['trixie', 'systemd'], ['bookworm', 'upstart']];

/**
 * What the lab ships to its nodes, built once and cached: release zips, the registrator and demo app images.
 * With `previous`, the releases before the pinned ones too (docs/day-2.md: Upgrades on the lab), after them:
 * the older consul compiles against the Go build cache the pinned one filled.
 * With `nodeImages`, the node images' root filesystems as well, built while the Go builds run: debootstrap
 * waits on the archive most of the time, the compiler on the CPU.
 */
export async function labBuildCommand(registratorSrc?: string, previous = false, nodeImages = false) {
  const images = async () => {
    for (const [distro, init] of nodeImages ? NODE_IMAGES : []) await ensureNodeRootfs(distro, init);
  };
  const shipped = async () => {
    const releases = await ensureReleaseArtifacts();
    const older = previous ? await ensureReleaseArtifacts(true) : undefined;
    const registrator = await ensureRegistratorImage(registratorSourceDir(registratorSrc));
    const app = await ensureDemoAppImage();
    // not shipped to the nodes: Pebble with ARI, which the acme-renew ARI integration test runs
    await ensurePebbleBinary();
    return { releases, older, registrator, app };
  };
  const [{ releases, older, registrator, app }] = await Promise.all([shipped(), images()]);
  const also = older ? ` (and ${older.consul.version}, ${older.consulTemplate.version})` : '';
  const withImages = nodeImages ? `, node images ${NODE_IMAGES.map(([d, i]) => `${d}${i === 'systemd' ? '' : `-${i}`}`).join(', ')}` : '';
  say(`lab: built consul ${releases.consul.version}, consul-template ${releases.consulTemplate.version}${also}, ${registrator.image}, ${app.image}, pebble ${PEBBLE_VERSION} (for the ARI test)${withImages} (cached in ${cacheDir()})`);
  say(`lab: consul ${releases.consul.version}: ${releases.consul.source}; consul-template ${releases.consulTemplate.version}: ${releases.consulTemplate.source}`);
  return { releases, registrator, app };
}

/** Nodes, apt proxy, release mirror, images and an inventory, all reused when they exist. */
export async function labUpCommand(options: LabUpOptions): Promise<string> {
  // the artifacts first: a lab without registrator is no lab of this stack, so fail before starting nodes
  const { releases, app } = await labBuildCommand(options.registratorSrc);
  say(`lab: starting ${options.lb} lb + ${options.web} web nodes (the first run builds the node image; later runs reuse it)`);
  const up = await labUp({ lb: options.lb, web: options.web }, { distros: options.distros, inits: options.inits });
  say(`lab: nodes up (${up.nodes.map((n) => `${n.name} ${n.address}${n.distro === 'bookworm' ? '' : ` ${n.distro}`}${n.init === 'systemd' ? '' : ` ${n.init}`}`).join(', ')}); apt proxy ${up.aptProxy}`);
  const server = await startArtifactServerDetached(releases.root, PUBLIC_NETWORK.gateway, ARTIFACT_PORT, runDir());
  say(`lab: release mirror ${server.url} (consul ${releases.consul.version}, consul-template ${releases.consulTemplate.version})`);
  const inventory = await writeLabInventory({
    dir: labDir(),
    nodes: up.nodes,
    clientKey: up.clientKey,
    knownHosts: up.knownHosts,
    aptProxy: up.aptProxy,
    releasesUrl: server.url,
    app,
    acme: options.acme ? await labPebble(up.nodes.filter((n) => n.role === 'lb').map((n) => n.address), options.acme.validitySeconds) : undefined,
  });
  say(`lab: inventory ${inventory}`);
  return inventory;
}

/**
 * Pebble on the lab's public gateway, validating on port 80 of the LBs: challtestsrv maps the acme
 * app's names to every LB (Pebble dials the first address; the e2e scenarios remap them).
 */
async function labPebble(lbAddresses: string[], validitySeconds: number): Promise<{ directory: string; caBundle: string; validitySeconds: number }> {
  const pebble = await startLabPebble(
    {
      bindAddress: PUBLIC_NETWORK.gateway,
      ports: PEBBLE_PORTS,
      httpPort: 80,
      validitySeconds,
      defaultIPv4: '',
      dir: join(labDir(), 'pebble'),
    },
    runDir(),
  );
  for (const name of LAB_ACME_APP.server_name) await mapName(pebble.options, name, lbAddresses);
  say(`lab: Pebble ${pebble.directoryUrl} (certificates for ${validitySeconds} s; ${LAB_ACME_APP.server_name.join(', ')} -> ${lbAddresses.join(', ')})`);
  return { directory: pebble.directoryUrl, caBundle: pebble.caBundle, validitySeconds: pebble.options.validitySeconds };
}

export async function labDownCommand(): Promise<void> {
  await stopLabPebble(runDir());
  await stopArtifactServer(runDir());
  await stopLab();
  say('lab: every lab container, network and process is gone (caches, keys and secrets are kept)');
}

export async function labStatusCommand(): Promise<void> {
  const nodes = await labStatus();
  if (nodes.length === 0) return say('lab: no nodes (run `bootstrap lab up`)');
  for (const n of nodes) say(`${n.name.padEnd(6)} ${n.role.padEnd(4)} ${n.init.padEnd(7)} ${n.state.padEnd(8)} ${(n.system ?? '-').padEnd(9)} public ${n.address}  private ${n.privateAddress}`);
}

/** What the demo runs through the CLI's own commands (the CLI composes a run; nothing below it imports the lab). */
export interface LabRun {
  apply(inventory: string, opts: { playbook: string[]; forks: number; output: 'text' | 'json'; acceptNewHostKeys: boolean }, redactor: Redactor): Promise<{ exitCode: ExitCode }>;
  /** verify, again until it passes or `timeoutMs` is up */
  verifyUntilPassing(inventory: string, timeoutMs: number): Promise<CheckResult[]>;
}

/** up + apply (the stack and the demo apps) + verify + what to try next. Returns the exit code. */
export async function labDemoCommand(options: LabUpOptions, output: 'text' | 'json', run: LabRun): Promise<ExitCode> {
  const inventory = await labUpCommand(options);
  const redactor = redactorFor([dirname(inventory)]);
  const outcome = await run.apply(inventory, { playbook: [defaultPlaybook, labAppsPlaybook], forks: 20, output, acceptNewHostKeys: false }, redactor);
  if (outcome.exitCode !== ExitCode.OK) return outcome.exitCode;
  const results = await run.verifyUntilPassing(inventory, 90_000);
  say(redactor.text(formatCheckTable(results)));
  if (!allPassed(results)) return ExitCode.VERIFY_FAILED;
  const lb = (await labStatus()).find((n) => n.role === 'lb')!;
  const bootstrap = invokedAs();
  say(`
The stack is up and verified. Try:
  curl -H 'Host: ${LAB_APPS[0].server_name[0]}' http://${lb.address}/          # answered by a different container each time
  curl -k --resolve ${LAB_APPS[1].server_name[0]}:443:${lb.address} https://${LAB_APPS[1].server_name[0]}/
  ${bootstrap} ${inventory}                # a re-run: nothing changes, and it says so
  ssh -i ${labDir()}/keys/id_ed25519 -o UserKnownHostsFile=${labDir()}/known_hosts root@${lb.address}
  ${bootstrap} verify ${inventory}
  ${bootstrap} lab down                    # remove the nodes`);
  return ExitCode.OK;
}

/** How the user ran us, so the suggested commands can be pasted: `bootstrap` when installed, else `node <path>`. */
function invokedAs(): string {
  const script = process.argv[1] ?? '';
  return /\/(cli|cli\/main)\.js$/.test(script) ? `node ${relative(process.cwd(), script) || script}` : 'bootstrap';
}
