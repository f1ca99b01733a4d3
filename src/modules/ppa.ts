import type { HostFacts } from '../facts/types.js';
import { tempPathFor } from '../facts/leftovers.js';
import type { Change } from './types.js';

/** `ppa:owner/name` (name defaults to `ppa`, as in Ansible), in Launchpad's name characters. */
export const PPA = /^ppa:([A-Za-z0-9][A-Za-z0-9+._-]*)(?:\/([A-Za-z0-9][A-Za-z0-9+._-]*))?$/;

export const isPpa = (repo: string) => repo.startsWith('ppa:');

/** Where Ansible's apt_repository fetches PPAs from (its PPA_URI). */
const PPA_URI = 'https://ppa.launchpadcontent.net';
/** Where the host looks up the PPA's signing key fingerprint (Ansible's LP_API). */
const LP_API = 'https://api.launchpad.net/1.0';
/** The keyserver that serves the key for that fingerprint. */
const KEYSERVER = 'https://keyserver.ubuntu.com';
/** A directory apt trusts every key of (Ansible picks the first existing of /etc/apt/keyrings, which apt does not trust by itself, trusted.gpg.d, ...). */
const TRUSTED_DIR = '/etc/apt/trusted.gpg.d';

export interface PpaPlan {
  owner: string;
  name: string;
  codename: string;
  /** the deb line Ansible writes */
  source: string;
  /** the sources.list.d file name Ansible picks, without .list */
  filename: string;
  /** the signing key's file, named as Ansible names it */
  keyFile: string;
}

/**
 * Why a host cannot take a PPA: it is not Ubuntu and no `codename` says which Ubuntu release's
 * packages to use (a PPA holds packages built for Ubuntu releases; Debian's codename names none).
 */
export function ppaHostProblem(repo: string, codename: string | undefined, os: HostFacts['os']): string | undefined {
  if (codename !== undefined || os.id === 'ubuntu') return undefined;
  return `${repo} is a Launchpad PPA, built for Ubuntu releases; this host is ${os.id} ${os.version}${os.codename ? ` (${os.codename})` : ''}. Set codename: to the Ubuntu release whose packages to use (as Ansible's docs say for Debian or Mint), or use a deb line`;
}

/**
 * The deb line, file name and key file Ansible's apt_repository makes of a PPA for an Ubuntu
 * release (_expand_ppa, _suggest_filename of `<repo>_<codename>`, its gpg key file name).
 */
export function expandPpa(repo: string, release: string): PpaPlan {
  const m = PPA.exec(repo);
  if (!m) throw new Error(`${JSON.stringify(repo)} is not ppa:<owner>/<name>`);
  const owner = m[1]!;
  const name = m[2] ?? 'ppa';
  const source = `deb ${PPA_URI}/${owner}/${name}/ubuntu ${release} main`;
  const filename = `${repo}_${release}`.replace(/[^a-zA-Z0-9]/g, ' ').split(/\s+/).filter(Boolean).join('_');
  const keyFile = `${TRUSTED_DIR}/${`ubuntu ${release} main`.replace(/ /g, '-')}-${owner}-${name}.gpg`;
  return { owner, name, codename: release, source, filename, keyFile };
}

/**
 * Fetches the PPA's signing key on the host: its fingerprint from Launchpad's API, the key from
 * the keyserver into a throwaway keyring, and only the key with that fingerprint exported (binary,
 * as apt reads it) into a temp file renamed to `keyFile`. Needs curl and gpg.
 */
const FETCH_KEY = [
  'owner=$1; name=$2; key=$3; tmp=$4; api=$5; keyserver=$6; insecure=$7',
  'home=$(mktemp -d) || exit',
  'trap \'gpgconf --homedir "$home" --kill all 2>/dev/null; rm -rf "$home"; rm -f "$tmp"\' EXIT; trap \'exit 1\' HUP INT TERM',
  'info=$(curl -fsSL $insecure -H "Accept: application/json" "$api/~$owner/+archive/$name") || { echo "could not read ppa:$owner/$name from Launchpad ($api)" >&2; exit 1; }',
  'fpr=$(printf "%s" "$info" | tr "," "\\n" | sed -n \'s/.*"signing_key_fingerprint": *"\\([0-9A-Fa-f]*\\)".*/\\1/p\')',
  '[ -n "$fpr" ] || { echo "Launchpad gave no signing_key_fingerprint for ppa:$owner/$name" >&2; exit 1; }',
  'curl -fsSL "$keyserver/pks/lookup?op=get&options=mr&search=0x$fpr" | gpg --homedir "$home" --batch --quiet --import || exit',
  'gpg --homedir "$home" --batch --export "$fpr" > "$tmp" 2>/dev/null && [ -s "$tmp" ] || { echo "the keyserver has no key $fpr for ppa:$owner/$name" >&2; exit 1; }',
  'chmod 0644 "$tmp" && mv -f "$tmp" "$key"',
].join('\n');

/** Where the key comes from: Launchpad and its keyserver (a test points these at loopback stand-ins). */
export const PPA_KEY_SOURCES = { api: LP_API, keyserver: KEYSERVER };

/** `validateCerts: false` accepts any certificate from Launchpad's API (curl -k), the one request Ansible's validate_certs covers. */
export function ppaKeyChange(ppa: PpaPlan, runId: string, sources = PPA_KEY_SOURCES, validateCerts = true): Change {
  return {
    title: `fetch the signing key of ppa:${ppa.owner}/${ppa.name} into ${ppa.keyFile}`,
    commands: [{ argv: ['sh', '-c', FETCH_KEY, 'ppa-key', ppa.owner, ppa.name, ppa.keyFile, tempPathFor(ppa.keyFile, runId), sources.api, sources.keyserver, validateCerts ? '' : '-k'] }],
  };
}
