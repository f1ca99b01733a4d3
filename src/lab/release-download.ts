import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ArgvCommand } from '../argv.js';
import { downloadCommands } from '../modules/binary.js';
import { DEFAULT_RELEASE_BASE_URL } from '../stack/vars-schema.js';
import { withProgress } from '../artifacts/progress.js';
import { runLocal } from '../artifacts/exec-local.js';

/**
 * `lab build` takes consul and consul-template from HashiCorp's release zips when the release
 * site answers, checked against their SHA256SUMS by the same commands the `binary` module runs on
 * a host, and builds them from the Go module proxy only when it does not.
 */

/** The base URL `lab build` downloads release zips from; `off` always builds from source. */
export const RELEASES_URL_ENV = 'BOOTSTRAP_RELEASES_URL';

/** How long the release site may take to answer before `lab build` builds from source instead. */
const PROBE_CONNECT_SECONDS = 3;
const PROBE_MAX_SECONDS = 6;

export function releasesBaseUrl(): string | undefined {
  const value = process.env[RELEASES_URL_ENV]?.trim();
  if (value === 'off') return undefined;
  return (value || DEFAULT_RELEASE_BASE_URL).replace(/\/+$/, '');
}

export function releaseUrls(base: string, product: string, version: string): { zip: string; sums: string } {
  const dir = `${base}/${product}/${version}`;
  return { zip: `${dir}/${product}_${version}_linux_amd64.zip`, sums: `${dir}/${product}_${version}_SHA256SUMS` };
}

/** Runs a change's commands locally in order; on a failure its cleanups (onFailure) run, then the error is thrown. */
async function runCommands(commands: readonly ArgvCommand[]): Promise<void> {
  try {
    for (const c of commands.filter((c) => !c.onFailure)) await runLocal(c.argv, { stdin: c.stdin, timeoutMs: 15 * 60_000 });
  } catch (error) {
    for (const c of commands.filter((c) => c.onFailure)) await runLocal(c.argv, { check: false });
    throw error;
  }
}

export type ReleaseDownload = { downloaded: true; url: string } | { downloaded: false; reason: string };

/**
 * Downloads `product` `version` for linux/amd64 from the release site to `dest`, checked against
 * the release's SHA256SUMS. When the site does not answer (or has no such release) within a few
 * seconds, returns why, and nothing is written; a download that starts and then fails, or a
 * checksum that does not match, throws.
 */
export async function downloadRelease(product: string, version: string, dest: string, workDir: string): Promise<ReleaseDownload> {
  const base = releasesBaseUrl();
  if (!base) return { downloaded: false, reason: `${RELEASES_URL_ENV}=off` };
  const urls = releaseUrls(base, product, version);
  const probe = await runLocal(['curl', '-fsSL', '--connect-timeout', String(PROBE_CONNECT_SECONDS), '--max-time', String(PROBE_MAX_SECONDS), '-o', '/dev/null', urls.sums], { check: false });
  if (probe.code !== 0) return { downloaded: false, reason: `${urls.sums} did not answer within ${PROBE_MAX_SECONDS} s (${probe.stderr.trim().split('\n').pop() || `curl exited ${probe.code}`})` };
  mkdirSync(workDir, { recursive: true });
  const commands = downloadCommands({ dest, url: urls.zip, checksums_url: urls.sums, member: product }, `lab-${process.pid}`, { work: workDir, state: join(workDir, 'records') });
  try {
    await withProgress(`downloading ${product} ${version} from ${urls.zip} (checked against its SHA256SUMS)`, () => runCommands(commands));
  } finally {
    rmSync(join(workDir, 'records'), { recursive: true, force: true });
  }
  return { downloaded: true, url: urls.zip };
}
