import type { Fact } from '../facts/types.js';
import type { HostSession } from '../host/session.js';

/**
 * What verify read on one host, through the run's fact batches (with root's rights). Facts
 * asked for when connecting ride in that round trip (HostSession.open); a login user that is
 * not root reads them again through sudo, as a run does.
 */
export class HostReads {
  /** why the host's last batch failed (sudo asking for a password, ...) */
  private failure?: string;

  constructor(
    readonly name: string,
    private readonly session: HostSession,
  ) {}

  /** Reads the facts not read yet, in one round trip (none when all rode along with the connection). */
  async gather(facts: Fact<unknown>[]): Promise<void> {
    try {
      await this.session.gather(facts, true);
    } catch (err) {
      this.failure = (err as Error).message;
    }
  }

  /** Reads these facts again, fresh (what an LB counted after verify's requests), in one round trip. */
  async gatherAgain(facts: Fact<unknown>[]): Promise<void> {
    for (const fact of facts) this.session.cache.delete(fact.key);
    await this.gather(facts);
  }

  /** The fact's value; throws why it could not be read. */
  read<T>(fact: Fact<T>): T {
    if (this.session.cache.has(fact.key)) return this.session.cache.get(fact.key) as T;
    throw new Error(this.failure ?? `${fact.key} was not read on ${this.name}`);
  }
}
