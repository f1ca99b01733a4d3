import { commandExistsFact } from '../facts/guard-facts.js';
import type { FactReader } from '../facts/types.js';

/** The libuser commands Ansible's user and group run with `local: true` (luseradd for useradd, and so on). */
export const LIBUSER_COMMANDS = ['luseradd', 'lusermod', 'luserdel', 'lgroupadd', 'lgroupmod', 'lgroupdel', 'lchage'] as const;
export type LibuserCommand = (typeof LIBUSER_COMMANDS)[number];

/** The facts saying which of `commands` the host has. */
export const libuserFacts = (commands: readonly LibuserCommand[]) => commands.map((c) => commandExistsFact(c));

/**
 * Fails, as Ansible's get_bin_path(name, required=True) fails the task, when the host lacks one
 * of `commands` (checked in the order Ansible looks them up): never a silent fallback to
 * useradd and its kin, which would write the accounts wherever NSS points.
 */
export function requireLibuser(commands: readonly LibuserCommand[], read: FactReader, host: string): void {
  const missing = commands.find((c) => !read(commandExistsFact(c)));
  if (missing) {
    throw new Error(`Failed to find required executable "${missing}" on ${host}: local: true manages the local account files with libuser's commands, as Ansible does (install the libuser package first, or leave local out)`);
  }
}

/** Ansible's message when `local: true` finds no local account file. */
export const noLocalFile = (what: 'account' | 'group', file: string) => `'local: true' specified but unable to find local ${what} file ${file} to parse.`;
