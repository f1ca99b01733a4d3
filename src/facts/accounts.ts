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
}

export function userFact(name: string): ScriptFact<UserState> {
  const n = quote(name);
  return {
    key: `user:${name}`,
    script: `if getent passwd ${n}; then id -gn ${n}; id -Gn ${n}; fi; :`,
    parse(stdout) {
      const [entry, primary, all] = stdout.split('\n');
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
