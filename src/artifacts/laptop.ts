import { existsSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { Inventory } from '../inventory/types.js';
import { findGo } from './go.js';
import type { ImageTarball } from './image-archive.js';
import {
  REGISTRATOR_BUILT_IMAGE,
  REGISTRATOR_COMMIT,
  REGISTRATOR_MODULE,
  REGISTRATOR_SRC_ENV,
  REGISTRATOR_VERSION,
  ensureRegistratorImage,
  registratorImagePath,
  registratorSourceDir,
} from './registrator.js';

/**
 * What the run builds on the laptop before it connects, and what playbooks see of it as
 * `artifacts`: today the registrator image for `registrator.source: build`.
 */
export interface LaptopArtifacts {
  registrator: ImageTarball;
  /** the artifacts' files that do not exist yet (validation accepts them as sources) */
  pending: Set<string>;
}

export function laptopArtifacts(): LaptopArtifacts {
  const registrator = { image: REGISTRATOR_BUILT_IMAGE, tarball: registratorImagePath() };
  return { registrator, pending: new Set(existsSync(registrator.tarball) ? [] : [registrator.tarball]) };
}

/** The hosts (of `hosts`) that run the registrator built on the laptop: web hosts with registrator.source build. */
function registratorBuildHosts(inventory: Inventory, hosts: Iterable<string>): string[] {
  const web = new Set(inventory.groups.get('web') ?? []);
  return [...hosts].filter((name) => {
    const registrator = inventory.hosts.get(name)?.vars.registrator as { enabled?: boolean; source?: string } | undefined;
    return web.has(name) && registrator?.enabled !== false && registrator?.source === 'build';
  });
}

/** How the build will be had on this machine, or why it cannot be. */
function registratorBuildPlan(): { how?: string; problem?: string } {
  const { tarball } = laptopArtifacts().registrator;
  if (existsSync(tarball)) return { how: `cached at ${tarball}` };
  const go = findGo();
  if (!go) {
    return {
      problem: `registrator.source build needs the Go toolchain on this machine to build registrator ${REGISTRATOR_VERSION} (\`go\` is not on PATH and /usr/local/go/bin/go does not exist); install Go, or set registrator.source to pull (with an image your Docker can pull) or tarball`,
    };
  }
  const src = registratorSourceDir();
  return { how: src ? `built with ${go} from ${src} (${REGISTRATOR_SRC_ENV})` : `built with \`${go} install ${REGISTRATOR_MODULE}@${REGISTRATOR_COMMIT.slice(0, 12)}\`` };
}

/**
 * Offline: what the laptop builds for the targeted hosts. `notes` say how (for `validate`), and
 * `errors` say what is missing, against the inventory file.
 */
export function checkLaptopArtifacts(inventory: Inventory, hosts: Iterable<string>): { notes: string[]; errors: ConfigError[] } {
  const users = registratorBuildHosts(inventory, hosts);
  if (users.length === 0) return { notes: [], errors: [] };
  const plan = registratorBuildPlan();
  if (plan.problem) {
    const { pos, keyPath } = inventory.locate(users[0], 'registrator.source');
    return { notes: [], errors: [new ConfigError(pos, keyPath || 'registrator.source', `${plan.problem} (hosts ${users.join(', ')})`)] };
  }
  return { notes: [`registrator ${REGISTRATOR_VERSION} for ${users.join(', ')}: ${plan.how}`], errors: [] };
}

/** Builds what the targeted hosts need (a no-op when cached). Runs after validation, before any connection. */
export async function buildLaptopArtifacts(inventory: Inventory, hosts: Iterable<string>): Promise<LaptopArtifacts> {
  if (registratorBuildHosts(inventory, hosts).length > 0) await ensureRegistratorImage();
  return laptopArtifacts();
}
