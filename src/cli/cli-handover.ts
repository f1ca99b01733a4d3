/**
 * How the run server gets the CLI from main.js: it asks before it loads main.js (from the code
 * cache, as a local run does), and main.js then hands over its runCli instead of running. The
 * two are separate bundles, hence a global.
 */
const KEY = Symbol.for('bootstrap.run-cli');
const slot = globalThis as Record<symbol, unknown>;

export type RunCli = (argv: readonly string[]) => Promise<number>;

export function askForRunCli(): void {
  slot[KEY] = null;
}

/** In main.js: true when the process asked for runCli, which it now has. */
export function handedOver(runCli: RunCli): boolean {
  if (slot[KEY] !== null) return false;
  slot[KEY] = runCli;
  return true;
}

export function handedRunCli(): RunCli {
  const runCli = slot[KEY];
  if (typeof runCli !== 'function') throw new Error('main.js did not hand over the CLI');
  return runCli as RunCli;
}
