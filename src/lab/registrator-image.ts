import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { importAndSaveImage, loadIfMissing, type ImageTarball } from './app-image.js';
import { cacheEntryDir, cachedFile } from './cache.js';
import { ensureDockerEngine } from './docker-engine.js';
import { ensureRegistratorBinary } from './go-builds.js';
import { REGISTRATOR_VERSION } from './versions.js';

export const REGISTRATOR_IMAGE = `bootstrap-lab/registrator:${REGISTRATOR_VERSION}`;

/** Host CA bundle, so registrator can talk to TLS backends (consul over https). */
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

async function buildRegistratorImage(tarball: string): Promise<void> {
  await ensureDockerEngine();
  const binary = await ensureRegistratorBinary();
  const rootfs = join(cacheEntryDir('build', 'registrator-image', REGISTRATOR_VERSION), 'rootfs');
  rmSync(rootfs, { recursive: true, force: true });
  for (const dir of ['bin', 'tmp', 'etc/ssl/certs']) mkdirSync(join(rootfs, dir), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  copyFileSync(binary, join(rootfs, 'bin', 'registrator'));
  chmodSync(join(rootfs, 'bin', 'registrator'), 0o755);
  if (existsSync(CA_BUNDLE)) copyFileSync(CA_BUNDLE, join(rootfs, CA_BUNDLE));
  await importAndSaveImage(rootfs, REGISTRATOR_IMAGE, ['ENTRYPOINT ["/bin/registrator"]'], tarball);
  rmSync(rootfs, { recursive: true, force: true });
}

/**
 * `bootstrap-lab/registrator:<ver>`: the static registrator binary alone in an imported rootfs
 * (the stack ships it as a tarball, since the public image's schema1 manifest no longer pulls).
 */
export async function ensureRegistratorImage(): Promise<ImageTarball> {
  const tarball = join(cacheEntryDir('images', 'registrator', REGISTRATOR_VERSION), 'registrator.tar');
  await cachedFile(`registrator-image-${REGISTRATOR_VERSION}`, tarball, () => buildRegistratorImage(tarball));
  await ensureDockerEngine();
  await loadIfMissing(REGISTRATOR_IMAGE, tarball);
  return { tarball, image: REGISTRATOR_IMAGE };
}
