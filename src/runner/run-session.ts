import { HostSession } from '../host/session.js';
import type { HostRecap } from './events.js';

/** A host's session as a run uses it: with the run's tallies for the host and the values its tasks registered. */
export class RunSession extends HostSession {
  readonly recap: HostRecap = { ok: 0, changed: 0, failed: 0, skipped: 0, ignored: 0, rescued: 0, unreachable: false, interrupted: false, batches: [], calledOff: [] };
  /** values bound by `register:`, visible to the host's later tasks (across plays) */
  readonly registered: Record<string, unknown> = {};

  get alive(): boolean {
    return !this.recap.unreachable && this.recap.failed === 0;
  }
}
