import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runLocal } from '../artifacts/exec-local.js';
import { cacheEntryDir, cachedFile } from '../artifacts/cache.js';
import { LIBNIH_VERSION, UPSTART_VERSION } from './versions.js';

/**
 * libnih and Upstart built from sources the caller points at (Debian has neither package).
 * The result is a root tree laid out as a distribution would install Upstart on a merged-/usr
 * system (/usr/sbin/init, /usr/sbin/initctl, /etc/init), with libnih linked in statically, so
 * it can be copied as is into a node image, or run from the cache with `--user`.
 */
export interface UpstartBuild {
  /** `<root>/usr/sbin/init`, `<root>/usr/sbin/initctl`, `<root>/usr/bin/init-checkconf`, `<root>/etc/init/`... */
  root: string;
  init: string;
  initctl: string;
  checkconf: string;
  version: string;
}

export interface UpstartSources {
  libnih: string;
  upstart: string;
}

/** Newer GCC and glibc need these to build sources from 2014 (see docs/lab.md, "Upstart lab nodes"). */
const LIBNIH_CFLAGS = '-g -O2 -fcommon';
const UPSTART_CFLAGS = '-g -O2 -fcommon -D_GNU_SOURCE -include sys/sysmacros.h';
const LIBNIH_CONFIGURE = ['--disable-shared', '--enable-static', '--with-pic'];
const UPSTART_CONFIGURE = ['--prefix=/usr', '--exec-prefix=/usr', '--sysconfdir=/etc', '--localstatedir=/var', '--libdir=/usr/lib', '--disable-abi-check', '--disable-silent-rules'];
/** Debian packages the build needs (.ci/setup installs them). */
export const UPSTART_BUILD_PACKAGES = ['build-essential', 'autoconf', 'automake', 'libtool', 'autopoint', 'gettext', 'pkg-config', 'libdbus-1-dev', 'libexpat1-dev', 'libjson-c-dev', 'libudev-dev'];
const BUILD_TIMEOUT_MS = 30 * 60_000;

/**
 * Where the sources are: $BOOTSTRAP_LIBNIH_SRC and $BOOTSTRAP_UPSTART_SRC, else `libnih/` and
 * `upstart/` in $BOOTSTRAP_THIRD_PARTY. A missing source is an error that says what was tried.
 */
export function upstartSources(env: NodeJS.ProcessEnv = process.env): UpstartSources {
  const tried: string[] = [];
  const find = (name: 'libnih' | 'upstart', variable: string, marker: string): string | undefined => {
    const candidates: Array<[string, string]> = [];
    if (env[variable]) candidates.push([`$${variable}`, env[variable]!]);
    if (env.BOOTSTRAP_THIRD_PARTY) candidates.push([`$BOOTSTRAP_THIRD_PARTY/${name}`, join(env.BOOTSTRAP_THIRD_PARTY, name)]);
    if (candidates.length === 0) tried.push(`${name}: neither $${variable} nor $BOOTSTRAP_THIRD_PARTY is set`);
    for (const [label, dir] of candidates) {
      if (existsSync(join(dir, marker))) return resolve(dir);
      tried.push(`${name}: ${label} = ${dir} has no ${marker}`);
    }
    return undefined;
  };
  const libnih = find('libnih', 'BOOTSTRAP_LIBNIH_SRC', 'nih/libnih.pc.in');
  const upstart = find('upstart', 'BOOTSTRAP_UPSTART_SRC', 'init/main.c');
  if (!libnih || !upstart) {
    throw new Error(`building Upstart needs the libnih and Upstart sources: ${tried.join('; ')}`);
  }
  return { libnih, upstart };
}

/** AC_INIT's version in a source tree's configure.ac, checked against the pin. */
function checkSourceVersion(dir: string, name: string, expected: string): void {
  const configure = readFileSync(join(dir, 'configure.ac'), 'utf8');
  const version = new RegExp(`AC_INIT\\(\\[${name}\\],\\s*\\[([^\\]]+)\\]`).exec(configure)?.[1];
  if (version !== expected) {
    throw new Error(`${join(dir, 'configure.ac')} is ${name} ${version ?? '(no AC_INIT version)'}, expected ${expected}`);
  }
}

/** The cache key: versions and the build recipe, so a changed flag is a rebuild. */
export function upstartBuildKey(): string {
  const recipe = JSON.stringify({ LIBNIH_CFLAGS, LIBNIH_CONFIGURE, UPSTART_CFLAGS, UPSTART_CONFIGURE, layout: 2 });
  return `${UPSTART_VERSION}-nih${LIBNIH_VERSION}-${createHash('sha256').update(recipe).digest('hex').slice(0, 8)}`;
}

function layout(root: string): UpstartBuild {
  return {
    root,
    init: join(root, 'usr/sbin/init'),
    initctl: join(root, 'usr/sbin/initctl'),
    checkconf: join(root, 'usr/bin/init-checkconf'),
    version: UPSTART_VERSION,
  };
}

async function step(what: string, argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv, log: string[]): Promise<void> {
  const result = await runLocal(argv, { cwd, env, check: false, timeoutMs: BUILD_TIMEOUT_MS });
  log.push(`$ (cd ${cwd}) ${argv.join(' ')}\n${result.stdout}${result.stderr}`);
  if (result.code !== 0) {
    const output = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`building Upstart: ${what} failed (exit ${result.code}) in ${cwd}:\n${output}`);
  }
}

async function build(sources: UpstartSources, finalRoot: string): Promise<void> {
  checkSourceVersion(sources.libnih, 'libnih', LIBNIH_VERSION);
  checkSourceVersion(sources.upstart, 'upstart', UPSTART_VERSION);
  const work = cacheEntryDir('build', 'upstart', `${upstartBuildKey()}-${process.pid}`);
  const log: string[] = [];
  const logFile = `${finalRoot}.build.log`;
  const startedAt = Date.now();
  try {
    const nihSrc = join(work, 'libnih');
    const upstartSrc = join(work, 'upstart');
    const nihPrefix = join(work, 'nih-prefix');
    const stage = join(work, 'root');
    // the sources may be read-only: build in writable copies
    await runLocal(['mkdir', '-p', nihSrc, upstartSrc]);
    await step('copying the libnih sources', ['cp', '-R', `${sources.libnih}/.`, nihSrc], work, process.env, log);
    await step('copying the Upstart sources', ['cp', '-R', `${sources.upstart}/.`, upstartSrc], work, process.env, log);
    await runLocal(['chmod', '-R', 'u+w', nihSrc, upstartSrc]);
    const env = { ...process.env, LC_ALL: 'C' };
    const jobs = '-j2';
    // libnih: static only, so Upstart's programs carry it and need no library path
    await step('libnih autoreconf', ['autoreconf', '-fi'], nihSrc, env, log);
    await step('libnih configure', ['./configure', `--prefix=${nihPrefix}`, ...LIBNIH_CONFIGURE, `CFLAGS=${LIBNIH_CFLAGS}`], nihSrc, env, log);
    await step('libnih make', ['make', jobs], nihSrc, env, log);
    await step('libnih make install', ['make', 'install'], nihSrc, env, log);
    // Upstart: the shipped Makefile.in files are stale, so autoreconf first
    await step('Upstart autoreconf', ['autoreconf', '-fi'], upstartSrc, env, log);
    await step('Upstart configure', [
      './configure', ...UPSTART_CONFIGURE,
      `CFLAGS=${UPSTART_CFLAGS}`, `NIH_DBUS_TOOL=${join(nihPrefix, 'bin/nih-dbus-tool')}`,
    ], upstartSrc, { ...env, PKG_CONFIG_PATH: join(nihPrefix, 'lib/pkgconfig') }, log);
    await step('Upstart make', ['make', jobs], upstartSrc, env, log);
    await step('Upstart make install', ['make', 'install', `DESTDIR=${stage}`], upstartSrc, env, log);
    const built = layout(stage);
    // the import lost init-checkconf's execute bit
    await runLocal(['chmod', '0755', built.checkconf]);
    const version = await runLocal([built.init, '--version'], { check: false });
    if (!`${version.stdout}${version.stderr}`.includes(`upstart ${UPSTART_VERSION}`)) {
      throw new Error(`${built.init} --version printed ${JSON.stringify(`${version.stdout}${version.stderr}`.trim())}, expected upstart ${UPSTART_VERSION}`);
    }
    writeFileSync(`${finalRoot}.build.json`, `${JSON.stringify({ seconds: Math.round((Date.now() - startedAt) / 1000), builtAt: new Date().toISOString(), sources })}\n`);
    renameSync(stage, finalRoot);
  } finally {
    writeFileSync(logFile, log.join('\n'));
    rmSync(work, { recursive: true, force: true });
  }
}

/** libnih + Upstart from `sources` (default: upstartSources()), built once and cached. */
export async function ensureUpstartBuild(sources?: UpstartSources): Promise<UpstartBuild> {
  const root = join(cacheEntryDir('bin', 'upstart', upstartBuildKey()), 'root');
  if (existsSync(root)) return layout(root);
  const from = sources ?? upstartSources();
  await cachedFile(`upstart-${upstartBuildKey()}`, root, () => build(from, root));
  return layout(root);
}
