import { daemonReloadFact, systemdUnitFact } from '../facts/service.js';
import { serviceModule, type ServiceParams } from './service.js';
import type { Change, Module, Plan } from './types.js';

export type SystemdParams = Omit<ServiceParams, 'name'> & { name?: string; daemon_reload?: boolean; masked?: boolean; no_block?: boolean; force?: boolean };

/** mask or unmask first, when is-enabled says otherwise (only "masked" counts as masked, as in Ansible). */
function maskChange(p: SystemdParams & { name: string }, enabled: string, unit: string): Change | undefined {
  if (p.masked === undefined || (enabled === 'masked') === p.masked) return undefined;
  const verb = p.masked ? 'mask' : 'unmask';
  return { title: `${verb} ${p.name} (was ${enabled})`, commands: [{ argv: ['systemctl', verb, unit] }] };
}

/** no_block and force go on every systemctl command, as Ansible adds them to its systemctl. */
function withSystemctlOptions(plan: Plan, p: SystemdParams): Plan {
  const extra = [...(p.no_block ? ['--no-block'] : []), ...(p.force ? ['--force'] : [])];
  if (!extra.length) return plan;
  const changes = plan.changes.map((c) => ({ ...c, commands: c.commands.map((cmd) => (cmd.argv[0] === 'systemctl' ? { ...cmd, argv: ['systemctl', ...extra, ...cmd.argv.slice(1)] } : cmd)) }));
  return { ...plan, changes };
}

/**
 * Ansible's systemd (systemd_service): the service module, plus `daemon_reload`, which reloads
 * systemd first when a unit file changed on disk since systemd loaded it (NeedDaemonReload of the
 * named unit, or of any loaded unit without a name). `name` may be left out with daemon_reload.
 */
export const systemdModule: Module<SystemdParams> = {
  name: 'systemd',
  params: {
    ...serviceModule.params,
    // Ansible's alias `unit` is not taken: `unit` here is the unit file's content (as in `service`)
    name: { ...serviceModule.params.name!, required: false, aliases: ['service'] },
    daemon_reload: { type: 'boolean', aliases: ['daemon-reload'], default: false, description: 'reload systemd first when a unit file changed on disk' },
    masked: { type: 'boolean', description: 'true: systemctl mask (the unit cannot be started); false: unmask; done before enabled and state' },
    no_block: { type: 'boolean', default: false, description: 'systemctl --no-block: do not wait for the start or stop to finish' },
    force: { type: 'boolean', default: false, description: 'systemctl --force: enable or mask over conflicting links' },
  },
  validate(p, ctx) {
    if (p.name === undefined && p.masked !== undefined) return [['masked', 'masked needs name']];
    if (p.name === undefined && !p.daemon_reload) return [['name', 'give name, or daemon_reload: true']];
    return p.name === undefined ? [] : serviceModule.validate?.({ ...p, name: p.name }, ctx) ?? [];
  },
  facts(p, ctx) {
    if (p.masked !== undefined && ctx.facts.init !== 'systemd') throw new Error(`masked needs systemd; ${ctx.host} runs ${ctx.facts.init}`);
    if (p.daemon_reload && ctx.facts.init !== 'systemd') throw new Error(`daemon_reload needs systemd; ${ctx.host} runs ${ctx.facts.init}`);
    return [...(p.daemon_reload ? [daemonReloadFact(p.name)] : []), ...(p.name !== undefined ? serviceModule.facts({ ...p, name: p.name }, ctx) : [])];
  },
  async plan(p, read, ctx) {
    return withSystemctlOptions(await planSystemd(p, read, ctx), p);
  },
};

async function planSystemd(...[p, read, ctx]: Parameters<Module<SystemdParams>['plan']>): Promise<Plan> {
  const planned = p.name !== undefined ? await serviceModule.plan({ ...p, name: p.name }, read, ctx) : { changes: [], reason: '' };
  const unit = p.name !== undefined && p.masked !== undefined ? read(systemdUnitFact(p.name)) : undefined;
  const mask = unit ? maskChange({ ...p, name: p.name! }, unit.enabled, unit.unit) : undefined;
  const service: Plan = mask ? { changes: [mask, ...planned.changes] } : planned;
  const reloads = service.changes.some((c) => c.commands.some((cmd) => cmd.argv.join(' ') === 'systemctl daemon-reload'));
  if (!p.daemon_reload || reloads || !read(daemonReloadFact(p.name))) {
    const reason = [p.daemon_reload && !reloads ? 'no unit file changed since systemd loaded it' : '', service.reason ?? ''].filter(Boolean).join('; ');
    return service.changes.length ? service : { changes: [], reason };
  }
  const title = `reload systemd units (${p.name === undefined ? 'a unit file' : p.name} changed on disk)`;
  return { changes: [{ title, commands: [{ argv: ['systemctl', 'daemon-reload'] }] }, ...service.changes] };
}
