import type { HostFacts, ScriptFact } from './types.js';

/**
 * Gathered once per host, in the same round trip as the first tasks' facts. The shell reads
 * the files itself, so this costs the host two processes (dpkg and ip); initctl runs only where it
 * exists and systemd is not PID 1.
 */
const HOST_SCRIPT = `
h=; if [ -r /proc/sys/kernel/hostname ]; then read -r h < /proc/sys/kernel/hostname; fi
if [ -z "$h" ] && [ -r /etc/hostname ]; then read -r h < /etc/hostname; fi
printf 'hostname=%s\\n' "$h"
if [ -r /etc/os-release ]; then
  while IFS= read -r l || [ -n "$l" ]; do case $l in [A-Z_]*=*) printf 'os.%s\\n' "$l" ;; esac; done < /etc/os-release
fi
a=$(dpkg --print-architecture 2>/dev/null) || a=$(uname -m)
printf 'arch=%s\\n' "$a"
if [ -d /run/systemd/system ]; then echo init=systemd
elif command -v initctl >/dev/null 2>&1 && case $(initctl version 2>/dev/null) in *upstart*) true ;; *) false ;; esac; then echo init=upstart
else echo init=other; fi
u=; while IFS= read -r l; do case $l in Uid:*) set -- $l; u=$3; break ;; esac; done < /proc/self/status
n=; if [ -n "$u" ]; then while IFS=: read -r name x id rest; do if [ "$id" = "$u" ]; then n=$name; break; fi; done < /etc/passwd; fi
if [ -z "$u" ]; then u=$(id -u); fi
if [ -z "$n" ]; then n=$(id -un); fi
printf 'user=%s\\nuid=%s\\n' "$n" "$u"
if command -v ip >/dev/null 2>&1; then
  o=$(ip -o -4 addr show 2>/dev/null)
  while read -r i dev family address rest; do if [ "$family" = inet ]; then echo "address=$address $dev"; fi; done <<BOOTSTRAP_IP
$o
BOOTSTRAP_IP
else
  for a in $(hostname -I 2>/dev/null); do echo "address=$a"; done
fi
`;

const UNAME_TO_DPKG: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', armv7l: 'armhf', i686: 'i386' };

function unquote(value: string): string {
  const m = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
  return m ? m[1]!.replace(/\\(["\\$`])/g, '$1') : value;
}

export function parseHostFacts(stdout: string): HostFacts {
  const os: Record<string, string> = {};
  const addresses: string[] = [];
  const interfaces: Record<string, string> = {};
  const fields: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const name = line.slice(0, eq);
    const value = line.slice(eq + 1).trim();
    if (name.startsWith('os.')) os[name.slice(3)] = unquote(value);
    else if (name === 'address') {
      const [cidr, iface] = value.split(/\s+/);
      const ip = cidr!.split('/')[0]!;
      if (/^\d+\.\d+\.\d+\.\d+$/.test(ip) && !ip.startsWith('127.') && !addresses.includes(ip)) addresses.push(ip);
      if (iface && !ip.startsWith('127.')) interfaces[ip] = iface.split('@')[0]!;
    } else fields[name] = value;
  }
  const id = os.ID ?? '';
  const likes = (os.ID_LIKE ?? '').split(/\s+/);
  const init = fields.init === 'systemd' || fields.init === 'upstart' ? fields.init : 'other';
  const arch = fields.arch ?? '';
  return {
    hostname: fields.hostname ?? '',
    os: {
      id,
      version: os.VERSION_ID ?? '',
      codename: os.VERSION_CODENAME ?? os.UBUNTU_CODENAME ?? '',
      family: id === 'debian' || likes.includes('debian') ? 'debian' : 'other',
    },
    arch: UNAME_TO_DPKG[arch] ?? arch,
    init,
    user: fields.user ?? '',
    isRoot: fields.uid === '0',
    addresses,
    interfaces,
  };
}

export const hostFacts: ScriptFact<HostFacts> = {
  key: 'host',
  inShell: true,
  script: HOST_SCRIPT,
  parse: (stdout) => parseHostFacts(stdout),
};
