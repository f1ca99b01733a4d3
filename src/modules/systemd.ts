import { daemonReloadFact } from '../facts/service.js';
import { serviceModule, type ServiceParams } from './service.js';
import type { Module } from './types.js';

export type SystemdParams = Omit<ServiceParams, 'name'> & { name?: string; daemon_reload?: boolean };

/**
 * Ansible's systemd (systemd_service): the service module, plus `daemon_reload`, which reloads
 * systemd first when a unit file changed on disk since systemd loaded it (NeedDaemonReload of the
 * named unit, or of any loaded unit without a name). `name` may be left out with daemon_reload.
 */
export const systemdModule: Module<SystemdParams> = {
  name: 'systemd',
  params: {
    ...serviceModule.params,
    name: { ...serviceModule.params.name!, required: false },
    daemon_reload: { type: 'boolean', default: false, description: 'reload systemd first when a unit file changed on disk' },
  },
  validate(p, ctx) {
    if (p.name === undefined && !p.daemon_reload) return [['name', 'give name, or daemon_reload: true']];
    return p.name === undefined ? [] : serviceModule.validate?.({ ...p, name: p.name }, ctx) ?? [];
  },
  facts(p, ctx) {
    if (p.daemon_reload && ctx.facts.init !== 'systemd') throw new Error(`daemon_reload needs systemd; ${ctx.host} runs ${ctx.facts.init}`);
    return [...(p.daemon_reload ? [daemonReloadFact(p.name)] : []), ...(p.name !== undefined ? serviceModule.facts({ ...p, name: p.name }, ctx) : [])];
  },
  async plan(p, read, ctx) {
    const service = p.name !== undefined ? await serviceModule.plan({ ...p, name: p.name }, read, ctx) : { changes: [], reason: '' };
    const reloads = service.changes.some((c) => c.commands.some((cmd) => cmd.argv.join(' ') === 'systemctl daemon-reload'));
    if (!p.daemon_reload || reloads || !read(daemonReloadFact(p.name))) {
      const reason = [p.daemon_reload && !reloads ? 'no unit file changed since systemd loaded it' : '', service.reason ?? ''].filter(Boolean).join('; ');
      return service.changes.length ? service : { changes: [], reason };
    }
    const title = `reload systemd units (${p.name === undefined ? 'a unit file' : p.name} changed on disk)`;
    return { changes: [{ title, commands: [{ argv: ['systemctl', 'daemon-reload'] }] }, ...service.changes] };
  },
};
