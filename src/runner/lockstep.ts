/**
 * The hosts of one batch task by task, as Ansible's linear strategy runs them, for a play with
 * `max_fail_percentage`: a host starts a task only once every other host of the batch is done
 * with the tasks before it (or left the play), and then, if more than max_fail_percentage of the
 * batch failed, it stops there. So a batch over the limit stops its other hosts after the task
 * that took it over, not at the end of the play.
 *
 * Positions are indexes in the play's task walk (blocks flattened in document order, the handlers
 * after the tasks). A host waits only for hosts behind it, and the host furthest behind never
 * waits, so the batch always moves on.
 */
export class Lockstep {
  private readonly at = new Map<string, number>();
  private waiting: Array<() => void> = [];

  /** `overLimit`: whether the batch's failures so far exceed its max_fail_percentage. */
  constructor(hosts: readonly string[], private readonly overLimit: () => boolean) {
    for (const host of hosts) this.at.set(host, 0);
  }

  /** `host` is about to start the step at `position`: false when the batch's failures stop it here. */
  async reach(host: string, position: number): Promise<boolean> {
    this.move(host, position);
    while ([...this.at.values()].some((p) => p < position)) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return !this.overLimit();
  }

  /** `host` is done with the play (finished, failed or stopped): no one waits for it any more. */
  leave(host: string): void {
    this.move(host, Infinity);
  }

  private move(host: string, position: number): void {
    this.at.set(host, position);
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }
}
