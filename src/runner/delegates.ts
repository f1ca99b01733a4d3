import { UnreachableError } from '../errors.js';
import type { Host, Inventory } from '../inventory/types.js';
import type { Transport } from '../transport/types.js';
import { HostSession, type SessionOptions } from '../host/session.js';
import type { RunSession } from './run-session.js';

/**
 * The run's connections, one per host: the play hosts' sessions, and for `delegate_to` a host
 * outside them (not in the play, or left out by --limit), connected on first use and only once.
 * Hosts that run tasks for others this way are not in the recap: their results belong to the
 * delegating host.
 */
export class Delegates {
  private readonly extra = new Map<string, Promise<HostSession>>();

  constructor(
    private readonly inventory: Inventory,
    private readonly sessions: ReadonlyMap<string, RunSession>,
    private readonly connect: (host: Host) => Promise<Transport>,
    /** what each delegate's session is opened with (HostSession's options) */
    private readonly sessionOptions: (host: Host) => SessionOptions = () => ({}),
  ) {}

  /** The connected session of `name`; throws an UnreachableError when it cannot be reached. */
  async session(name: string): Promise<HostSession> {
    const own = this.sessions.get(name);
    if (own) {
      if (own.recap.unreachable || !own.transport) throw new UnreachableError(name, 'unreachable earlier in this run');
      return own;
    }
    const host = this.inventory.hosts.get(name);
    if (!host) throw new Error(`delegate_to names no host of the inventory: ${JSON.stringify(name)}`);
    let opening = this.extra.get(name);
    if (!opening) {
      const session = new HostSession(host, this.sessionOptions(host));
      // taken alone, mid-run: a busy lock is waited for while the run holds its hosts' (docs/commands.md: One run at a time per host)
      opening = session.open(this.connect).then(async () => {
        await session.awaitLock().catch(async (error: unknown) => {
          await session.close();
          throw error;
        });
        return session;
      });
      this.extra.set(name, opening);
    }
    return opening;
  }

  /** Stops what runs over the connections opened here (an interrupted run). */
  async abort(): Promise<void> {
    await Promise.all([...this.extra.values()].map((p) => p.then((s) => s.abort(), () => undefined).catch(() => undefined)));
  }

  /** Closes the connections opened here (the play hosts' are closed by their owner). */
  async close(): Promise<void> {
    await Promise.all(
      [...this.extra.values()].map((p) => p.then((s) => s.close(), () => undefined).catch(() => undefined)),
    );
  }
}
