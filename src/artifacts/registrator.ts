import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cacheEntryDir, cachedFile } from './cache.js';
import { LDFLAGS, acceptBinary, goEnv, runGo } from './go.js';
import { writeImageArchive, type ImageTarball } from './image-archive.js';

/** gliderlabs/registrator at the commit of its v7.4.0 VERSION file (2025-05-22). */
export const REGISTRATOR_VERSION = 'v7.4.0';
export const REGISTRATOR_COMMIT = '6bfadbc6decd4c5655044e77cd807985ea5360de';
export const REGISTRATOR_MODULE = 'github.com/gliderlabs/registrator';
/** The tag of the image built here; `registrator.source: build` runs it. */
export const REGISTRATOR_BUILT_IMAGE = `bootstrap/registrator:${REGISTRATOR_VERSION}`;
/** A directory holding registrator's source at that commit, for machines whose Go module proxy lacks it. */
export const REGISTRATOR_SRC_ENV = 'BOOTSTRAP_REGISTRATOR_SRC';

const REGISTRATOR_LDFLAGS = `${LDFLAGS} -X main.Version=${REGISTRATOR_VERSION}`;
/** Host CA bundle, so registrator can talk to TLS backends (consul over https). */
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/**
 * The source directory to build from: the option, else $BOOTSTRAP_REGISTRATOR_SRC, else
 * `registrator/` in $BOOTSTRAP_THIRD_PARTY (the folder of sources the lab also builds Upstart from).
 */
export function registratorSourceDir(option?: string): string | undefined {
  const dir = option ?? process.env[REGISTRATOR_SRC_ENV];
  if (dir) return resolve(dir);
  const thirdParty = process.env.BOOTSTRAP_THIRD_PARTY;
  return thirdParty && existsSync(join(thirdParty, 'registrator')) ? resolve(thirdParty, 'registrator') : undefined;
}

/** `go build` in a writable copy of `srcDir` (the given folder may be read-only). */
async function buildFromSource(srcDir: string, out: string): Promise<void> {
  if (!existsSync(join(srcDir, 'registrator.go')) || !existsSync(join(srcDir, 'go.mod'))) {
    throw new Error(`${srcDir} holds no registrator source (registrator.go and go.mod expected)`);
  }
  const version = existsSync(join(srcDir, 'VERSION')) ? readFileSync(join(srcDir, 'VERSION'), 'utf8').trim() : '(no VERSION file)';
  if (version !== REGISTRATOR_VERSION) throw new Error(`${srcDir} is registrator ${version}, expected ${REGISTRATOR_VERSION} (commit ${REGISTRATOR_COMMIT.slice(0, 7)})`);
  const copy = cacheEntryDir('build', 'registrator', `${REGISTRATOR_VERSION}-src-${process.pid}`);
  try {
    cpSync(srcDir, copy, { recursive: true });
    chmodTreeWritable(copy);
    await runGo(`registrator ${REGISTRATOR_VERSION} from ${srcDir}`, ['build', '-trimpath', '-ldflags', REGISTRATOR_LDFLAGS, '-o', out, '.'], copy, goEnv());
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

function chmodTreeWritable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) chmodTreeWritable(path);
    else if (entry.isFile()) chmodSync(path, 0o644);
  }
}

/** `go install module@commit` into a private GOBIN: what a machine whose Go module proxy serves registrator gets. */
async function buildWithGoInstall(out: string): Promise<void> {
  const gobin = cacheEntryDir('build', 'registrator', `${REGISTRATOR_VERSION}-gobin-${process.pid}`);
  try {
    const target = `${REGISTRATOR_MODULE}@${REGISTRATOR_COMMIT.slice(0, 12)}`;
    await runGo(`registrator ${REGISTRATOR_VERSION}`, ['install', '-trimpath', '-ldflags', REGISTRATOR_LDFLAGS, target], gobin, goEnv({ GOBIN: gobin }));
    renameSync(join(gobin, 'registrator'), out);
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
}

/**
 * The static registrator binary, built once and cached: from `srcDir` when given, else with
 * `go install` of the pinned commit. When both fail the error names both attempts.
 */
export function ensureRegistratorBinary(srcDir = registratorSourceDir()): Promise<string> {
  const finalPath = join(cacheEntryDir('bin', 'registrator', REGISTRATOR_VERSION), 'registrator');
  return cachedFile(`registrator-${REGISTRATOR_VERSION}`, finalPath, async () => {
    const startedAt = Date.now();
    const built = `${finalPath}.tmp-${process.pid}`;
    const attempts: string[] = [];
    if (srcDir) {
      try {
        await buildFromSource(srcDir, built);
      } catch (error) {
        attempts.push(`from the source directory ${srcDir}: ${(error as Error).message}`);
      }
    } else {
      attempts.push(`from a source directory: none given (set ${REGISTRATOR_SRC_ENV} or BOOTSTRAP_THIRD_PARTY, or pass --registrator-src)`);
    }
    if (!existsSync(built)) {
      try {
        await buildWithGoInstall(built);
      } catch (error) {
        attempts.push(`with \`go install ${REGISTRATOR_MODULE}@${REGISTRATOR_COMMIT.slice(0, 12)}\`: ${(error as Error).message}`);
      }
    }
    if (!existsSync(built)) {
      throw new Error(`registrator ${REGISTRATOR_VERSION} could not be built; tried:\n  - ${attempts.join('\n  - ')}\n` +
        `Point ${REGISTRATOR_SRC_ENV} at a checkout of ${REGISTRATOR_MODULE} at ${REGISTRATOR_COMMIT.slice(0, 7)}, or set registrator.source to pull or tarball.`);
    }
    await acceptBinary(built, finalPath, ['--version'], REGISTRATOR_VERSION, startedAt);
  });
}

/**
 * `bootstrap/registrator:<version>`: the static binary alone in a one-layer image, written as
 * a `docker save` tarball without a Docker engine and cached. The stack uploads it to web nodes
 * and `docker load`s it, since the public image's schema1 manifest no longer pulls on Docker 26+.
 */
export async function ensureRegistratorImage(srcDir = registratorSourceDir()): Promise<ImageTarball> {
  const tarball = registratorImagePath();
  await cachedFile(`registrator-image-${REGISTRATOR_VERSION}`, tarball, async () => {
    const binary = await ensureRegistratorBinary(srcDir);
    const rootfs = join(cacheEntryDir('build', 'registrator-image', REGISTRATOR_VERSION), 'rootfs');
    rmSync(rootfs, { recursive: true, force: true });
    for (const dir of ['bin', 'tmp', 'etc/ssl/certs']) mkdirSync(join(rootfs, dir), { recursive: true });
    chmodSync(join(rootfs, 'tmp'), 0o1777);
    copyFileSync(binary, join(rootfs, 'bin', 'registrator'));
    chmodSync(join(rootfs, 'bin', 'registrator'), 0o755);
    if (existsSync(CA_BUNDLE)) copyFileSync(CA_BUNDLE, join(rootfs, CA_BUNDLE));
    await writeImageArchive(rootfs, REGISTRATOR_BUILT_IMAGE, { entrypoint: ['/bin/registrator'] }, tarball);
    rmSync(rootfs, { recursive: true, force: true });
  });
  return { tarball, image: REGISTRATOR_BUILT_IMAGE };
}

/** Where the built image's tarball is cached (it may not exist yet). */
export function registratorImagePath(): string {
  return join(cacheEntryDir('images', 'registrator', REGISTRATOR_VERSION), 'registrator.tar');
}
