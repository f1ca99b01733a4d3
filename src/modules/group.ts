import { groupFact } from '../facts/accounts.js';
import type { Change, Module } from './types.js';

export type GroupParams = { name: string; state?: 'present' | 'absent'; gid?: number; system?: boolean; non_unique?: boolean; force?: boolean; gid_min?: number; gid_max?: number };

export const ACCOUNT_NAME = { type: 'string', required: true, pattern: /^[a-z_][a-z0-9_.-]*\$?$/i, patternHint: 'a user or group name (letters, digits, _ . -)' } as const;

/** As Ansible's group: a local group present (with its gid) or absent, through groupadd/groupmod/groupdel. */
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
  },
  facts: (p) => [groupFact(p.name)],
  plan(p, read) {
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
  },
};
