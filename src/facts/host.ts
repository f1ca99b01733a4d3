import type { Fact, HostFacts } from './types.js';

/** Gathered once per host, in the same round trip as the first tasks' facts. */
const HOST_SCRIPT = `
printf 'hostname=%s\\n' "$(hostname 2>/dev/null || cat /etc/hostname)"
if [ -r /etc/os-release ]; then sed -n 's/^\\([A-Z_]*\\)=/os.\\1=/p' /etc/os-release; fi
printf 'arch=%s\\n' "$(dpkg --print-architecture 2>/dev/null || uname -m)"
if [ -d /run/systemd/system ]; then echo init=systemd
elif initctl version 2>/dev/null | grep -q upstart; then echo init=upstart
else echo init=other; fi
printf 'user=%s\\nuid=%s\\n' "$(id -un)" "$(id -u)"
if command -v ip >/dev/null 2>&1; then
  ip -o -4 addr show 2>/dev/null | awk '{ print "address=" $4 }'
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
  const fields: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const name = line.slice(0, eq);
    const value = line.slice(eq + 1).trim();
    if (name.startsWith('os.')) os[name.slice(3)] = unquote(value);
    else if (name === 'address') {
      const ip = value.split('/')[0]!;
      if (/^\d+\.\d+\.\d+\.\d+$/.test(ip) && !ip.startsWith('127.') && !addresses.includes(ip)) addresses.push(ip);
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
  };
}

export const hostFacts: Fact<HostFacts> = {
  key: 'host',
  script: HOST_SCRIPT,
  parse: (stdout) => parseHostFacts(stdout),
};
