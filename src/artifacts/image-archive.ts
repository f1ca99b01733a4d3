import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLocal } from './exec-local.js';

/** An image saved in the `docker save` format, ready to ship to a node and `docker load` there. */
export interface ImageTarball {
  tarball: string;
  image: string;
}

/** What an image runs: the parts of an image config that the stack's images use. */
export interface ImageConfig {
  entrypoint: string[];
  env?: string[];
  /** e.g. "80/tcp" */
  exposedPorts?: string[];
}

/** GNU tar options that make an archive depend only on the files' names, modes and contents. */
const REPRODUCIBLE_TAR = ['--sort=name', '--mtime=@0', '--numeric-owner', '--owner=0', '--group=0', '--format=gnu'];

const sha256Hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/**
 * Writes `tarball`, a one-layer image in the `docker save` format (manifest.json, the config,
 * the layer), from the root filesystem in `rootfs`: what `docker load` reads on any Docker
 * version. No Docker engine is needed, so the laptop can build images too, and the same rootfs
 * always gives the same image id.
 */
export async function writeImageArchive(rootfs: string, image: string, config: ImageConfig, tarball: string): Promise<string> {
  const work = `${tarball}.work-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const layerTar = join(work, 'layer.tar');
    await runLocal(['tar', ...REPRODUCIBLE_TAR, '-C', rootfs, '-cf', layerTar, '.']);
    const diffId = `sha256:${sha256Hex(readFileSync(layerTar))}`;
    const imageConfig = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {
        Entrypoint: config.entrypoint,
        Env: config.env ?? ['PATH=/bin'],
        ...(config.exposedPorts?.length ? { ExposedPorts: Object.fromEntries(config.exposedPorts.map((p) => [p, {}])) } : {}),
      },
      rootfs: { type: 'layers', diff_ids: [diffId] },
    });
    const configHex = sha256Hex(imageConfig);
    const layerDir = sha256Hex(diffId);
    mkdirSync(join(work, layerDir));
    renameSync(layerTar, join(work, layerDir, 'layer.tar'));
    writeFileSync(join(work, `${configHex}.json`), imageConfig);
    writeFileSync(join(work, 'manifest.json'), JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [image], Layers: [`${layerDir}/layer.tar`] }]));
    writeFileSync(join(work, 'repositories'), JSON.stringify(repositoriesOf(image, layerDir)));
    const temp = `${tarball}.tmp-${process.pid}`;
    await runLocal(['tar', ...REPRODUCIBLE_TAR, '-C', work, '-cf', temp, '.']);
    renameSync(temp, tarball);
    return `sha256:${configHex}`;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The legacy `repositories` file: { name: { tag: top layer } }. */
function repositoriesOf(image: string, topLayer: string): Record<string, Record<string, string>> {
  const colon = image.lastIndexOf(':');
  const [name, tag] = colon > image.lastIndexOf('/') ? [image.slice(0, colon), image.slice(colon + 1)] : [image, 'latest'];
  return { [name]: { [tag]: topLayer } };
}
