import { randomBytes } from 'node:crypto';

/**
 * A run's id: 8 hex digits, new for every run. It names the run's temporary files on the hosts
 * (ModuleContext.runId) and the run in the host lock's holder info, so two runs never share a
 * temp path and the lock can tell this run's own hosts from another run.
 */
export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

/** What offline expansion (validation, golden files) puts where a run's id goes: nothing runs there. */
export const OFFLINE_RUN_ID = 'offline';
