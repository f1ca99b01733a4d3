import { createHash } from 'node:crypto';
import { groupFact, localEntryFact, shadowHashFact, shadowStatusFact, sshKeyFact, userFact, type ShadowStatus, type UserState } from '../facts/accounts.js';
import type { ArgvCommand } from '../argv.js';
import { ACCOUNT_NAME } from './group.js';
import type { FactReader } from '../facts/types.js';
import { LIBUSER_COMMANDS, libuserFacts, noLocalFile, requireLibuser } from './libuser.js';
import type { Change, Module, Plan } from './types.js';

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
  password_lock?: boolean;
  expires?: number;
  generate_ssh_key?: boolean;
  ssh_key_type?: string;
  ssh_key_bits?: number;
  ssh_key_file?: string;
  ssh_key_comment?: string;
  non_unique?: boolean;
  force?: boolean;
  skeleton?: string;
  umask?: string;
  uid_min?: number;
  uid_max?: number;
  password_expire_min?: number;
  password_expire_max?: number;
  password_expire_warn?: number;
  password_expire_account_disable?: number;
  seuser?: string;
  local?: boolean;
};

const AGEING = [['password_expire_min', '-m', 'min'], ['password_expire_max', '-M', 'max'], ['password_expire_warn', '-W', 'warn']] as const;

/** chage's options for the password ageing that differs from the shadow entry (all that is asked, for a new user), as Ansible's set_password_expire. */
function ageingCommand(p: UserParams, s: ShadowStatus | undefined): Change | undefined {
  const argv: string[] = [];
  const why: string[] = [];
  for (const [param, flag, field] of AGEING) {
    const wanted = p[param];
    if (wanted === undefined || (s && s[field] === wanted)) continue;
    argv.push(flag, String(wanted)), why.push(s ? `${field} ${s[field]} -> ${wanted}` : `${field} ${wanted}`);
  }
  return argv.length ? { title: `set password ageing of ${p.name} (${why.join('; ')})`, commands: [{ argv: ['chage', ...argv, p.name] }] } : undefined;
}

const DAY = 86400;
/** usermod/useradd -e's value for `expires` (seconds since the epoch, as Ansible takes it): its UTC date, or '' (never) when negative. */
const expiryArg = (expires: number) => (expires < 0 ? '' : new Date(Math.floor(expires) * 1000).toISOString().slice(0, 10));

/** usermod's options for password_lock and expires, against /etc/shadow, as Ansible's user compares them (expiry by its date only). */
function shadowDifferences(p: UserParams, s: ShadowStatus, passwordChanges: boolean): { argv: string[]; why: string[] } {
  const argv: string[] = [];
  const why: string[] = [];
  // with local: true the expiry is set by lchage (localExpiry), not by lusermod
  if (p.expires !== undefined && !p.local) {
    if (p.expires < 0) {
      if (s.expireDays >= 0) argv.push('-e', ''), why.push(`expires ${expiryArg(s.expireDays * DAY)} -> never`);
    } else if (s.expireDays < 0 || expiryArg(s.expireDays * DAY) !== expiryArg(p.expires)) {
      argv.push('-e', expiryArg(p.expires)), why.push(`expires ${s.expireDays < 0 ? 'never' : expiryArg(s.expireDays * DAY)} -> ${expiryArg(p.expires)}`);
    }
  }
  const inactive = p.password_expire_account_disable;
  if (inactive !== undefined && s.inactive !== inactive) argv.push('-f', String(inactive)), why.push(`disabled ${s.inactive < 0 ? 'never' : `${s.inactive} days`} after the password expires -> ${inactive < 0 ? 'never' : `${inactive} days`}`);
  // a new hash carries the lock itself (chpasswd -e with `!`), as Ansible's usermod -p does
  if (!passwordChanges) {
    if (p.password_lock === true && !s.locked) argv.push('-L'), why.push('lock the password');
    else if (p.password_lock === false && s.locked) argv.push('-U'), why.push('unlock the password');
  }
  return { argv, why };
}

const readsShadowStatus = (p: UserParams) =>
  p.state !== 'absent' && (p.password_lock !== undefined || p.expires !== undefined || p.password_expire_account_disable !== undefined || AGEING.some(([param]) => p[param] !== undefined));

/** lchage -E's days for `expires` (local: true), as Ansible computes them: whole days since 1970-01-01, or -1 (never). */
const lchageDays = (expires: number) => (expires < 0 ? -1 : Math.floor(Math.floor(expires) / DAY));
/** With local: true, the expiry lchage sets when it differs by date (for a new user: when given), as Ansible's user does. */
function localExpiry(p: UserParams, s: ShadowStatus | undefined): Change | undefined {
  if (!p.local || p.expires === undefined) return undefined;
  const days = lchageDays(p.expires);
  if (s && (days < 0 ? s.expireDays < 0 : s.expireDays >= 0 && expiryArg(s.expireDays * DAY) === expiryArg(p.expires))) return undefined;
  return { title: `set the expiry of ${p.name} to ${days < 0 ? 'never' : expiryArg(p.expires)} (lchage)`, commands: [{ argv: ['lchage', '-E', String(days), p.name] }] };
}

/** With local: true, supplementary groups are changed one by one with lgroupmod (-M adds, -m removes), as Ansible does. */
function localGroupCommands(name: string, add: string[], remove: string[]): ArgvCommand[] {
  return [...add.map((g) => ({ argv: ['lgroupmod', '-M', name, g] })), ...remove.map((g) => ({ argv: ['lgroupmod', '-m', name, g] }))];
}

/** What Ansible refuses with local: true, refused offline with its words. */
function localProblems(p: UserParams): Array<[string, string]> {
  if (!p.local) return [];
  return (['umask', 'uid_min', 'uid_max'] as const).filter((k) => p[k] !== undefined).map((k): [string, string] => [k, `'${k}' can not be used with 'local'`]);
}
/** useradd without `group` makes a group of the user's name, and fails when one exists: then -N, as Ansible passes it. */
const readsOwnGroup = (p: UserParams) => p.state !== 'absent' && p.group === undefined;
const sshKeyFile = (p: UserParams) => p.ssh_key_file ?? `.ssh/id_${p.ssh_key_type ?? 'rsa'}`;
const wantsKey = (p: UserParams) => p.state !== 'absent' && p.generate_ssh_key === true;

/**
 * ssh-keygen run on the host for the user, as Ansible's user does: the key file under the home
 * when relative (a missing home is an error), its folder made 0700 and owned by the user, the
 * key without a passphrase, then both files given to the user. A key (or .pub) already there is
 * left alone, checked again here since a new user's home is known only once it exists.
 */
const KEYGEN = [
  'u=$1; f=$2; t=$3; b=$4; c=$5',
  'e=$(getent passwd "$u") || { echo "no user $u" >&2; exit 1; }',
  'case $f in /*) ;; *) h=$(printf "%s\\n" "$e" | cut -d: -f6); [ -d "$h" ] || { echo "User $u home directory does not exist" >&2; exit 1; }; f=$h/$f ;; esac',
  '{ [ -e "$f" ] || [ -e "$f.pub" ]; } && exit 0',
  'd=$(dirname -- "$f")',
  'if [ ! -d "$d" ]; then mkdir -m 0700 -- "$d" && chown "$u": -- "$d" || exit; fi',
  'ssh-keygen -q -t "$t" ${b:+-b "$b"} -C "$c" -N "" -f "$f" </dev/null && chown "$u": -- "$f" "$f.pub"',
].join('\n');

function keygenChange(p: UserParams, comment: string, where: string): Change {
  return {
    title: `generate an ssh key (${p.ssh_key_type ?? 'rsa'}) for ${p.name} in ${where}, on the host`,
    commands: [{ argv: ['sh', '-c', KEYGEN, 'keygen', p.name, sshKeyFile(p), p.ssh_key_type ?? 'rsa', p.ssh_key_bits !== undefined ? String(p.ssh_key_bits) : '', comment] }],
  };
}

/**
 * Sets an already-crypted password through `chpasswd -e`, the hash on stdin (never on a command
 * line) and the command marked sensitive, so no output or diff shows it.
 */
function passwordCommand(name: string, hash: string, lock = false): ArgvCommand {
  return { argv: ['chpasswd', '-e'], stdin: `${name}:${lock && !hash.startsWith('!') ? '!' : ''}${hash}\n`, sensitive: true };
}

/** As Ansible compares them: the hashes with their leading `!` (a locked account) left out. */
const shadowDigest = (hash: string) => createHash('sha256').update(hash.replace(/^!+/, '')).digest('hex');

/** An existing user's password is compared (and set when it differs) only with update_password: always. */
const comparesPassword = (p: UserParams) => p.password !== undefined && p.state !== 'absent' && p.update_password !== 'on_create';

/** The password change an existing user needs, from the digest of its shadow entry. */
function passwordChange(p: UserParams & { password: string }, shadow: string | null): Change | undefined {
  if (shadow === null) throw new Error(`cannot read the /etc/shadow entry of ${p.name} to compare its password: the task needs root (become: true)`);
  if (shadow === shadowDigest(p.password)) return undefined;
  return { title: `set the password of ${p.name} (hash differs; not shown)${p.password_lock ? ', locked' : ''}`, commands: [passwordCommand(p.name, p.password, p.password_lock)] };
}

/** `groups` as Ansible takes it: a list, or a comma-separated string. */
function groupList(groups: UserParams['groups']): string[] | undefined {
  if (groups === undefined) return undefined;
  return (Array.isArray(groups) ? groups : groups.split(',')).map((g) => g.trim()).filter(Boolean);
}

/** usermod's options for what differs, with why (with local: true, lusermod's: the groups are lgroupmod's, see localGroupChange). */
function differences(p: UserParams, u: UserState): { argv: string[]; why: string[] } {
  const argv: string[] = [];
  const why: string[] = [];
  if (p.uid !== undefined && u.uid !== p.uid) argv.push('-u', String(p.uid), ...(p.non_unique ? ['-o'] : [])), why.push(`uid ${u.uid} -> ${p.uid}`);
  if (p.group !== undefined && u.group !== p.group && String(u.gid) !== p.group) argv.push('-g', p.group), why.push(`group ${u.group} -> ${p.group}`);
  if (p.shell !== undefined && u.shell !== p.shell) argv.push('-s', p.shell), why.push(`shell ${u.shell} -> ${p.shell}`);
  if (p.home !== undefined && u.home !== p.home) argv.push('-d', p.home, ...(p.move_home ? ['-m'] : [])), why.push(`home ${u.home} -> ${p.home}`);
  if (p.comment !== undefined && u.comment !== p.comment) argv.push('-c', p.comment), why.push(`comment ${JSON.stringify(u.comment)} -> ${JSON.stringify(p.comment)}`);
  const wanted = groupList(p.groups);
  if (wanted !== undefined && !p.local) {
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

/** With local: true, the supplementary groups to join and to leave (none left with append). */
function localGroupChange(p: UserParams, u: UserState): Change | undefined {
  const wanted = groupList(p.groups);
  if (!p.local || wanted === undefined) return undefined;
  const current = u.groups ?? [];
  const add = wanted.filter((g) => !current.includes(g));
  const remove = p.append ? [] : current.filter((g) => !wanted.includes(g));
  if (add.length === 0 && remove.length === 0) return undefined;
  return { title: `change the groups of ${p.name} (${[...add.map((g) => `+${g}`), ...remove.map((g) => `-${g}`)].join(', ')}) with lgroupmod`, commands: localGroupCommands(p.name, add, remove) };
}

/**
 * Ansible's user makes a missing home for a user that exists, whatever else the task says:
 * /etc/skel (or `skeleton`) copied, else an empty directory; its mode from login.defs (the first
 * HOME_MODE, else 0777 without the last UMASK, else 0755); then the home and what is in it,
 * links left out, given to the user and its primary group.
 */
const MAKE_HOME = [
  'n=$1; h=$2; sk=$3',
  '[ -e "$h" ] && exit 0',
  'if [ -e "$sk" ] && [ "$sk" != /dev/null ]; then mkdir -p -- "$(dirname -- "$h")" && cp -RPp -- "$sk" "$h" || exit; else mkdir -p -- "$h" || exit; fi',
  'if [ -e /etc/login.defs ]; then',
  String.raw`  m=$(sed -En 's/^HOME_MODE[[:space:]]+([0-9]+)$/\1/p' /etc/login.defs | head -n 1)`,
  String.raw`  u=$(sed -En 's/^UMASK[[:space:]]+([0-9]+)$/\1/p' /etc/login.defs | tail -n 1)`,
  '  if [ -z "$m" ]; then if [ -n "$u" ]; then m=$(printf %o $((0777 & ~0$u))); else m=755; fi; fi',
  '  chmod "$m" -- "$h" || exit',
  'fi',
  'find "$h" ! -type l -exec chown "$(id -u -- "$n"):$(id -g -- "$n")" {} +',
].join('\n');

/** `home`, whose existence the user fact also reads when the home may be made. */
const homeAskedAbout = (p: UserParams) => (p.state !== 'absent' && p.create_home !== false ? p.home : undefined);

/** The missing home of an existing user, made as Ansible makes it (with create_home, its default). */
function missingHomeChange(p: UserParams, u: UserState): Change | undefined {
  if (p.create_home === false) return undefined;
  const home = p.home ?? u.home!;
  const moves = p.home !== undefined && p.home !== u.home;
  // usermod -d -m moves the old home, when there is one, to the new place
  const exists = moves ? (p.move_home && u.homeExists) || u.otherHomeExists : u.homeExists;
  if (exists !== false) return undefined;
  const skeleton = p.skeleton ?? '/etc/skel';
  return { title: `make the missing home ${home} of ${p.name} (from ${skeleton} when it exists)`, commands: [{ argv: ['sh', '-c', MAKE_HOME, 'make-home', p.name, home, skeleton] }] };
}

/**
 * As Ansible's user: a local user present (uid, primary group, groups, shell, home, comment) or
 * absent, through useradd/usermod/userdel, or with `local: true` libuser's
 * luseradd/lusermod/luserdel (with lgroupmod and lchage) on /etc/passwd itself.
 */
export const userModule: Module<UserParams> = {
  name: 'user',
  params: {
    name: { ...ACCOUNT_NAME, aliases: ['user'] },
    state: { type: 'string', enum: ['present', 'absent'], default: 'present' },
    uid: { type: 'integer', min: 0 },
    group: { type: 'string', description: 'primary group (name or gid)' },
    groups: { type: 'oneOf', alternatives: [{ type: 'string' }, { type: 'list', items: { type: 'string' } }], hint: 'a list of groups or a comma-separated string' },
    append: { type: 'boolean', default: false, description: 'add to `groups` without leaving the others' },
    shell: { type: 'string' },
    home: { type: 'string' },
    create_home: { type: 'boolean', aliases: ['createhome'], default: true, description: 'make the home directory when the user is created' },
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
    password_lock: { type: 'boolean', description: 'true: lock the password (usermod -L, a `!` before the hash); false: unlock it (usermod -U); unset: leave it' },
    expires: { type: 'integer', description: 'the account expires on the UTC date of these seconds since 1970-01-01 (compared by date); negative: never' },
    generate_ssh_key: { type: 'boolean', default: false, description: 'make an ssh key pair for the user with ssh-keygen on the host (the private key never leaves it), unless the key file or its .pub is there' },
    ssh_key_type: { type: 'string', enum: ['rsa', 'ecdsa', 'ed25519', 'dsa', 'ecdsa-sk', 'ed25519-sk'], default: 'rsa', description: "ssh-keygen's -t" },
    ssh_key_bits: { type: 'integer', min: 1, description: "ssh-keygen's -b (its own default when unset)" },
    ssh_key_file: { type: 'string', check: (v: string) => (/[\x00-\x1f\x7f]/.test(v) || v === '' ? `expected a path without control characters, got ${JSON.stringify(v)}` : undefined), description: 'the private key file, relative to the home or absolute; default .ssh/id_<ssh_key_type>' },
    ssh_key_comment: { type: 'string', description: 'the key\'s comment; default "ansible-generated on <the host\'s hostname>", as Ansible writes it' },
    non_unique: { type: 'boolean', default: false, description: 'with uid: allow a uid another user has (-o)' },
    force: { type: 'boolean', default: false, description: 'with state absent: remove the user even while logged in (userdel -f)' },
    skeleton: { type: 'string', description: 'the skeleton folder copied into a new home (useradd -k), with create_home' },
    umask: { type: 'string', pattern: /^[0-7]{3,4}$/, patternHint: 'octal digits, e.g. "0077"', description: "the new home's umask (useradd -K UMASK=)" },
    uid_min: { type: 'integer', min: 0, description: 'the lowest uid useradd picks (-K UID_MIN=), over login.defs' },
    uid_max: { type: 'integer', min: 0, description: 'the highest uid useradd picks (-K UID_MAX=), over login.defs' },
    password_expire_min: { type: 'integer', min: -1, description: 'minimum days between password changes (chage -m), set when the shadow entry differs' },
    password_expire_max: { type: 'integer', min: -1, description: 'maximum days a password is valid (chage -M), set when the shadow entry differs' },
    password_expire_warn: { type: 'integer', min: -1, description: 'days of warning before the password expires (chage -W), set when the shadow entry differs' },
    password_expire_account_disable: { type: 'integer', min: -1, description: 'days after the password expires until the account is disabled (useradd/usermod -f; -1: never), set when the shadow entry differs' },
    seuser: { type: 'string', pattern: /^[A-Za-z0-9_.:-]+$/, patternHint: 'an SELinux user such as user_u', description: "the new user's SELinux user (useradd -Z), as Ansible sets it on creation only; useradd fails on a host without SELinux" },
    local: { type: 'boolean', default: false, description: "manage the user in /etc/passwd with libuser's luseradd/lusermod/luserdel (groups with lgroupmod, expiry with lchage), whatever NSS says; a host without them fails" },
    ssh_key_passphrase: {
      type: 'string',
      check: () => 'not supported: ssh-keygen takes a passphrase only on its command line or from a terminal, and a secret never goes on a command line (the value is not shown)',
      description: 'refused: see the message',
    },
  },
  validate: localProblems,
  facts: (p) => [
    userFact(p.name, homeAskedAbout(p)),
    ...(p.local ? [localEntryFact('/etc/passwd', p.name), ...libuserFacts(LIBUSER_COMMANDS)] : []),
    ...(readsOwnGroup(p) ? [groupFact(p.name)] : []),
    ...(comparesPassword(p) ? [shadowHashFact(p.name)] : []),
    ...(readsShadowStatus(p) ? [shadowStatusFact(p.name)] : []),
    ...(wantsKey(p) ? [sshKeyFact(p.name, sshKeyFile(p))] : []),
  ],
  plan(p, read, ctx) {
    const comment = p.ssh_key_comment ?? `ansible-generated on ${ctx.facts.hostname}`;
    const plan = planAccount(p, read, ctx.host);
    if (!wantsKey(p)) return plan;
    const key = read(sshKeyFact(p.name, sshKeyFile(p)));
    if (key?.exists) return plan.changes.length ? { ...plan, result: { ssh_key_file: key.path } } : { changes: [], reason: `${plan.reason}; ssh key ${key.path} exists`, result: { ssh_key_file: key.path } };
    const where = key?.path ?? (sshKeyFile(p).startsWith('/') ? sshKeyFile(p) : `~${p.name}/${sshKeyFile(p)}`);
    return { changes: [...plan.changes, keygenChange(p, comment, where)], ...(key ? { result: { ssh_key_file: key.path } } : {}) };
  },
};

/** Whether the user exists: in NSS, or with local: true in /etc/passwd itself (as Ansible looks). */
function accountExists(p: UserParams, u: UserState, read: FactReader): boolean {
  if (!p.local) return u.exists;
  const entry = read(localEntryFact('/etc/passwd', p.name));
  if (entry === 'no-file') throw new Error(noLocalFile('account', '/etc/passwd'));
  return entry;
}

/** useradd's (with local: true, luseradd's) command line for a new user, as Ansible builds it. */
function createArgv(p: UserParams, read: FactReader): string[] {
  const groups = groupList(p.groups);
  const local = p.local === true;
  return [
    local ? 'luseradd' : 'useradd',
    ...(p.uid !== undefined ? ['-u', String(p.uid), ...(p.non_unique ? ['-o'] : [])] : []),
    ...(p.seuser !== undefined ? ['-Z', p.seuser] : []),
    // luseradd's -n is useradd's -N
    ...(p.group !== undefined ? ['-g', p.group] : read(groupFact(p.name)).exists ? [local ? '-n' : '-N'] : []),
    ...(groups?.length && !local ? ['-G', groups.join(',')] : []),
    ...(p.shell !== undefined ? ['-s', p.shell] : []),
    ...(p.home !== undefined ? ['-d', p.home] : []),
    ...(p.comment !== undefined ? ['-c', p.comment] : []),
    ...(p.expires !== undefined && !local ? ['-e', expiryArg(p.expires)] : []),
    ...(p.password_expire_account_disable !== undefined ? ['-f', String(p.password_expire_account_disable)] : []),
    ...(p.system ? ['-r'] : []),
    // luseradd makes the home unless -M
    ...(p.create_home === false ? ['-M'] : local ? [] : ['-m']),
    ...(p.create_home !== false && p.skeleton !== undefined ? ['-k', p.skeleton] : []),
    ...(p.umask !== undefined ? ['-K', `UMASK=${p.umask}`] : []),
    ...(p.uid_min !== undefined ? ['-K', `UID_MIN=${p.uid_min}`] : []),
    ...(p.uid_max !== undefined ? ['-K', `UID_MAX=${p.uid_max}`] : []),
    p.name,
  ];
}

/** The account itself: useradd, usermod (what differs, lock and expiry included), the password, or userdel; with local: true libuser's commands, checked for first. */
function planAccount(p: UserParams, read: FactReader, host: string): Plan {
  const u = read(userFact(p.name, homeAskedAbout(p)));
  const exists = accountExists(p, u, read);
  if (p.state === 'absent') {
    if (!exists) return { changes: [], reason: `no user ${p.name}${p.local ? ' in /etc/passwd' : ''}` };
    if (p.local) requireLibuser(['luserdel'], read, host);
    // Ansible passes no -f to luserdel
    const argv = p.local ? ['luserdel', ...(p.remove ? ['-r'] : []), p.name] : ['userdel', ...(p.force ? ['-f'] : []), ...(p.remove ? ['-r'] : []), p.name];
    return { changes: [{ title: `remove user ${p.name}${p.remove ? ' and its home' : ''}`, commands: [{ argv }] }] };
  }
  // the order Ansible looks them up in
  if (p.local) requireLibuser(['lgroupmod', 'lchage', exists ? 'lusermod' : 'luseradd'], read, host);
  if (!exists) {
    const ageing = ageingCommand(p, undefined);
    const groups = p.local ? groupList(p.groups) ?? [] : [];
    const commands = [
      { argv: createArgv(p, read) },
      ...(p.password !== undefined ? [passwordCommand(p.name, p.password, p.password_lock)] : []),
      ...(localExpiry(p, undefined)?.commands ?? []),
      ...localGroupCommands(p.name, groups, []),
      ...(ageing?.commands ?? []),
    ];
    return { changes: [{ title: `create user ${p.name}${p.local ? ' in /etc/passwd (luseradd)' : ''}${p.password !== undefined ? ' with its password' : ''}`, commands }] };
  }
  const password = comparesPassword(p) ? passwordChange(p as UserParams & { password: string }, read(shadowHashFact(p.name))) : undefined;
  const own = differences(p, u);
  const status = readsShadowStatus(p) ? read(shadowStatusFact(p.name)) : undefined;
  if (status === null) throw new Error(`cannot read the /etc/shadow entry of ${p.name} to compare password_lock, expires, password ageing or password_expire_account_disable: the task needs root (become: true)`);
  const shadow = status ? shadowDifferences(p, status, password !== undefined) : { argv: [], why: [] };
  const [argv, why] = [[...own.argv, ...shadow.argv], [...own.why, ...shadow.why]];
  const ageing = status ? ageingCommand(p, status) : undefined;
  const expiry = localExpiry(p, status);
  const groups = localGroupChange(p, u);
  const home = missingHomeChange(p, u);
  // in Ansible's order: usermod, then the missing home, then the password ageing
  const changes: Change[] = [
    ...(argv.length ? [{ title: `change user ${p.name} (${why.join('; ')})`, commands: [{ argv: [p.local ? 'lusermod' : 'usermod', ...argv, p.name] }] }] : []),
    ...(password ? [password] : []),
    ...(expiry ? [expiry] : []),
    ...(groups ? [groups] : []),
    ...(home ? [home] : []),
    ...(ageing ? [ageing] : []),
  ];
  if (changes.length === 0) return { changes, reason: `user ${p.name} as wanted (uid ${u.uid}${p.password !== undefined ? ', password hash the same' : ''})` };
  return { changes };
}
