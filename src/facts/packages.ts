import { quote } from '../command.js';
import type { Fact } from './types.js';

export interface PackageState {
  name: string;
  /** dpkg status is "install ok installed" */
  installed: boolean;
  /** installed version, or null */
  version: string | null;
  /** what apt would install (apt-cache policy Candidate), null when apt-cache does not know it */
  candidate: string | null;
}

// Two dpkg-query calls: with ${Status} and ${Version} in one format, Multi-Arch instances
// run together on one line.
function packagesScript(names: readonly string[]): string {
  return `for p in ${names.map(quote).join(' ')}; do
  s=$(dpkg-query -W -f='\${Status}\\n' "$p" 2>/dev/null | head -n1)
  v=$(dpkg-query -W -f='\${Version}\\n' "$p" 2>/dev/null | head -n1)
  c=$(apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n1)
  printf '%s|%s|%s|%s\\n' "$p" "$s" "$v" "$c"
done`;
}

export function parsePackages(stdout: string): Map<string, PackageState> {
  const states = new Map<string, PackageState>();
  for (const line of stdout.split('\n')) {
    const parts = line.split('|');
    if (parts.length !== 4) continue;
    const [name, status, version, candidate] = parts as [string, string, string, string];
    const installed = status.trim().endsWith(' installed') && status.startsWith('install ');
    states.set(name, {
      name,
      installed,
      version: installed && version ? version : null,
      candidate: candidate && candidate !== '(none)' ? candidate : null,
    });
  }
  return states;
}

/** dpkg status + version and the apt candidate of each named package. */
export function packagesFact(names: readonly string[]): Fact<Map<string, PackageState>> {
  return {
    key: `packages:${[...names].sort().join(',')}`,
    script: packagesScript(names),
    parse: (stdout) => parsePackages(stdout),
  };
}

/** Written after each apt-get update we run, since apt does not touch the lists when nothing changed. */
export const APT_UPDATE_STAMP = '/var/lib/bootstrap/apt-update-stamp';

/** Seconds since the apt lists were last refreshed; null when there are no lists at all. */
export const aptListsAgeFact: Fact<number | null> = {
  key: 'apt-lists-age',
  script: `now=$(date +%s); newest=0; lists=no
for f in /var/lib/apt/lists/*_Packages*; do [ -e "$f" ] && lists=yes; done
for f in ${APT_UPDATE_STAMP} /var/lib/apt/periodic/update-success-stamp /var/lib/apt/lists/*_Packages* /var/lib/apt/lists/*_Release; do
  if [ -e "$f" ]; then t=$(stat -c %Y -- "$f"); if [ "$t" -gt "$newest" ]; then newest=$t; fi; fi
done
if [ "$lists" = yes ]; then echo $((now - newest)); else echo none; fi`,
  parse: (stdout) => {
    const text = stdout.trim();
    if (text === 'none') return null;
    if (!/^-?\d+$/.test(text)) throw new Error(`expected seconds or "none", got ${JSON.stringify(text)}`);
    return Math.max(0, Number(text));
  },
};
