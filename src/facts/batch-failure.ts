import type { ExecResult } from '../transport/types.js';
import { batchStarted } from './batch.js';

/**
 * Why a fact batch exited non-zero, in words that say what to do: sudo wanting a password or
 * missing, a login shell that refuses commands (nologin, a shell that cannot run `sh -s`), or
 * the batch failing for another reason.
 */
export function describeBatchFailure(result: ExecResult, script: string, user: string, elevated: boolean): string {
  const output = `${result.stderr}\n${result.stdout}`;
  const last = (text: string) => text.trim().split('\n').filter(Boolean).slice(-3).join(' ');
  if (elevated && /sudo: (a password is required|a terminal is required)/.test(output)) {
    return `sudo asks ${user} for a password (the playbooks run as root through \`sudo -n\`): give ${user} passwordless sudo (a NOPASSWD rule in /etc/sudoers.d/) or log in as root`;
  }
  if (elevated && result.code === 127 && /sudo: (command )?not found/.test(output)) {
    return `sudo is not installed and ${user} is not root: install sudo on the host or log in as root`;
  }
  if (!batchStarted(result.stdout, script)) {
    return (
      `the login shell of ${user} refuses to run commands (exit ${result.code ?? 'by signal'}: ${last(output) || 'no output'}): ` +
      `give ${user} a POSIX login shell (chsh -s /bin/sh ${user}) or log in as another user`
    );
  }
  return `gathering facts failed (exit ${result.code ?? 'by signal'}): ${last(result.stderr)}`;
}
