import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLocal } from '../artifacts/exec-local.js';
import { docker } from './docker-engine.js';
import { hostDebianMirror } from './apt-proxy.js';
import { APT_PROXY_PORT, labPaths } from './state.js';
import { cacheDir } from '../artifacts/cache.js';
import { withProgress } from '../artifacts/progress.js';
import { UPSTART_IMAGE, type NodeInit } from './upstart-node.js';

/** Debian releases a lab node can run; bookworm is the default. */
export const LAB_DISTROS = ['bookworm', 'trixie'] as const;
export type LabDistro = (typeof LAB_DISTROS)[number];
export const DEFAULT_DISTRO: LabDistro = 'bookworm';
const SYSTEMD_PACKAGES = ['systemd', 'systemd-sysv', 'dbus'];
const BASE_PACKAGES = ['openssh-server', 'iproute2', 'curl', 'ca-certificates', 'sudo', 'procps', 'unzip', 'gnupg'];
/** Files of the stack that must never be in a node image (the stack installs them itself). */
const FORBIDDEN = ['usr/bin/docker', 'usr/sbin/dockerd', 'usr/bin/dockerd', 'usr/bin/consul', 'usr/bin/consul-template', 'usr/sbin/nginx'];
/** Units that have nothing to do in a container and would only leave the system `degraded`. */
const MASKED_UNITS = ['getty@tty1.service', 'console-getty.service', 'systemd-remount-fs.service', 'sys-kernel-config.mount', 'sys-kernel-debug.mount', 'sys-kernel-tracing.mount'];
const SSHD_DROP_IN = 'HostKey /etc/ssh/ssh_host_ed25519_key\n';
/** Bump when the cleanup below changes, so the image name changes with it. */
const CLEANUP_VERSION = 3;

function hostCodename(): string | undefined {
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  return /^VERSION_CODENAME=(\w+)/m.exec(osRelease)?.[1];
}

/**
 * The host's own apt sources, copied into the image so nodes use the same archive as the host,
 * with the host's release name (in `bookworm`, `bookworm-updates`, `bookworm-security`) replaced
 * by the node's.
 */
function hostSources(distro: LabDistro): { path: string; content: string } {
  const deb822 = '/etc/apt/sources.list.d/debian.sources';
  const codename = hostCodename();
  if (existsSync(deb822)) {
    const content = readFileSync(deb822, 'utf8');
    return { path: 'etc/apt/sources.list.d/debian.sources', content: codename ? content.replace(new RegExp(`\\b${codename}\\b`, 'g'), distro) : content };
  }
  return { path: 'etc/apt/sources.list', content: `deb ${hostDebianMirror()} ${distro} main\n` };
}

function include(init: NodeInit): string[] {
  return init === 'upstart' ? [...UPSTART_IMAGE.packages, ...BASE_PACKAGES] : [...SYSTEMD_PACKAGES, ...BASE_PACKAGES];
}

function recipe(distro: LabDistro, init: NodeInit) {
  const base = { suite: distro, variant: 'minbase', include: include(init), mirror: hostDebianMirror(), sources: hostSources(distro) };
  // the systemd recipe keeps its key order, so its image name (and cache) stays what it was
  if (init === 'systemd') return { ...base, masked: MASKED_UNITS, sshd: SSHD_DROP_IN, cleanup: CLEANUP_VERSION };
  return { ...base, sshd: SSHD_DROP_IN, cleanup: CLEANUP_VERSION, upstart: UPSTART_IMAGE.recipe() };
}

/** `bootstrap-lab/node:<distro>-<hash of the recipe>` (`<distro>-upstart-<hash>` for Upstart nodes). */
export function nodeImageName(distro: LabDistro = DEFAULT_DISTRO, init: NodeInit = 'systemd'): string {
  const hash = createHash('sha256').update(JSON.stringify(recipe(distro, init))).digest('hex').slice(0, 12);
  return `bootstrap-lab/node:${distro}-${init === 'upstart' ? 'upstart-' : ''}${hash}`;
}

async function imageExists(image: string): Promise<boolean> {
  return (await docker(['image', 'inspect', image], { check: false })).code === 0;
}

async function loopbackProxy(): Promise<string | undefined> {
  const url = `http://127.0.0.1:${APT_PROXY_PORT}`;
  try {
    const response = await fetch(`${url}/acng-report.html`, { signal: AbortSignal.timeout(2000) });
    return (await response.text()).includes('Apt-Cacher NG') ? url : undefined;
  } catch {
    return undefined;
  }
}

const dockerImportChanges = (init: NodeInit) => ['--change', `CMD ["${init === 'upstart' ? UPSTART_IMAGE.init : '/lib/systemd/systemd'}"]`, '--change', 'ENV container=docker'];

/**
 * The lab's node image: Debian (bookworm or trixie) with systemd (or the Upstart the lab builds) and sshd and nothing of the stack.
 * Reuses the image if the engine has it, else re-imports the cached rootfs tarball, else
 * builds it with debootstrap (through the apt proxy when one answers, so rebuilds are fast).
 */
export async function ensureNodeImage(options: { aptProxy?: string; distro?: LabDistro; init?: NodeInit } = {}): Promise<string> {
  const distro = options.distro ?? DEFAULT_DISTRO;
  const init = options.init ?? 'systemd';
  const image = nodeImageName(distro, init);
  if (await imageExists(image)) return image;
  const tarball = await ensureNodeRootfs(distro, init, options.aptProxy);
  await docker(['import', ...dockerImportChanges(init), tarball, image], { timeoutMs: 600_000 });
  return image;
}

/** The cached rootfs tarball of the node image (no Docker needed to make it). */
export async function ensureNodeRootfs(distro: LabDistro = DEFAULT_DISTRO, init: NodeInit = 'systemd', aptProxy?: string): Promise<string> {
  const tarball = join(cacheDir(), `node-${nodeImageName(distro, init).split(':')[1]}.tar`);
  if (!existsSync(tarball)) {
    await withProgress(`building the ${distro} ${init} node image with debootstrap`, async () => buildRootfsTarball(tarball, distro, init, aptProxy ?? (await loopbackProxy())));
  }
  return tarball;
}

async function buildRootfsTarball(tarball: string, distro: LabDistro, init: NodeInit, aptProxy: string | undefined): Promise<void> {
  const buildRoot = join(cacheDir(), 'node-image-build');
  mkdirSync(buildRoot, { recursive: true });
  const rootfs = mkdtempSync(join(buildRoot, 'rootfs-'));
  const log = join(labPaths.logsDir(), `debootstrap-${distro}${init === 'upstart' ? '-upstart' : ''}.log`);
  try {
    const env = { ...process.env, ...(aptProxy ? { http_proxy: aptProxy } : {}) };
    const result = await runLocal(
      ['debootstrap', '--variant=minbase', `--include=${include(init).join(',')}`, distro, rootfs, hostDebianMirror()],
      { env, check: false, timeoutMs: 1_800_000 },
    );
    writeFileSync(log, result.stdout + result.stderr);
    if (result.code !== 0) {
      throw new Error(`debootstrap of the node image failed (exit ${result.code}); see ${log} and ${join(rootfs, 'debootstrap/debootstrap.log')}`);
    }
    cleanRootfs(rootfs, distro, init);
    if (init === 'upstart') await UPSTART_IMAGE.install(rootfs);
    const partial = `${tarball}.partial`;
    await runLocal(['tar', '-C', rootfs, '--numeric-owner', '-cf', partial, '.'], { timeoutMs: 600_000 });
    renameSync(partial, tarball);
    rmSync(rootfs, { recursive: true, force: true });
  } catch (error) {
    // keep a failed rootfs for inspection only when debootstrap itself failed
    if (existsSync(join(rootfs, 'etc/os-release'))) rmSync(rootfs, { recursive: true, force: true });
    throw error;
  }
}

function emptyDir(dir: string, keep: (name: string) => boolean = () => false): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) if (!keep(name)) rmSync(join(dir, name), { recursive: true, force: true });
}

/** No apt lists or caches, an empty machine-id, no ssh host keys; host apt sources; container-friendly units. */
function cleanRootfs(rootfs: string, distro: LabDistro, init: NodeInit): void {
  const at = (path: string) => join(rootfs, path);
  chmodSync(rootfs, 0o755); // mkdtemp made it 0700, and tar would carry that onto the container's /
  emptyDir(at('var/lib/apt/lists'), (name) => name === 'partial' || name === 'lock');
  emptyDir(at('var/cache/apt'), (name) => name === 'archives');
  emptyDir(at('var/cache/apt/archives'), (name) => name === 'partial' || name === 'lock');
  emptyDir(at('etc/ssh'), (name) => !name.startsWith('ssh_host_'));
  writeFileSync(at('etc/machine-id'), '');
  rmSync(at('var/lib/dbus/machine-id'), { force: true });
  rmSync(at('etc/apt/sources.list'), { force: true });
  const sources = hostSources(distro);
  writeFileSync(at(sources.path), sources.content);
  mkdirSync(at('etc/ssh/sshd_config.d'), { recursive: true });
  writeFileSync(at('etc/ssh/sshd_config.d/bootstrap-lab.conf'), SSHD_DROP_IN);
  for (const unit of init === 'systemd' ? MASKED_UNITS : []) {
    rmSync(at(`etc/systemd/system/${unit}`), { force: true });
    // a unit masked by a symlink to /dev/null, as `systemctl mask` does
    symlinkSync('/dev/null', at(`etc/systemd/system/${unit}`));
  }
  const found = FORBIDDEN.filter((path) => existsSync(at(path)));
  if (found.length > 0) throw new Error(`the node image must not contain the stack, but has ${found.join(', ')}`);
}
