import { quote } from '../command.js';
import type { Fact } from './types.js';

export interface SystemdUnitState {
  unit: string;
  /** systemctl is-enabled: enabled, disabled, static, masked, ... or "not-found" */
  enabled: string;
  /** systemctl is-active: active, inactive, failed, activating, ... */
  active: string;
}

export function systemdUnitName(name: string): string {
  return /\.(service|socket|timer|target|mount|path)$/.test(name) ? name : `${name}.service`;
}

export function parseSystemdUnit(unit: string, stdout: string): SystemdUnitState {
  const field = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(stdout)?.[1]?.trim() ?? '';
  return { unit, enabled: field('enabled') || 'not-found', active: field('active') || 'inactive' };
}

export function systemdUnitFact(name: string): Fact<SystemdUnitState> {
  const unit = systemdUnitName(name);
  return {
    key: `systemd:${unit}`,
    script: `printf 'enabled=%s\\n' "$(systemctl is-enabled ${quote(unit)} 2>/dev/null | head -n1)"
printf 'active=%s\\n' "$(systemctl is-active ${quote(unit)} 2>/dev/null | head -n1)"`,
    parse: (stdout) => parseSystemdUnit(unit, stdout),
  };
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

export function upstartJobFact(name: string): Fact<UpstartJobState> {
  const override = `/etc/init/${name}.override`;
  return {
    key: `upstart:${name}`,
    script: `printf 'status=%s\\n' "$(initctl status ${quote(name)} 2>/dev/null | head -n1)"
if [ -f ${quote(override)} ] && grep -qx manual ${quote(override)}; then echo manual=yes; fi
if [ -f ${quote(`/etc/init/${name}.conf`)} ]; then echo conf=yes; fi`,
    parse: (stdout) => parseUpstartJob(name, stdout),
  };
}
