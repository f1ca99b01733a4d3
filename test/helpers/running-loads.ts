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
