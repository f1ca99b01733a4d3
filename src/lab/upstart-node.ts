import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { runLocal } from '../artifacts/exec-local.js';
import { ensureUpstartBuild, upstartBuildKey } from './upstart-build.js';

/** The init a lab node boots: Debian's systemd, or the Upstart the lab builds from source. */
export type NodeInit = 'systemd' | 'upstart';
export const NODE_INITS: readonly NodeInit[] = ['systemd', 'upstart'];

/** The jobs an Upstart node boots with (the stack adds its own under /etc/init). */
export const UPSTART_NODE_JOBS_DIR = join(packageRoot, 'templates/lab/upstart-node');

function jobFiles(): string[] {
  return readdirSync(UPSTART_NODE_JOBS_DIR).filter((name) => name.endsWith('.conf')).sort();
}

/**
 * What node-image.ts needs for an Upstart node: the libraries Upstart links (instead of
 * systemd, systemd-sysv and dbus), the init to run, the recipe part of the image name, and the
 * step that copies the build and the boot jobs into the rootfs.
 */
export const UPSTART_IMAGE = {
  packages: ['libdbus-1-3', 'libjson-c5'],
  init: '/usr/sbin/init',
  recipe() {
    const jobs = createHash('sha256');
    for (const name of jobFiles()) jobs.update(name).update(readFileSync(join(UPSTART_NODE_JOBS_DIR, name)));
    return { build: upstartBuildKey(), jobs: jobs.digest('hex').slice(0, 12), layout: 2 };
  },
  async install(rootfs: string): Promise<void> {
    const build = await ensureUpstartBuild();
    await runLocal(['cp', '-a', `${build.root}/.`, rootfs]);
    // Upstart's own jobs (rc, bridges...) expect an Ubuntu system: the node boots only its own
    const initDir = join(rootfs, 'etc/init');
    for (const name of readdirSync(initDir)) rmSync(join(initDir, name), { recursive: true, force: true });
    for (const name of jobFiles()) copyFileSync(join(UPSTART_NODE_JOBS_DIR, name), join(initDir, name));
    // where jobs' output goes (console log); Upstart logs nothing when it is missing
    mkdirSync(join(rootfs, 'var/log/upstart'), { recursive: true, mode: 0o755 });
    const systemd = ['usr/lib/systemd/systemd', 'lib/systemd/systemd', 'usr/bin/systemctl'].filter((path) => existsSync(join(rootfs, path)));
    if (systemd.length > 0) throw new Error(`the Upstart node image must not contain systemd, but has ${systemd.join(', ')}`);
  },
};
