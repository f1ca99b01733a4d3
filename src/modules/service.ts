import type { Fact, FactReader } from '../facts/types.js';
import { fileFact } from '../facts/file.js';
import { systemdUnitFact, systemdUnitName, upstartJobFact } from '../facts/service.js';
import type { SystemdScope, SystemdUnitState, UpstartJobState } from '../facts/service.js';
import type { Change, Module, ModuleContext, Plan } from './types.js';
import { planFileWrite, withLeftoverRemoval, writeFileCommands } from './write-file.js';
import { leftoversFact } from '../facts/leftovers.js';

export type ServiceParams = {
  name: string;
  state?: 'started' | 'stopped' | 'restarted' | 'reloaded';
  enabled?: boolean;
  unit?: string;
  upstart?: string;
  unit_src?: string;
  upstart_src?: string;
};

const ENABLED_STATES = ['enabled', 'enabled-runtime', 'static', 'alias', 'indirect', 'generated'];
const RUNNING_STATES = ['active', 'activating', 'reloading'];

export function unitPath(name: string): string {
  return `/etc/systemd/system/${systemdUnitName(name)}`;
}

export function upstartPath(name: string): string {
  return `/etc/init/${name}.conf`;
}

/**
 * The system's init, for the system scope. A user's manager needs a running systemd; `global`
 * only edits unit files under /etc/systemd/user, which systemctl does without one (an image, a chroot).
 */
function backendOf(ctx: ModuleContext, scope: SystemdScope): 'systemd' | 'upstart' {
  if (scope === 'global') return 'systemd';
  if (scope === 'user' && ctx.facts.init !== 'systemd') throw new Error(`scope user needs systemd; ${ctx.host} runs ${ctx.facts.init}`);
  if (ctx.facts.init === 'other') throw new Error(`no supported init system on ${ctx.host} (neither systemd nor upstart)`);
  return ctx.facts.init;
}

function wantedContent(p: ServiceParams, ctx: ModuleContext, backend: 'systemd' | 'upstart'): string | undefined {
  const [inline, src] = backend === 'systemd' ? [p.unit, p.unit_src] : [p.upstart, p.upstart_src];
  return inline ?? (src !== undefined ? ctx.renderTemplate(src) : undefined);
}

function planSystemd(p: ServiceParams, unit: SystemdUnitState, unitWrite: Change[], managesUnit: boolean): Plan {
  const changes: Change[] = [...unitWrite];
  const unitChanged = unitWrite.some((c) => c.diff);
  if (unitChanged) changes.push({ title: `reload systemd units (${unitPath(p.name)} changed)`, commands: [{ argv: ['systemctl', 'daemon-reload'] }] });
  const systemctl = (verb: string) => ({ argv: ['systemctl', verb, unit.unit] });
  const isEnabled = ENABLED_STATES.includes(unit.enabled);
  if (p.enabled === true && !isEnabled) changes.push({ title: `enable ${p.name} (was ${unit.enabled})`, commands: [systemctl('enable')] });
  if (p.enabled === false && isEnabled && unit.enabled !== 'static') changes.push({ title: `disable ${p.name} (was ${unit.enabled})`, commands: [systemctl('disable')] });
  const running = RUNNING_STATES.includes(unit.active);
  switch (p.state) {
    case 'started':
      if (!running) changes.push({ title: `start ${p.name} (${unit.active})`, commands: [systemctl('start')] });
      break;
    case 'stopped':
      if (running) changes.push({ title: `stop ${p.name} (${unit.active})`, commands: [systemctl('stop')] });
      break;
    case 'restarted':
      changes.push({ title: `restart ${p.name} (restart requested; was ${unit.active})`, commands: [systemctl('restart')] });
      break;
    case 'reloaded':
      changes.push(running
        ? { title: `reload ${p.name} (reload requested)`, commands: [systemctl('reload')] }
        : { title: `start ${p.name} (reload requested; was ${unit.active})`, commands: [systemctl('start')] });
      break;
  }
  if (changes.length) return { changes };
  const parts = [`${p.name} ${unit.active}`, `${unit.enabled}`];
  if (managesUnit) parts.push('unit up to date');
  return { changes, reason: parts.join(', ') };
}

function planUpstart(p: ServiceParams, job: UpstartJobState, confWrite: Change[], managesJob: boolean, ctx: ModuleContext): Plan {
  const { host } = ctx;
  const changes: Change[] = [...confWrite];
  if (!managesJob && !job.conf) {
    // a job that does not exist is already stopped and never starts at boot
    if ((p.state === undefined || p.state === 'stopped') && p.enabled !== true) return { changes: [], reason: `no job ${upstartPath(p.name)}` };
    throw new Error(`${host} runs Upstart but has no job ${upstartPath(p.name)} for ${p.name} (give the service an upstart or upstart_src)`);
  }
  if (confWrite.some((c) => c.diff)) {
    // init reads /etc/init itself (inotify); show-config fails when the job did not load (a syntax error)
    changes.push({
      title: `reload upstart configuration (${upstartPath(p.name)} changed)`,
      commands: [{ argv: ['initctl', 'reload-configuration'] }, { argv: ['initctl', 'show-config', p.name] }],
    });
  }
  const override = `/etc/init/${p.name}.override`;
  if (p.enabled === true && job.manual) changes.push({ title: `enable ${p.name} (was manual)`, commands: [{ argv: ['rm', '-f', override] }] });
  if (p.enabled === false && !job.manual) {
    changes.push({ title: `disable ${p.name} (starts at boot)`, commands: writeFileCommands({ path: override, content: 'manual\n', runId: ctx.runId }) });
  }
  const initctl = (verb: string) => ({ argv: ['initctl', verb, p.name] });
  const was = job.running ? 'running' : 'stopped';
  switch (p.state) {
    case 'started':
      if (!job.running) changes.push({ title: `start ${p.name} (stopped)`, commands: [initctl('start')] });
      break;
    case 'stopped':
      if (job.running) changes.push({ title: `stop ${p.name} (running)`, commands: [initctl('stop')] });
      break;
    case 'restarted':
      // stop + start, not `initctl restart`: a restart keeps the job's old definition (and fails on a stopped job)
      changes.push(job.running
        ? { title: `restart ${p.name} (restart requested; was running)`, commands: [initctl('stop'), initctl('start')] }
        : { title: `start ${p.name} (restart requested; was stopped)`, commands: [initctl('start')] });
      break;
    case 'reloaded':
      changes.push(job.running
        ? { title: `reload ${p.name} (reload requested)`, commands: [initctl('reload')] }
        : { title: `start ${p.name} (reload requested; was stopped)`, commands: [initctl('start')] });
      break;
  }
  if (changes.length) return { changes };
  return { changes, reason: `${p.name} ${was}${job.manual ? ', manual' : ''}${managesJob ? ', job up to date' : ''}` };
}

export const serviceModule: Module<ServiceParams> = {
  name: 'service',
  params: {
    name: { type: 'string', required: true, pattern: /^[A-Za-z0-9@_.-]+$/, patternHint: 'a unit/job name (letters, digits, @ _ . -)' },
    state: { type: 'string', enum: ['started', 'stopped', 'restarted', 'reloaded'] },
    enabled: { type: 'boolean' },
    unit: { type: 'string', description: 'systemd unit file content' },
    upstart: { type: 'string', description: 'Upstart job content' },
    unit_src: { type: 'string', description: 'EJS template of the systemd unit' },
    upstart_src: { type: 'string', description: 'EJS template of the Upstart job' },
  },
  validate(p) {
    const problems: Array<[string, string]> = [];
    if (p.unit !== undefined && p.unit_src !== undefined) problems.push(['unit_src', 'give unit or unit_src, not both']);
    if (p.upstart !== undefined && p.upstart_src !== undefined) problems.push(['upstart_src', 'give upstart or upstart_src, not both']);
    return problems;
  },
  facts: (p, ctx) => serviceFacts(p, ctx),
  plan: (p, read, ctx) => planService(p, read, ctx),
};

/** What the service needs read from the host; in a systemd scope other than the system's for the systemd module (no unit file is written there). */
export function serviceFacts(p: ServiceParams, ctx: ModuleContext, scope: SystemdScope = 'system'): Fact<unknown>[] {
  const backend = backendOf(ctx, scope);
  const hasContent = backend === 'systemd' ? p.unit ?? p.unit_src : p.upstart ?? p.upstart_src;
  const facts: Fact<unknown>[] = [backend === 'systemd' ? systemdUnitFact(p.name, scope, ctx.become) : upstartJobFact(p.name)];
  const path = backend === 'systemd' ? unitPath(p.name) : upstartPath(p.name);
  if (hasContent !== undefined) facts.push(fileFact(path), leftoversFact(path, ctx));
  return facts;
}

export function planService(p: ServiceParams, read: FactReader, ctx: ModuleContext, scope: SystemdScope = 'system'): Plan {
  const backend = backendOf(ctx, scope);
  const content = wantedContent(p, ctx, backend);
  const path = backend === 'systemd' ? unitPath(p.name) : upstartPath(p.name);
  const write = content === undefined ? [] : planFileWrite({ path, content, mode: '0644', runId: ctx.runId }, read(fileFact(path)));
  const plan = backend === 'systemd'
    ? planSystemd(p, read(systemdUnitFact(p.name, scope, ctx.become)), write, content !== undefined)
    : planUpstart(p, read(upstartJobFact(p.name)), write, content !== undefined, ctx);
  return content === undefined ? plan : withLeftoverRemoval(plan, path, read(leftoversFact(path, ctx)));
}
