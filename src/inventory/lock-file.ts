import type { Host } from './types.js';

/** The file a run holds flock on while it works on a host (host/lock.ts), unless the host var `lock_file` names another. */
export const DEFAULT_LOCK_FILE = '/run/bootstrap.lock';

export function lockFileOf(host: Pick<Host, 'vars'>): string {
  const file = host.vars.lock_file;
  return typeof file === 'string' && file !== '' ? file : DEFAULT_LOCK_FILE;
}
