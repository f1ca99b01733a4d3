/**
 * The kind of run this process is (the command, and whether through kept connections), for the
 * code cache cli.js keeps (bundle-entry.ts): V8's cache holds only the functions the run that
 * wrote it compiled, so cli.js writes it again, once, for every kind of run it has not seen yet.
 * The two are separate bundles, hence a global.
 */
const RUN_KIND = Symbol.for('bootstrap.run-kind');

/** `kind` is one word (the cache lists the kinds it holds separated by spaces). */
export function markRunKind(kind: string): void {
  (globalThis as Record<symbol, unknown>)[RUN_KIND] = kind.replace(/\s+/g, '-');
}

export function runKind(): string | undefined {
  const kind = (globalThis as Record<symbol, unknown>)[RUN_KIND];
  return typeof kind === 'string' ? kind : undefined;
}
