import { createHash } from 'node:crypto';
import { shadowHashFact, userFact, type UserState } from '../facts/accounts.js';
import type { ArgvCommand } from '../argv.js';
import { ACCOUNT_NAME } from './group.js';
import type { Change, Module } from './types.js';

export type UserParams = {
  name: string;
  state?: 'present' | 'absent';
  uid?: number;
  group?: string;
  groups?: string[] | string;
  append?: boolean;
  shell?: string;
  home?: string;
  create_home?: boolean;
  move_home?: boolean;
  system?: boolean;
  comment?: string;
  remove?: boolean;
  password?: string;
  update_password?: 'always' | 'on_create';
};

/**
 * Sets an already-crypted password through `chpasswd -e`, the hash on stdin (never on a command
 * line) and the command marked sensitive, so no output or diff shows it.
 */
function passwordCommand(name: string, hash: string): ArgvCommand {
  return { argv: ['chpasswd', '-e'], stdin: `${name}:${hash}\n`, sensitive: true };
}

/** As Ansible compares them: the hashes with their leading `!` (a locked account) left out. */
const shadowDigest = (hash: string) => createHash('sha256').update(hash.replace(/^!+/, '')).digest('hex');

/** An existing user's password is compared (and set when it differs) only with update_password: always. */
const comparesPassword = (p: UserParams) => p.password !== undefined && p.state !== 'absent' && p.update_password !== 'on_create';

/** The password change an existing user needs, from the digest of its shadow entry. */
function passwordChange(p: UserParams & { password: string }, shadow: string | null): Change | undefined {
  if (shadow === null) throw new Error(`cannot read the /etc/shadow entry of ${p.name} to compare its password: the task needs root (become: true)`);
  if (shadow === shadowDigest(p.password)) return undefined;
  return { title: `set the password of ${p.name} (hash differs; not shown)`, commands: [passwordCommand(p.name, p.password)] };
}

/** `groups` as Ansible takes it: a list, or a comma-separated string. */
function groupList(groups: UserParams['groups']): string[] | undefined {
  if (groups === undefined) return undefined;
  return (Array.isArray(groups) ? groups : groups.split(',')).map((g) => g.trim()).filter(Boolean);
}

/** usermod's options for what differs, with why. */
function differences(p: UserParams, u: UserState): { argv: string[]; why: string[] } {
  const argv: string[] = [];
  const why: string[] = [];
  if (p.uid !== undefined && u.uid !== p.uid) argv.push('-u', String(p.uid)), why.push(`uid ${u.uid} -> ${p.uid}`);
  if (p.group !== undefined && u.group !== p.group && String(u.gid) !== p.group) argv.push('-g', p.group), why.push(`group ${u.group} -> ${p.group}`);
  if (p.shell !== undefined && u.shell !== p.shell) argv.push('-s', p.shell), why.push(`shell ${u.shell} -> ${p.shell}`);
  if (p.home !== undefined && u.home !== p.home) argv.push('-d', p.home, ...(p.move_home ? ['-m'] : [])), why.push(`home ${u.home} -> ${p.home}`);
  if (p.comment !== undefined && u.comment !== p.comment) argv.push('-c', p.comment), why.push(`comment ${JSON.stringify(u.comment)} -> ${JSON.stringify(p.comment)}`);
  const wanted = groupList(p.groups);
  if (wanted !== undefined) {
    const current = u.groups ?? [];
    if (p.append) {
      const missing = wanted.filter((g) => !current.includes(g));
      if (missing.length) argv.push('-a', '-G', missing.join(',')), why.push(`add to ${missing.join(', ')}`);
    } else if ([...wanted].sort().join(',') !== [...current].sort().join(',')) {
      argv.push('-G', wanted.join(',')), why.push(`groups ${current.join(',') || '(none)'} -> ${wanted.join(',') || '(none)'}`);
    }
  }
  return { argv, why };
}

/** As Ansible's user: a local user present (uid, primary group, groups, shell, home, comment) or absent, through useradd/usermod/userdel. */
export const userModule: Module<UserParams> = {
  name: 'user',
  params: {
    name: ACCOUNT_NAME,
    state: { type: 'string', enum: ['present', 'absent'], default: 'present' },
    uid: { type: 'integer', min: 0 },
    group: { type: 'string', description: 'primary group (name or gid)' },
    groups: { type: 'oneOf', alternatives: [{ type: 'string' }, { type: 'list', items: { type: 'string' } }], hint: 'a list of groups or a comma-separated string' },
    append: { type: 'boolean', default: false, description: 'add to `groups` without leaving the others' },
    shell: { type: 'string' },
    home: { type: 'string' },
    create_home: { type: 'boolean', default: true, description: 'make the home directory when the user is created' },
    move_home: { type: 'boolean', default: false, description: 'move the home directory when `home` changes' },
    system: { type: 'boolean', default: false, description: 'a system account, when created' },
    comment: { type: 'string' },
    remove: { type: 'boolean', default: false, description: 'with state absent: remove the home directory and mail spool too' },
    password: {
      type: 'string',
      // a check, not a pattern: a pattern's message would quote the value
      check: (v: string) => (/[:\n\r]/.test(v) ? 'expected an already-crypted hash (e.g. from mkpasswd -m sha-512) without ":" or a line break (the value is not shown)' : undefined),
      description: 'the crypted password hash, set through chpasswd -e on stdin and never shown',
    },
    update_password: { type: 'string', enum: ['always', 'on_create'], default: 'always', description: 'always: set `password` when the hash differs; on_create: only for a new user' },
  },
  facts: (p) => [userFact(p.name), ...(comparesPassword(p) ? [shadowHashFact(p.name)] : [])],
  plan(p, read) {
    const u = read(userFact(p.name));
    if (p.state === 'absent') {
      if (!u.exists) return { changes: [], reason: `no user ${p.name}` };
      return { changes: [{ title: `remove user ${p.name}${p.remove ? ' and its home' : ''}`, commands: [{ argv: ['userdel', ...(p.remove ? ['-r'] : []), p.name] }] }] };
    }
    if (!u.exists) {
      const groups = groupList(p.groups);
      const argv = [
        'useradd',
        ...(p.uid !== undefined ? ['-u', String(p.uid)] : []),
        ...(p.group !== undefined ? ['-g', p.group] : []),
        ...(groups?.length ? ['-G', groups.join(',')] : []),
        ...(p.shell !== undefined ? ['-s', p.shell] : []),
        ...(p.home !== undefined ? ['-d', p.home] : []),
        ...(p.comment !== undefined ? ['-c', p.comment] : []),
        ...(p.system ? ['-r'] : []),
        p.create_home === false ? '-M' : '-m',
        p.name,
      ];
      const commands = [{ argv }, ...(p.password !== undefined ? [passwordCommand(p.name, p.password)] : [])];
      return { changes: [{ title: `create user ${p.name}${p.password !== undefined ? ' with its password' : ''}`, commands }] };
    }
    const { argv, why } = differences(p, u);
    const password = comparesPassword(p) ? passwordChange(p as UserParams & { password: string }, read(shadowHashFact(p.name))) : undefined;
    const changes: Change[] = [
      ...(argv.length ? [{ title: `change user ${p.name} (${why.join('; ')})`, commands: [{ argv: ['usermod', ...argv, p.name] }] }] : []),
      ...(password ? [password] : []),
    ];
    if (changes.length === 0) return { changes, reason: `user ${p.name} as wanted (uid ${u.uid}${p.password !== undefined ? ', password hash the same' : ''})` };
    return { changes };
  },
};
