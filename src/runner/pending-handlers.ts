import type { ArgvCommand } from '../argv.js';
import { textFileFact } from '../facts/file.js';
import type { HostSession } from '../host/session.js';

/**
 * Handlers notified on a host but not run yet, recorded on the host itself
 * (<state_dir>/pending-handlers.json) before the commands of the notifying change run. A run
 * that fails before its handlers leaves them there, and the next run (from any laptop) runs
 * them even when nothing changes in it. A handler leaves the file once it has run.
 */
export interface PendingHandler {
  play: string;
  handler: string;
  /** when the run that notified it started (ISO 8601) */
  since: string;
}

export const DEFAULT_STATE_DIR = '/var/lib/bootstrap';

export function stateDir(session: HostSession): string {
  const dir = session.host.vars.state_dir;
  return typeof dir === 'string' && dir !== '' ? dir : DEFAULT_STATE_DIR;
}

const fileOf = (session: HostSession) => `${stateDir(session)}/pending-handlers.json`;

/** The fact that reads the file; gathered with a play's other facts. */
export const pendingFact = (session: HostSession) => textFileFact(fileOf(session));

/** What the host records, once per run (later changes are kept in memory and written through). */
const known = new WeakMap<HostSession, PendingHandler[]>();

/** The host's pending handlers. Reads the file from the fact cache (gathering it if needed) the first time. */
export async function pendingOn(session: HostSession, elevate: boolean): Promise<PendingHandler[]> {
  const cached = known.get(session);
  if (cached) return cached;
  const fact = pendingFact(session);
  await session.gather([fact], elevate);
  const text = session.cache.get(fact.key) as string | null;
  let list: PendingHandler[] = [];
  if (text) {
    try {
      const parsed = JSON.parse(text) as { pending?: PendingHandler[] };
      list = (parsed.pending ?? []).filter((p) => typeof p.play === 'string' && typeof p.handler === 'string' && typeof p.since === 'string');
    } catch {
      list = []; // a torn or hand-edited file: nothing we can trust is pending
    }
  }
  known.set(session, list);
  return list;
}

/** Records `list` as the host's pending handlers: one command, no stdin (nothing secret in it). */
export async function recordPending(session: HostSession, list: PendingHandler[], elevate: boolean): Promise<void> {
  known.set(session, list);
  const file = fileOf(session);
  const command: ArgvCommand =
    list.length === 0
      ? { argv: ['rm', '-f', file] }
      : {
          argv: ['sh', '-c', 'mkdir -p "$1" && printf "%s\\n" "$2" > "$3.$$.tmp" && mv -f "$3.$$.tmp" "$3"', 'sh', stateDir(session), JSON.stringify({ pending: list }), file],
        };
  const result = await session.exec(command, elevate);
  if (result.code !== 0) throw new Error(`cannot record pending handlers in ${file} (exit ${result.code}): ${result.stderr.trim()}`);
}
