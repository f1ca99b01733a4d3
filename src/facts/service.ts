import { quote } from '../argv.js';
import type { FactFamily, FamilyFact, ScriptFact } from './types.js';

export interface SystemdUnitState {
  unit: string;
  /** systemctl is-enabled: enabled, disabled, static, masked, ... or "not-found" */
  enabled: string;
  /** systemctl is-active: active, inactive, failed, activating, ... */
  active: string;
  /** NeedDaemonReload: its unit file changed on disk since systemd loaded it (daemon_reload) */
  needsReload: boolean;
}

/** Which service manager systemctl talks to (Ansible's systemd `scope`): the system's, the login user's, or every user's unit files (`--global`). */
export type SystemdScope = 'system' | 'user' | 'global';

const RUNTIME_DIR = '${XDG_RUNTIME_DIR:-/run/user/$(id -u)}';

/**
 * systemctl in a scope, as a shell command prefix for fact scripts. A user's manager is reached
 * through XDG_RUNTIME_DIR, which Ansible sets to /run/user/<euid> when it is unset.
 */
export function systemctlIn(scope: SystemdScope): string {
  if (scope === 'user') return `XDG_RUNTIME_DIR="${RUNTIME_DIR}" systemctl --user`;
  return scope === 'global' ? 'systemctl --global' : 'systemctl';
}

/**
 * The XDG_RUNTIME_DIR a user-scope systemctl gets, as Ansible gives it: the session's, else
 * /run/user/<euid>. `who` tells the login user's from root's (become): facts are cached by key.
 */
export function userRuntimeDirFact(who: 'login' | 'become'): ScriptFact<string> {
  return { key: `systemd-user-runtime-dir:${who}`, inShell: true, script: `printf '%s\\n' "${RUNTIME_DIR}"`, parse: (stdout) => stdout.trim() };
}

export function systemdUnitName(name: string): string {
  return /\.(service|socket|timer|target|mount|path)$/.test(name) ? name : `${name}.service`;
}

/**
 * One `systemctl show` for every unit of the batch (its blocks come in the order asked), with
 * NeedDaemonReload, so that daemon_reload costs no systemctl of its own. Where
 * the UnitFileState property may differ from what `systemctl is-enabled` says (an alias, a unit
 * generated from a SysV script, one without a unit file), that unit is asked with is-enabled,
 * unless systemd found no unit of that name at all (LoadState=not-found: is-enabled prints
 * nothing then either). When systemctl show fails, each unit is asked with is-enabled and is-active.
 */
function unitsScript(units: readonly string[], systemctl: string): string {
  const names = units.map(quote).join(' ');
  return `nl='
'
if o=$(${systemctl} show -p Id -p LoadState -p UnitFileState -p ActiveState -p NeedDaemonReload -- ${names} 2>/dev/null) && [ -n "$o" ]; then
  set -- ${names}
  id=; ls=; f=; a=; r=
  while IFS= read -r l; do
    case $l in
      Id=*) id=\${l#Id=} ;;
      LoadState=*) ls=\${l#LoadState=} ;;
      UnitFileState=*) f=\${l#UnitFileState=} ;;
      ActiveState=*) a=\${l#ActiveState=} ;;
      NeedDaemonReload=*) r=\${l#NeedDaemonReload=} ;;
      '')
        if [ $# -gt 0 ] && [ -n "$id" ]; then
          if [ "$ls" != not-found ] && { [ "$id" != "$1" ] || [ -z "$f" ] || [ "$f" = generated ]; }; then f=$(${systemctl} is-enabled -- "$1" 2>/dev/null); fi
          printf '%s\\0%s\\0%s\\0%s\\0' "$1" "\${f%%"$nl"*}" "$a" "$r"; shift
        fi
        id=; ls=; f=; a=; r= ;;
    esac
  done <<BOOTSTRAP_UNITS
$o

BOOTSTRAP_UNITS
else
  for u in ${names}; do
    f=$(${systemctl} is-enabled -- "$u" 2>/dev/null); a=$(${systemctl} is-active -- "$u" 2>/dev/null)
    r=$(${systemctl} show -p NeedDaemonReload --value -- "$u" 2>/dev/null)
    printf '%s\\0%s\\0%s\\0%s\\0' "$u" "\${f%%"$nl"*}" "\${a%%"$nl"*}" "\${r%%"$nl"*}"
  done
fi
:`;
}

/** The unit, enabled, active, NeedDaemonReload quadruples the units' script printed, NUL-separated. */
export function parseUnits(stdout: string, units: readonly string[]): SystemdUnitState[] {
  const tokens = stdout.split('\0');
  const byUnit = new Map<string, { enabled: string; active: string; needsReload: boolean }>();
  for (let i = 0; i + 3 < tokens.length; i += 4) {
    if (!byUnit.has(tokens[i]!)) byUnit.set(tokens[i]!, { enabled: tokens[i + 1]!.trim(), active: tokens[i + 2]!.trim(), needsReload: tokens[i + 3]!.trim() === 'yes' });
  }
  return units.map((unit) => {
    const found = byUnit.get(unit);
    return { unit, enabled: found?.enabled || 'not-found', active: found?.active || 'inactive', needsReload: found?.needsReload ?? false };
  });
}

/** One family per scope: a batch asks each scope's manager once, for all of its units. */
const unitFamilies: Record<SystemdScope, FactFamily<string, SystemdUnitState>> = {
  system: { name: 'systemd-units', script: (items) => unitsScript(items, systemctlIn('system')), parse: (stdout, _code, items) => parseUnits(stdout, items), waits: true },
  user: { name: 'systemd-user-units', script: (items) => unitsScript(items, systemctlIn('user')), parse: (stdout, _code, items) => parseUnits(stdout, items), waits: true },
  global: { name: 'systemd-global-units', script: (items) => unitsScript(items, systemctlIn('global')), parse: (stdout, _code, items) => parseUnits(stdout, items), waits: true },
};

/**
 * A unit's is-enabled and is-active state, as the scope's manager (or, for `global`, the unit
 * files) say; in the user scope, of the login user's manager or (`become`) root's.
 */
export function systemdUnitFact(name: string, scope: SystemdScope = 'system', become = false): FamilyFact<SystemdUnitState, string> {
  const unit = systemdUnitName(name);
  const keyScope = scope === 'system' ? '' : scope === 'user' ? `-user-${become ? 'become' : 'login'}` : '-global';
  return { key: `systemd${keyScope}:${unit}`, family: unitFamilies[scope], item: unit };
}

export interface UpstartJobState {
  name: string;
  /** initctl knows the job */
  known: boolean;
  /** goal/state is start/running */
  running: boolean;
  /** /etc/init/<name>.override says "manual": the job does not start at boot */
  manual: boolean;
  /** /etc/init/<name>.conf exists: with `manual` absent, that is what "enabled" means on Upstart */
  conf: boolean;
}

export function parseUpstartJob(name: string, stdout: string): UpstartJobState {
  const status = /^status=(.*)$/m.exec(stdout)?.[1] ?? '';
  return {
    name,
    known: status !== '',
    running: /\bstart\/running\b/.test(status),
    manual: /^manual=yes$/m.test(stdout),
    conf: /^conf=yes$/m.test(stdout),
  };
}

export function upstartJobFact(name: string): ScriptFact<UpstartJobState> {
  const override = `/etc/init/${name}.override`;
  return {
    key: `upstart:${name}`,
    script: `printf 'status=%s\\n' "$(initctl status ${quote(name)} 2>/dev/null | head -n1)"
if [ -f ${quote(override)} ] && grep -qx manual ${quote(override)}; then echo manual=yes; fi
if [ -f ${quote(`/etc/init/${name}.conf`)} ]; then echo conf=yes; fi`,
    parse: (stdout) => parseUpstartJob(name, stdout),
  };
}

/**
 * Whether systemd needs a daemon-reload because any loaded unit's file changed on disk since it
 * was loaded (NeedDaemonReload). A named unit's comes with its state (systemdUnitFact).
 */
export function anyUnitNeedsReloadFact(scope: Exclude<SystemdScope, 'global'> = 'system', become = false): ScriptFact<boolean> {
  // run by xargs, systemctl gets the user's runtime directory through env, not a shell assignment
  const viaXargs = scope === 'user' ? `env XDG_RUNTIME_DIR="${RUNTIME_DIR}" systemctl --user` : 'systemctl';
  return {
    key: `systemd-need-reload${scope === 'system' ? '' : `-user-${become ? 'become' : 'login'}`}:*`,
    script: `${systemctlIn(scope)} list-units --all --no-legend --plain 2>/dev/null | while read -r u rest; do printf '%s\\n' "$u"; done | xargs -r ${viaXargs} show -p NeedDaemonReload -- 2>/dev/null; :`,
    parse: (stdout) => /^NeedDaemonReload=yes$/m.test(stdout),
  };
}
