import { quote } from '../argv.js';
import type { ScriptFact } from './types.js';

/** A local group as getent reports it; absent when it has no entry. */
export interface GroupState {
  exists: boolean;
  gid?: number;
}

export function groupFact(name: string): ScriptFact<GroupState> {
  return {
    key: `group:${name}`,
    script: `getent group ${quote(name)} || :`,
    parse(stdout) {
      const fields = stdout.split('\n')[0]!.split(':');
      return fields.length >= 3 ? { exists: true, gid: Number(fields[2]) } : { exists: false };
    },
  };
}

/**
 * Whether `file` (/etc/passwd or /etc/group) has a line for `name`, as Ansible's user and group
 * look with `local: true` (the local file, not NSS); 'no-file' when the file is not there.
 */
export function localEntryFact(file: '/etc/passwd' | '/etc/group', name: string): ScriptFact<boolean | 'no-file'> {
  return {
    key: `local-entry:${file}:${name}`,
    script: `if [ ! -e ${file} ]; then echo no-file; elif cut -d: -f1 ${file} | grep -q -x -F -e ${quote(name)}; then echo yes; else echo no; fi`,
    parse: (stdout) => (stdout.trim() === 'no-file' ? 'no-file' : stdout.trim() === 'yes'),
  };
}

/** The name of the group that has `gid` (NSS), or null. */
export function groupByGidFact(gid: number): ScriptFact<string | null> {
  return {
    key: `group-by-gid:${gid}`,
    script: `getent group ${gid} | cut -d: -f1; :`,
    parse: (stdout) => stdout.split('\n')[0]!.trim() || null,
  };
}

/** A local user: its passwd entry, primary group name and supplementary groups (the primary left out). */
export interface UserState {
  exists: boolean;
  uid?: number;
  gid?: number;
  /** the primary group's name */
  group?: string;
  comment?: string;
  home?: string;
  shell?: string;
  groups?: string[];
  /** whether the entry's home exists (following links, as Python's os.path.exists) */
  homeExists?: boolean;
  /** whether the other home asked about exists */
  otherHomeExists?: boolean;
}

/** A user's passwd entry and groups, and whether its home, and another one asked about, exist. */
export function userFact(name: string, otherHome?: string): ScriptFact<UserState> {
  const n = quote(name);
  const exists = (path: string) => `if [ -e ${path} ]; then echo yes; else echo no; fi`;
  // the entry's sixth field, cut by the shell itself: the shortest prefix with five colons, then up to the next colon
  const homes = ['h=${e#*:*:*:*:*:}; h=${h%%:*}', exists('"$h"'), ...(otherHome === undefined ? [] : [exists(quote(otherHome))])].join('; ');
  return {
    key: `user:${name}${otherHome === undefined ? '' : `:${otherHome}`}`,
    script: `if e=$(getent passwd ${n}); then printf '%s\\n' "$e"; id -gn ${n}; id -Gn ${n}; ${homes}; fi; :`,
    parse(stdout) {
      const [entry, primary, all, home, other] = stdout.split('\n');
      const fields = (entry ?? '').split(':');
      if (fields.length < 7) return { exists: false };
      const group = (primary ?? '').trim();
      return {
        exists: true,
        uid: Number(fields[2]),
        gid: Number(fields[3]),
        group,
        comment: fields[4],
        home: fields[5],
        shell: fields[6],
        groups: (all ?? '').trim().split(/\s+/).filter((g) => g && g !== group),
        homeExists: home === 'yes',
        ...(other === undefined || other === '' ? {} : { otherHomeExists: other === 'yes' }),
      };
    },
  };
}

/**
 * The sha256 of a user's password hash in /etc/shadow, its leading `!` (a lock) left out, as
 * Ansible's user module compares them: the hash itself never leaves the host. null when the
 * entry cannot be read (no such user, or not root).
 */
export function shadowHashFact(name: string): ScriptFact<string | null> {
  return {
    key: `shadow-hash:${name}`,
    script: [
      `if e=$(getent shadow ${quote(name)}); then`,
      '  h=${e#*:}; h=${h%%:*}',
      "  while [ \"${h#!}\" != \"$h\" ]; do h=${h#!}; done",
      "  printf '%s' \"$h\" | sha256sum",
      'else echo unreadable; fi',
    ].join('\n'),
    parse: (stdout) => /^[0-9a-f]{64}/.exec(stdout)?.[0] ?? null,
  };
}

/** A user's lock and expiry from /etc/shadow, not its hash; null when unreadable (no such user, or not root). */
export interface ShadowStatus {
  /** the password field starts with `!` */
  locked: boolean;
  /** the account's expiry in days since 1970-01-01; -1 when the field is empty (never) */
  expireDays: number;
  /** password ageing in days (chage -m/-M/-W); -1 when the field is empty */
  min: number;
  max: number;
  /** days after the password expires until the account is disabled (usermod -f); -1 when the field is empty */
  inactive: number;
  warn: number;
}

export function shadowStatusFact(name: string): ScriptFact<ShadowStatus | null> {
  return {
    key: `shadow-status:${name}`,
    script: [
      `if e=$(getent shadow ${quote(name)}); then`,
      '  h=${e#*:}; h=${h%%:*}',
      '  case $h in "!"*) l=1 ;; *) l=0 ;; esac',
      "  printf 'locked=%s %s\\n' \"$l\" \"$(printf '%s\\n' \"$e\" | awk -F: '{ print \"min=\" $4 \" max=\" $5 \" warn=\" $6 \" inactive=\" $7 \" expire=\" $8 }')\"",
      'else echo unreadable; fi',
    ].join('\n'),
    parse(stdout) {
      const m = /^locked=([01]) min=(-?\d*) max=(-?\d*) warn=(-?\d*) inactive=(-?\d*) expire=(-?\d*)$/m.exec(stdout);
      const days = (field: string) => (field === '' ? -1 : Number(field));
      return m ? { locked: m[1] === '1', min: days(m[2]!), max: days(m[3]!), warn: days(m[4]!), inactive: days(m[5]!), expireDays: days(m[6]!) } : null;
    },
  };
}

/** A user's ssh key file, relative paths under its home: whether the private or public file is there. null when the user has no entry. */
export interface SshKeyState {
  path: string;
  exists: boolean;
}

export function sshKeyFact(name: string, file: string): ScriptFact<SshKeyState | null> {
  return {
    key: `ssh-key:${name}\0${file}`,
    script: [
      `f=${quote(file)}`,
      `if e=$(getent passwd ${quote(name)}); then`,
      '  case $f in /*) ;; *) h=$(printf "%s\\n" "$e" | cut -d: -f6); f=$h/$f ;; esac',
      '  if [ -e "$f" ] || [ -e "$f.pub" ]; then printf "exists=1 %s\\n" "$f"; else printf "exists=0 %s\\n" "$f"; fi',
      'fi; :',
    ].join('\n'),
    parse(stdout) {
      const m = /^exists=([01]) (.*)$/m.exec(stdout);
      return m ? { exists: m[1] === '1', path: m[2]! } : null;
    },
  };
}
