import { anyUnitNeedsReloadFact, systemdUnitFact, userRuntimeDirFact, type SystemdScope } from '../facts/service.js';
import { planService, serviceFacts, serviceModule, type ServiceParams } from './service.js';
import type { ArgvCommand } from '../argv.js';
import type { FactReader } from '../facts/types.js';
import type { Change, Module, ModuleContext, Plan } from './types.js';

export type SystemdParams = Omit<ServiceParams, 'name'> & {
  name?: string;
  daemon_reload?: boolean;
  daemon_reexec?: boolean;
  scope?: SystemdScope;
  masked?: boolean;
  no_block?: boolean;
  force?: boolean;
};

const scopeOf = (p: SystemdParams): SystemdScope => p.scope ?? 'system';
const runtimeDirFact = (ctx: ModuleContext) => userRuntimeDirFact(ctx.become ? 'become' : 'login');

/** mask or unmask first, when is-enabled says otherwise (only "masked" counts as masked, as in Ansible). */
function maskChange(p: SystemdParams & { name: string }, enabled: string, unit: string): Change | undefined {
  if (p.masked === undefined || (enabled === 'masked') === p.masked) return undefined;
  const verb = p.masked ? 'mask' : 'unmask';
  return { title: `${verb} ${p.name} (was ${enabled})`, commands: [{ argv: ['systemctl', verb, unit] }] };
}

/**
 * Every systemctl command as Ansible builds its systemctl: the scope's `--user` / `--global`,
 * then `--no-block`, `--force`. In the user scope it runs with the XDG_RUNTIME_DIR Ansible gives
 * it (`runtimeDir`, userRuntimeDirFact), through which systemctl reaches the user's manager.
 */
export function systemctlArgv(argv: readonly string[], p: SystemdParams, runtimeDir?: string): readonly string[] {
  if (argv[0] !== 'systemctl') return argv;
  const scope = scopeOf(p);
  const options = [...(scope === 'system' ? [] : [`--${scope}`]), ...(p.no_block ? ['--no-block'] : []), ...(p.force ? ['--force'] : [])];
  const systemctl = ['systemctl', ...options, ...argv.slice(1)];
  return scope === 'user' ? ['env', `XDG_RUNTIME_DIR=${runtimeDir}`, ...systemctl] : systemctl;
}

function withSystemctlOptions(plan: Plan, p: SystemdParams, runtimeDir?: string): Plan {
  const options = (cmd: ArgvCommand): ArgvCommand => ({ ...cmd, argv: systemctlArgv(cmd.argv, p, runtimeDir) });
  return { ...plan, changes: plan.changes.map((c) => ({ ...c, commands: c.commands.map(options) })) };
}

/** Offline refusals: what Ansible refuses (a unit state without a name), and what its systemctl fails on in a scope. */
function validateSystemd(p: SystemdParams): Array<[string, string]> {
  const scope = scopeOf(p);
  if (p.name === undefined && p.masked !== undefined) return [['masked', 'masked needs name']];
  if (p.name === undefined && !p.daemon_reload && !p.daemon_reexec) return [['name', 'give name, or daemon_reload: true or daemon_reexec: true']];
  const writesUnit = [p.unit, p.unit_src, p.upstart, p.upstart_src].some((v) => v !== undefined);
  if (!writesUnit && p.state === undefined && p.enabled === undefined && p.masked === undefined && !p.daemon_reload && !p.daemon_reexec) {
    return [['name', 'give one of state, enabled, masked, daemon_reload or daemon_reexec (or a unit to write): with a name alone there is nothing to do, and Ansible refuses it']];
  }
  const problems: Array<[string, string]> = [];
  // Ansible masks first, then finds the unit not enabled ("masked") and runs systemctl enable, which refuses a masked unit
  if (p.masked === true && p.enabled === true) problems.push(['enabled', 'a masked unit cannot be enabled (systemctl enable refuses it, so Ansible fails); give masked: false or leave enabled out']);
  if (scope === 'global') {
    // systemctl --global edits unit files only: there is no manager to start, reload or re-execute
    for (const key of ['state', 'daemon_reload', 'daemon_reexec'] as const) {
      if (p[key] !== undefined && p[key] !== false) problems.push([key, `${key} needs a running manager; scope global only enables, disables, masks and unmasks unit files (give scope system or user)`]);
    }
  }
  if (scope !== 'system') {
    for (const key of ['unit', 'unit_src', 'upstart', 'upstart_src'] as const) {
      if (p[key] !== undefined) problems.push([key, `${key} writes a system unit (/etc/systemd/system) or Upstart job; with scope ${scope} write the unit file with copy or template`]);
    }
  }
  return problems;
}

/**
 * Ansible's systemd (systemd_service): the service module, plus `daemon_reload`, which reloads
 * systemd first when a unit file changed on disk since systemd loaded it (NeedDaemonReload of the
 * named unit, or of any loaded unit without a name), `daemon_reexec`, which re-executes the
 * manager every run without counting a change (as Ansible), and `scope` (Ansible's --user /
 * --global). `name` may be left out with daemon_reload or daemon_reexec.
 */
export const systemdModule: Module<SystemdParams> = {
  name: 'systemd',
  params: {
    ...serviceModule.params,
    // Ansible's alias `unit` is not taken: `unit` here is the unit file's content (as in `service`)
    name: { ...serviceModule.params.name!, required: false, aliases: ['service'] },
    daemon_reload: { type: 'boolean', aliases: ['daemon-reload'], default: false, description: 'reload systemd first when a unit file changed on disk' },
    daemon_reexec: { type: 'boolean', aliases: ['daemon-reexec'], default: false, description: 'systemctl daemon-reexec before anything else, every run (not counted as a change, as in Ansible)' },
    scope: { type: 'string', enum: ['system', 'user', 'global'], default: 'system', description: 'the service manager: the system\'s, the login (or become) user\'s (--user), or the unit files of every user (--global)' },
    masked: { type: 'boolean', description: 'true: systemctl mask (the unit cannot be started); false: unmask; done before enabled and state' },
    no_block: { type: 'boolean', default: false, description: 'systemctl --no-block: do not wait for the start or stop to finish' },
    force: { type: 'boolean', default: false, description: 'systemctl --force: enable or mask over conflicting links' },
  },
  validate(p, ctx) {
    const problems = validateSystemd(p);
    if (problems.length || p.name === undefined) return problems;
    return serviceModule.validate?.({ ...p, name: p.name }, ctx) ?? [];
  },
  facts(p, ctx) {
    const scope = scopeOf(p);
    const needsSystemd = p.masked !== undefined ? 'masked' : p.daemon_reload ? 'daemon_reload' : p.daemon_reexec ? 'daemon_reexec' : undefined;
    if (needsSystemd && scope !== 'global' && ctx.facts.init !== 'systemd') throw new Error(`${needsSystemd} needs systemd; ${ctx.host} runs ${ctx.facts.init}`);
    // a named unit's NeedDaemonReload comes with its state, among the service's facts
    const reload = p.daemon_reload && scope !== 'global' && p.name === undefined ? [anyUnitNeedsReloadFact(scope, ctx.become)] : [];
    return [...reload, ...(scope === 'user' ? [runtimeDirFact(ctx)] : []), ...(p.name !== undefined ? serviceFacts({ ...p, name: p.name }, ctx, scope) : [])];
  },
  async plan(p, read, ctx) {
    return withSystemctlOptions(await planSystemd(p, read, ctx), p, scopeOf(p) === 'user' ? read(runtimeDirFact(ctx)) : undefined);
  },
};

const STATE_VERBS = new Set(['start', 'stop', 'restart', 'reload']);

/**
 * The mask change first; Ansible then asks is-enabled again, which for a masked unit says only
 * "masked" (not enabled). So after a mask, `enabled: false` has nothing to disable. After an
 * unmask, whether the unit is enabled underneath shows only then: with `enabled: false` the
 * disable is planned too (enable is already, "masked" not counting as enabled), before any start or stop.
 */
function withMask(mask: Change, changes: Change[], p: SystemdParams, unit: string): Change[] {
  const disables = (c: Change) => c.commands.some((cmd) => cmd.argv[0] === 'systemctl' && cmd.argv[1] === 'disable');
  if (p.masked === true) return [mask, ...changes.filter((c) => !disables(c))];
  if (p.enabled !== false || changes.some(disables)) return [mask, ...changes];
  const disable: Change = { title: `disable ${p.name} (masked until now: is-enabled could not tell)`, commands: [{ argv: ['systemctl', 'disable', unit] }] };
  const at = changes.findIndex((c) => c.commands.some((cmd) => cmd.argv[0] === 'systemctl' && STATE_VERBS.has(cmd.argv[1]!)));
  return at < 0 ? [mask, ...changes, disable] : [mask, ...changes.slice(0, at), disable, ...changes.slice(at)];
}

/** NeedDaemonReload of the named unit, or of any loaded unit without a name. */
function needsReload(p: SystemdParams, read: FactReader, scope: Exclude<SystemdScope, 'global'>, become = false): boolean {
  return p.name !== undefined ? read(systemdUnitFact(p.name, scope, become)).needsReload : read(anyUnitNeedsReloadFact(scope, become));
}

/** daemon-reload (when a unit changed on disk), daemon-reexec, mask/unmask, then the service's own changes, in Ansible's order. */
async function planSystemd(...[p, read, ctx]: Parameters<Module<SystemdParams>['plan']>): Promise<Plan> {
  const scope = scopeOf(p);
  const planned = p.name !== undefined ? planService({ ...p, name: p.name }, read, ctx, scope) : { changes: [], reason: '' };
  const unit = p.name !== undefined && p.masked !== undefined ? read(systemdUnitFact(p.name, scope, ctx.become)) : undefined;
  const mask = unit ? maskChange({ ...p, name: p.name! }, unit.enabled, unit.unit) : undefined;
  const service: Plan = mask ? { changes: withMask(mask, planned.changes, p, unit!.unit) } : planned;
  const reexec: Change[] = p.daemon_reexec ? [{ title: 'systemctl daemon-reexec (daemon_reexec: every run, not counted as a change)', commands: [{ argv: ['systemctl', 'daemon-reexec'] }], uncounted: true }] : [];
  const reloads = service.changes.some((c) => c.commands.some((cmd) => cmd.argv.join(' ') === 'systemctl daemon-reload'));
  if (!p.daemon_reload || reloads || !needsReload(p, read, scope === 'global' ? 'system' : scope, ctx.become)) {
    const reason = [p.daemon_reload && !reloads ? 'no unit file changed since systemd loaded it' : '', service.reason ?? ''].filter(Boolean).join('; ');
    return service.changes.length ? { changes: [...reexec, ...service.changes] } : { changes: reexec, reason };
  }
  const title = `reload systemd units (${p.name === undefined ? 'a unit file' : p.name} changed on disk)`;
  return { changes: [{ title, commands: [{ argv: ['systemctl', 'daemon-reload'] }] }, ...reexec, ...service.changes] };
}
