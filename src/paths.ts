import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root (where playbooks/ and templates/ live), from dist/src/ or src/. */
export const packageRoot = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../' : '../', import.meta.url));

/** The version in the package's package.json (what --version prints). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(`${packageRoot}package.json`, 'utf8')) as { version: string }).version;
}

export const bundledPlaybooks = `${packageRoot}playbooks/`;
export const defaultPlaybook = `${bundledPlaybooks}site.yml`;
/** What `bootstrap retire` runs on the web nodes its --limit names. */
export const retirePlaybook = `${bundledPlaybooks}retire-web.yml`;

/** `~` and `~/x` as the user's home; any other path unchanged. */
export function expandHome(path: string): string {
  return path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}
