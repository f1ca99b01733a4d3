import type { Task } from '../playbook/types.js';

interface Slot<R> {
  result?: Promise<R>;
  /** hosts waiting for the result, with how to hand them the run when they become the first host */
  waiting: Map<string, (run: boolean) => void>;
}

/**
 * `run_once` within one batch of a play (the whole play without `serial`): a task marked run_once
 * runs on the first host of the batch (in inventory order) that is still in the play, and every
 * other host of the batch gets that result. Hosts run their tasks independently, so a host that
 * reaches the task waits for the first host; when the first host leaves the play without reaching
 * the task (it failed earlier, or its path skipped it), the next host still in the play runs it.
 * A host only ever waits for hosts before it, so waits cannot form a cycle.
 */
export class RunOnce<R = unknown> {
  private readonly gone = new Set<string>();
  private readonly slots = new Map<Task, Slot<R>>();

  /** `hosts`: the batch, in order. */
  constructor(private readonly hosts: readonly string[]) {}

  private first(): string | undefined {
    return this.hosts.find((h) => !this.gone.has(h));
  }

  /** The task's result for `host`: run here when `host` is the first host left, else the first host's. Returns who ran it. */
  async run(task: Task, host: string, runHere: () => Promise<R>): Promise<{ ranOn: string; result: R }> {
    let slot = this.slots.get(task);
    if (!slot) this.slots.set(task, (slot = { waiting: new Map() }));
    if (!slot.result && this.first() !== host) {
      const mine = await new Promise<boolean>((resolve) => slot!.waiting.set(host, resolve));
      slot.waiting.delete(host);
      if (!mine) return { ranOn: this.ranOn.get(task)!, result: await slot.result! };
    }
    if (slot.result) return { ranOn: this.ranOn.get(task)!, result: await slot.result };
    this.ranOn.set(task, host);
    slot.result = runHere();
    const result = await slot.result;
    for (const resolve of slot.waiting.values()) resolve(false);
    return { ranOn: host, result };
  }

  private readonly ranOn = new Map<Task, string>();

  /** `host` is done with the play (finished or failed): a task it has not reached passes to the next host waiting for it. */
  leave(host: string): void {
    this.gone.add(host);
    const next = this.first();
    for (const slot of this.slots.values()) {
      if (slot.result || next === undefined) continue;
      slot.waiting.get(next)?.(true);
    }
  }
}
