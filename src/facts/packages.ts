import { quote } from '../argv.js';
import type { FactFamily, FamilyFact, ScriptFact } from './types.js';

export interface PackageState {
  name: string;
  /** dpkg status is "install ok installed" */
  installed: boolean;
  /** installed version, or null */
  version: string | null;
  /**
   * What apt would install (apt-cache policy Candidate); null when apt-cache does not know it, or
   * when it was not asked: only for packages that are not installed or listed in `candidates`.
   */
  candidate: string | null;
}

interface PackagesItem {
  names: readonly string[];
  /** names whose candidate is wanted even when installed (state=latest, a pinned version) */
  candidates: readonly string[];
}

// One dpkg-query for every package of the batch, and one apt-cache policy (the costly one)
// only for those not installed or whose candidate is wanted. With Multi-Arch a name can have
// several instances; the first one counts.
function packagesScript(items: readonly PackagesItem[]): string {
  const names = [...new Set(items.flatMap((i) => i.names))].map(quote).join(' ');
  const wanted = [...new Set(items.flatMap((i) => i.candidates))].map(quote).join(' ');
  return `q=$(dpkg-query -W -f='\${Package}\t\${Status}\t\${Version}\n' ${names} 2>/dev/null)
printf '%s\n' "$q"
set -- ${wanted}
for n in ${names}; do case "
$q" in *"
$n	install ok installed	"*) ;; *) set -- "$@" "$n" ;; esac; done
echo @candidates
if [ $# -gt 0 ]; then apt-cache policy "$@" 2>/dev/null; fi
:`;
}

export function parsePackages(stdout: string, items: readonly PackagesItem[]): Map<string, PackageState>[] {
  const [dpkg = '', policy = ''] = stdout.split(/^@candidates$/m);
  const dpkgOf = new Map<string, { status: string; version: string }>();
  for (const line of dpkg.split('\n')) {
    const parts = line.split('\t');
    if (parts.length !== 3 || dpkgOf.has(parts[0]!)) continue;
    dpkgOf.set(parts[0]!, { status: parts[1]!, version: parts[2]! });
  }
  const candidateOf = new Map<string, string>();
  let current: string | undefined;
  for (const line of policy.split('\n')) {
    const header = /^(\S+):$/.exec(line);
    if (header) current = header[1];
    const candidate = /^ +Candidate: *(.*)$/.exec(line)?.[1]?.trim();
    if (current && candidate !== undefined && !candidateOf.has(current)) candidateOf.set(current, candidate);
  }
  return items.map((item) => new Map(item.names.map((name) => {
    const { status = '', version = '' } = dpkgOf.get(name) ?? {};
    const installed = status.trim().endsWith(' installed') && status.startsWith('install ');
    const candidate = candidateOf.get(name) ?? '';
    return [name, {
      name,
      installed,
      version: installed && version ? version : null,
      candidate: candidate && candidate !== '(none)' ? candidate : null,
    }];
  })));
}

const packages: FactFamily<PackagesItem, Map<string, PackageState>> = {
  name: 'packages',
  script: packagesScript,
  parse: (stdout, _code, items) => parsePackages(stdout, items),
};

/** dpkg status + version of each named package, and the apt candidate where it matters. */
export function packagesFact(names: readonly string[], candidates: readonly string[] = []): FamilyFact<Map<string, PackageState>, PackagesItem> {
  return {
    key: `packages:${[...names].sort().join(',')}${candidates.length ? `+candidates:${[...candidates].sort().join(',')}` : ''}`,
    family: packages,
    item: { names, candidates },
  };
}

/** Written after each apt-get update we run, since apt does not touch the lists when nothing changed. */
export const APT_UPDATE_STAMP = '/var/lib/bootstrap/apt-update-stamp';

/** Seconds since the apt lists were last refreshed; null when there are no lists at all. */
export const aptListsAgeFact: ScriptFact<number | null> = {
  key: 'apt-lists-age',
  inShell: true,
  script: `lists=no
for f in /var/lib/apt/lists/*_Packages*; do if [ -e "$f" ]; then lists=yes; fi; done
if [ "$lists" = yes ]; then
  printf 'now=%s\\n' "$(date +%s)"
  stat -c %Y -- ${APT_UPDATE_STAMP} /var/lib/apt/periodic/update-success-stamp /var/lib/apt/lists/*_Packages* /var/lib/apt/lists/*_Release 2>/dev/null
else echo none; fi
:`,
  parse: (stdout) => {
    const text = stdout.trim();
    if (text === 'none') return null;
    const [first = '', ...times] = text.split('\n');
    const now = /^now=(\d+)$/.exec(first)?.[1];
    if (now === undefined || times.some((t) => !/^\d+$/.test(t))) throw new Error(`expected now=<seconds> and mtimes, got ${JSON.stringify(text.slice(0, 200))}`);
    const newest = Math.max(0, ...times.map(Number));
    return Math.max(0, Number(now) - newest);
  },
};
