/**
 * The facts as they were before batching (commit 7267934): one script per path, package, unit
 * and host, each run on its own. Kept only as the reference the batched facts must agree with
 * (test/integration/facts-batched.test.ts); the product never runs them.
 */
import { quote } from '../../src/argv.js';
import type { FileState, FileType } from '../../src/facts/file.js';
import { normalizeMode } from '../../src/facts/file.js';
import type { ScriptFact } from '../../src/facts/types.js';

function fileScript(path: string, stampFile?: string): string {
  const hash = stampFile
    ? `  st=$(stat -c '%s:%Y:%i' -- "$p"); r=${quote(stampFile)}
  if [ -r "$r" ] && grep -qx "stat=$st" "$r"; then grep '^sha256=' "$r"
  else s=$(sha256sum < "$p") && printf 'sha256=%s\\n' "\${s%% *}"; fi`
    : `  s=$(sha256sum < "$p") && printf 'sha256=%s\\n' "\${s%% *}"`;
  return `p=${quote(path)}
if [ -L "$p" ]; then echo type=link; printf 'target=%s\\n' "$(readlink -- "$p")"
elif [ -d "$p" ]; then echo type=directory
elif [ -f "$p" ]; then echo type=file
elif [ -e "$p" ]; then echo type=other
else echo type=absent; exit 0; fi
stat -c 'mode=%a
uid=%u
gid=%g
owner=%U
group=%G
size=%s' -- "$p"
if [ ! -L "$p" ] && [ -f "$p" ] && [ -r "$p" ]; then
${hash}
fi`;
}

function parseFileState(path: string, stdout: string): FileState {
  const state: FileState = { path, type: 'absent' };
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const value = line.slice(eq + 1);
    switch (line.slice(0, eq)) {
      case 'type': state.type = value as FileType; break;
      case 'target': state.linkTarget = value; break;
      case 'mode': state.mode = normalizeMode(value); break;
      case 'uid': state.uid = Number(value); break;
      case 'gid': state.gid = Number(value); break;
      case 'owner': state.owner = value; break;
      case 'group': state.group = value; break;
      case 'size': state.size = Number(value); break;
      case 'sha256': state.sha256 = value; break;
    }
  }
  return state;
}

export function perPathFileFact(path: string, stampFile?: string): ScriptFact<FileState> {
  return { key: `per-path-file:${stampFile ?? ''}:${path}`, script: fileScript(path, stampFile), parse: (stdout) => parseFileState(path, stdout) };
}

/** The content as the per-path fact fetched it (regular files up to 256 KiB). */
export function perPathContentFact(path: string): ScriptFact<Buffer | null> {
  return {
    key: `per-path-content:${path}`,
    script: `p=${quote(path)}
if [ ! -L "$p" ] && [ -f "$p" ] && [ -r "$p" ] && [ "$(stat -c %s -- "$p")" -le ${256 * 1024} ]; then echo content:; base64 < "$p"; fi`,
    parse: (stdout) => (stdout.startsWith('content:\n') ? Buffer.from(stdout.slice(9).replace(/\s+/g, ''), 'base64') : null),
  };
}

export interface PerPackage { installed: boolean; version: string | null; candidate: string | null }

export function perPackageFact(name: string): ScriptFact<PerPackage> {
  return {
    key: `per-package:${name}`,
    script: `p=${quote(name)}
s=$(dpkg-query -W -f='\${Status}\\n' "$p" 2>/dev/null | head -n1)
v=$(dpkg-query -W -f='\${Version}\\n' "$p" 2>/dev/null | head -n1)
c=$(apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n1)
printf '%s|%s|%s\\n' "$s" "$v" "$c"`,
    parse: (stdout) => {
      const [status = '', version = '', candidate = ''] = stdout.trim().split('|');
      const installed = status.trim().endsWith(' installed') && status.startsWith('install ');
      return { installed, version: installed && version ? version : null, candidate: candidate && candidate !== '(none)' ? candidate : null };
    },
  };
}

export function perUnitFact(unit: string): ScriptFact<{ unit: string; enabled: string; active: string; needsReload: boolean }> {
  return {
    key: `per-unit:${unit}`,
    // `--`: without it a unit named with a leading dash (the root mount, "-.mount") was read as an option
    script: `printf 'enabled=%s\\n' "$(systemctl is-enabled -- ${quote(unit)} 2>/dev/null | head -n1)"
printf 'active=%s\\n' "$(systemctl is-active -- ${quote(unit)} 2>/dev/null | head -n1)"
printf 'reload=%s\\n' "$(systemctl show -p NeedDaemonReload --value -- ${quote(unit)} 2>/dev/null | head -n1)"`,
    parse: (stdout) => {
      const field = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(stdout)?.[1]?.trim() ?? '';
      return { unit, enabled: field('enabled') || 'not-found', active: field('active') || 'inactive', needsReload: field('reload') === 'yes' };
    },
  };
}

export const PER_HOST_SCRIPT = `
printf 'hostname=%s\\n' "$(hostname 2>/dev/null || cat /etc/hostname)"
if [ -r /etc/os-release ]; then sed -n 's/^\\([A-Z_]*\\)=/os.\\1=/p' /etc/os-release; fi
printf 'arch=%s\\n' "$(dpkg --print-architecture 2>/dev/null || uname -m)"
if [ -d /run/systemd/system ]; then echo init=systemd
elif initctl version 2>/dev/null | grep -q upstart; then echo init=upstart
else echo init=other; fi
printf 'user=%s\\nuid=%s\\n' "$(id -un)" "$(id -u)"
if command -v ip >/dev/null 2>&1; then
  ip -o -4 addr show 2>/dev/null | awk '{ print "address=" $4 " " $2 }'
else
  for a in $(hostname -I 2>/dev/null); do echo "address=$a"; done
fi
`;
