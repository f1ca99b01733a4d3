import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_TIMEOUT_MS, LDFLAGS, acceptBinary, goEnv, goProgram, runGo } from '../artifacts/go.js';
import { runLocal } from '../artifacts/exec-local.js';
import { downloadRelease } from './release-download.js';
import { cacheEntryDir, cachedFile } from '../artifacts/cache.js';
import {
  CONSUL_NOSUMDB,
  CONSUL_SUBMODULES,
  CONSUL_TEMPLATE_VERSION,
  CONSUL_VERSION,
  OLDER_CONSUL_OWN_MODULES,
  PEBBLE_VERSION,
} from './versions.js';

interface GoModJson {
  Go?: string;
  Require?: Array<{ Path: string; Version: string }>;
  Exclude?: Array<{ Path: string; Version: string }>;
}

/** consul's own go.mod, parsed by `go mod edit -json`, fetched through the module proxy. */
async function consulGoMod(buildDir: string, env: NodeJS.ProcessEnv, version: string): Promise<GoModJson> {
  const module = `github.com/hashicorp/consul@v${version}`;
  const { stdout } = await runLocal([goProgram(), 'mod', 'download', '-json', module], { cwd: buildDir, env, timeoutMs: BUILD_TIMEOUT_MS });
  const goModPath = (JSON.parse(stdout) as { GoMod?: string }).GoMod;
  if (!goModPath) throw new Error(`\`go mod download -json ${module}\` did not name its go.mod: ${stdout.trim()}`);
  return JSON.parse((await runLocal([goProgram(), 'mod', 'edit', '-json', goModPath], { cwd: buildDir, env })).stdout) as GoModJson;
}

/**
 * The dependency set an older consul is built with: the pinned release's, except the modules whose
 * API the older code needs at its own version (versions.ts says why).
 */
export function pinnedDependencies(pinned: GoModJson, older: GoModJson): GoModJson {
  const own = new Map((older.Require ?? []).filter(({ Path }) => OLDER_CONSUL_OWN_MODULES.includes(Path)).map(({ Path, Version }) => [Path, Version]));
  return { ...pinned, Require: (pinned.Require ?? []).map(({ Path, Version }) => ({ Path, Version: own.get(Path) ?? Version })) };
}

/**
 * go.mod of the module that builds consul as a dependency (a dependency's replaces are ignored,
 * so consul's replaces of its in-tree submodules do not stop the build). It pins every module
 * consul requires to consul's own version (require + replace), so a submodule release that wants
 * newer dependencies (troubleshoot v0.6.0 wants a newer sdk and x/exp) cannot raise them; only
 * the submodules themselves take the versions in CONSUL_SUBMODULES.
 */
export function consulWrapperGoMod(consul: GoModJson, version = CONSUL_VERSION): string {
  const versions = new Map<string, string>();
  for (const { Path, Version } of consul.Require ?? []) versions.set(Path, Version);
  for (const [module, version] of Object.entries(CONSUL_SUBMODULES)) versions.set(module, version);
  const pinned = [...versions.entries()].sort(([a], [b]) => a.localeCompare(b));
  return [
    'module bootstrap.local/consul-build',
    '',
    `go ${consul.Go ?? '1.20'}`,
    '',
    'require (',
    `\tgithub.com/hashicorp/consul v${version}`,
    ...pinned.map(([module, version]) => `\t${module} ${version}`),
    ')',
    '',
    'replace (',
    ...pinned.map(([module, version]) => `\t${module} => ${module} ${version}`),
    ')',
    '',
    'exclude (',
    ...(consul.Exclude ?? []).map(({ Path, Version }) => `\t${Path} ${Version}`),
    ')',
    '',
  ].join('\n');
}

/**
 * The release zip when the release site answers (true), else false after saying why: the caller
 * builds from the Go module proxy instead.
 */
async function fromRelease(product: string, version: string, finalPath: string, versionArgs: readonly string[], expected: string): Promise<boolean> {
  const startedAt = Date.now();
  const downloaded = `${finalPath}.tmp-${process.pid}`;
  rmSync(downloaded, { force: true });
  const workDir = cacheEntryDir('build', product, `${version}-download-${process.pid}`);
  const result = await downloadRelease(product, version, downloaded, workDir).finally(() => rmSync(workDir, { recursive: true, force: true }));
  if (!result.downloaded) {
    process.stderr.write(`… ${product} ${version}: no release zip (${result.reason}); building it from the Go module proxy\n`);
    return false;
  }
  await acceptBinary(downloaded, finalPath, versionArgs, expected, startedAt, `release zip ${result.url}, checked against its SHA256SUMS`);
  return true;
}

export function ensureConsulBinary(version = CONSUL_VERSION): Promise<string> {
  const finalPath = join(cacheEntryDir('bin', 'consul', version), 'consul');
  return cachedFile(`consul-${version}`, finalPath, async () => {
    if (await fromRelease('consul', version, finalPath, ['version'], `Consul v${version}`)) return;
    const startedAt = Date.now();
    const buildDir = cacheEntryDir('build', 'consul', version);
    const env = goEnv({ GONOSUMDB: CONSUL_NOSUMDB.join(',') });
    rmSync(join(buildDir, 'go.sum'), { force: true });
    // A bare module to run `go mod download` in (a go.mod left by an older pin could fail to load).
    writeFileSync(join(buildDir, 'go.mod'), 'module bootstrap.local/consul-build\n');
    const own = await consulGoMod(buildDir, env, version);
    const dependencies = version === CONSUL_VERSION ? own : pinnedDependencies(await consulGoMod(buildDir, env, CONSUL_VERSION), own);
    writeFileSync(join(buildDir, 'go.mod'), consulWrapperGoMod(dependencies, version));
    const built = `${finalPath}.tmp-${process.pid}`;
    rmSync(built, { force: true });
    await runGo(`consul ${version}`, ['build', '-trimpath', '-ldflags', LDFLAGS, '-o', built, 'github.com/hashicorp/consul'], buildDir, env);
    await acceptBinary(built, finalPath, ['version'], `Consul v${version}`, startedAt);
  });
}

/**
 * `go install module@version` into a private GOBIN, then the checked binary moves into the cache.
 * With `releases`, HashiCorp's release zip is taken instead when the release site answers.
 */
async function goInstall(component: string, module: string, version: string, ldflags: string, versionArgs: readonly string[], expected: string, releases = true): Promise<string> {
  const binary = module.split('/').pop()!;
  const finalPath = join(cacheEntryDir('bin', component, version), binary);
  return cachedFile(`${component}-${version}`, finalPath, async () => {
    if (releases && (await fromRelease(component, version, finalPath, versionArgs, expected))) return;
    const startedAt = Date.now();
    const gobin = cacheEntryDir('build', component, `${version}-gobin-${process.pid}`);
    try {
      const moduleVersion = version === 'master' ? version : `v${version}`;
      await runGo(`${component} ${version}`, ['install', '-trimpath', '-ldflags', ldflags, `${module}@${moduleVersion}`], gobin, goEnv({ GOBIN: gobin }));
      const built = `${finalPath}.tmp-${process.pid}`;
      renameSync(join(gobin, binary), built);
      await acceptBinary(built, finalPath, versionArgs, expected, startedAt);
    } finally {
      rmSync(gobin, { recursive: true, force: true });
    }
  });
}

export function ensureConsulTemplateBinary(version = CONSUL_TEMPLATE_VERSION): Promise<string> {
  return goInstall(
    'consul-template',
    'github.com/hashicorp/consul-template',
    version,
    LDFLAGS,
    ['-version'],
    `consul-template v${version}`,
  );
}

/**
 * Pebble with ACME Renewal Information (Debian's 2.4 has none), for the integration test of
 * acme-renew's ARI check; the lab and the other tests keep Debian's package.
 */
export function ensurePebbleBinary(version = PEBBLE_VERSION): Promise<string> {
  return goInstall('pebble', 'github.com/letsencrypt/pebble/v2/cmd/pebble', version, `${LDFLAGS} -X main.version=v${version}`, ['-version'], `Pebble version: v${version}`, false);
}
