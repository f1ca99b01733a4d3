import { groupByGidFact, groupFact, localEntryFact } from '../facts/accounts.js';
import type { FactReader } from '../facts/types.js';
import { libuserFacts, noLocalFile, requireLibuser } from './libuser.js';
import type { Change, Module, Plan } from './types.js';

export type GroupParams = { name: string; state?: 'present' | 'absent'; gid?: number; system?: boolean; non_unique?: boolean; force?: boolean; gid_min?: number; gid_max?: number; local?: boolean };

export const ACCOUNT_NAME = { type: 'string', required: true, pattern: /^[a-z_][a-z0-9_.-]*\$?$/i, patternHint: 'a user or group name (letters, digits, _ . -)' } as const;

/** What Ansible refuses with local: true, refused offline with its words. */
function localProblems(p: GroupParams): Array<[string, string]> {
  if (!p.local) return [];
  return [
    ...(['gid_min', 'gid_max'] as const).filter((k) => p[k] !== undefined).map((k): [string, string] => [k, `'${k}' can not be used with 'local'`]),
    ...(p.force ? [['force', 'force is not a valid option for local, force=True and local=True are mutually exclusive'] as [string, string]] : []),
  ];
}

/**
 * As Ansible's group: a local group present (with its gid) or absent, through
 * groupadd/groupmod/groupdel, or with `local: true` libuser's lgroupadd/lgroupmod/lgroupdel on
 * /etc/group itself.
 */
export const groupModule: Module<GroupParams> = {
  name: 'group',
  params: {
    name: ACCOUNT_NAME,
    state: { type: 'string', enum: ['present', 'absent'], default: 'present' },
    gid: { type: 'integer', min: 0 },
    system: { type: 'boolean', default: false, description: 'a system group (groupadd -r), when created' },
    non_unique: { type: 'boolean', default: false, description: 'with gid: allow a gid another group has (-o)' },
    force: { type: 'boolean', default: false, description: "with state absent: remove it even when it is a user's primary group (groupdel -f)" },
    gid_min: { type: 'integer', min: 0, description: "the lowest gid groupadd picks (-K GID_MIN=), over login.defs" },
    gid_max: { type: 'integer', min: 0, description: "the highest gid groupadd picks (-K GID_MAX=), over login.defs" },
    local: { type: 'boolean', default: false, description: "manage the group in /etc/group with libuser's lgroupadd/lgroupmod/lgroupdel, whatever NSS says (for hosts with central accounts); a host without them fails" },
  },
  validate: localProblems,
  facts: (p) => [
    groupFact(p.name),
    ...(p.local ? [localEntryFact('/etc/group', p.name), ...libuserFacts(['lgroupadd', 'lgroupmod', 'lgroupdel']), ...(p.gid ? [groupByGidFact(p.gid)] : [])] : []),
  ],
  plan: (p, read, ctx) => (p.local ? planLocal(p, read, ctx.host) : planGroup(p, read)),
};

function planGroup(p: GroupParams, read: FactReader): Plan {
  const current = read(groupFact(p.name));
  const changes: Change[] = [];
  if (p.state === 'absent') {
    if (current.exists) changes.push({ title: `remove group ${p.name}`, commands: [{ argv: ['groupdel', ...(p.force ? ['-f'] : []), p.name] }] });
    return changes.length ? { changes } : { changes, reason: `no group ${p.name}` };
  }
  if (!current.exists) {
    const argv = [
      'groupadd',
      ...(p.gid !== undefined ? ['-g', String(p.gid), ...(p.non_unique ? ['-o'] : [])] : []),
      ...(p.system ? ['-r'] : []),
      ...(p.gid_min !== undefined ? ['-K', `GID_MIN=${p.gid_min}`] : []),
      ...(p.gid_max !== undefined ? ['-K', `GID_MAX=${p.gid_max}`] : []),
      p.name,
    ];
    return { changes: [{ title: `create group ${p.name}${p.gid !== undefined ? ` (gid ${p.gid})` : ''}`, commands: [{ argv }] }] };
  }
  if (p.gid !== undefined && current.gid !== p.gid) {
    return { changes: [{ title: `set the gid of ${p.name} to ${p.gid} (was ${current.gid})`, commands: [{ argv: ['groupmod', '-g', String(p.gid), ...(p.non_unique ? ['-o'] : []), p.name] }] }] };
  }
  return { changes: [], reason: `group ${p.name} exists (gid ${current.gid})` };
}

/** local: true, as Ansible's group runs it: the group looked up in /etc/group, a gid another group has refused, libuser's commands required where Ansible looks them up. */
function planLocal(p: GroupParams, read: FactReader, host: string): Plan {
  const entry = read(localEntryFact('/etc/group', p.name));
  if (entry === 'no-file') throw new Error(noLocalFile('group', '/etc/group'));
  if (p.state === 'absent') {
    if (!entry) return { changes: [], reason: `no group ${p.name} in /etc/group` };
    requireLibuser(['lgroupdel'], read, host);
    return { changes: [{ title: `remove group ${p.name} from /etc/group (lgroupdel)`, commands: [{ argv: ['lgroupdel', p.name] }] }] };
  }
  const holder = p.gid ? read(groupByGidFact(p.gid)) : null;
  if (holder !== null && holder !== p.name) throw new Error(`GID '${p.gid}' already exists with group '${holder}'`);
  const gid = p.gid !== undefined ? ['-g', String(p.gid), ...(p.non_unique ? ['-o'] : [])] : [];
  if (!entry) {
    requireLibuser(['lgroupadd'], read, host);
    return { changes: [{ title: `create group ${p.name} in /etc/group (lgroupadd)${p.gid !== undefined ? ` (gid ${p.gid})` : ''}`, commands: [{ argv: ['lgroupadd', ...gid, ...(p.system ? ['-r'] : []), p.name] }] }] };
  }
  requireLibuser(['lgroupmod'], read, host);
  const current = read(groupFact(p.name));
  if (p.gid !== undefined && current.gid !== p.gid) {
    return { changes: [{ title: `set the gid of ${p.name} to ${p.gid} (was ${current.gid}) with lgroupmod`, commands: [{ argv: ['lgroupmod', ...gid, p.name] }] }] };
  }
  return { changes: [], reason: `group ${p.name} in /etc/group (gid ${current.gid})` };
}
