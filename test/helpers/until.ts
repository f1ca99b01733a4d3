/** Polls a condition on this machine every 50 ms until it holds; fails naming what it waited for. */
export async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls an async probe every `everyMs` until `ok` holds for its value (a rejection counts as a value); fails with the last one. */
export async function pollUntil<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, everyMs = 250): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  for (;;) {
    const value = await probe().catch((e: Error) => e as unknown as T);
    if (ok(value)) return { value, ms: Date.now() - start };
    if (Date.now() - start > timeoutMs) throw new Error(`${what}: still ${value instanceof Error ? value.message : JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
