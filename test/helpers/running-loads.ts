/**
 * Request loops still running. A scenario that fails before it stops its own load leaves it to
 * the suite's `afterEach(haltAllLoads)`, so no loop outlives its test (a live loop keeps the test
 * file's process from ever ending).
 */
const running = new Set<() => void>();

/** Registers how to halt a loop; returns what its own stop calls to unregister it. */
export function trackLoad(halt: () => void): () => void {
  running.add(halt);
  return () => running.delete(halt);
}

export function haltAllLoads(): void {
  for (const halt of running) halt();
  running.clear();
}

/**
 * What each request loop waits after an answered request. Back to back, 3 loops sent about 2,100
 * requests/s through the lab's nginx and kept 79% of this 2-core machine busy, so the runs they
 * watched got what was left; pausing 2 ms, they send about 870/s (one starts every 1.2 ms) and
 * keep it 45% busy. No pause after a failure: that is what the loops are there to see.
 */
export const LOAD_PAUSE_MS = 2;

export const loadPause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, LOAD_PAUSE_MS));
