import { setFlagsFromString } from 'node:v8';

/**
 * A run lasts seconds, and V8's optimizing compiler (TurboFan, on a thread of its own) spent
 * about a fifth of a no-op re-run's CPU compiling functions that were warm but never ran long
 * enough to pay it back (100 hosts on loopback: ~0.3 s of ~1.4 s; off entirely, ~0.25 s less).
 * Off entirely, a hot loop (a diff of a large file) runs ~17x slower, so it stays on: a function
 * is considered for optimization after 8x V8's default amount of work (the interrupt budget,
 * 67584 in Node 20's V8), which hot code still reaches at once. Imported first by cli/main.ts,
 * code-cache-run.ts and the run server, so it holds before the rest of the CLI runs (V8 refuses a
 * code cache made under other flags; served runs measured the same with and without it); the
 * connection keeper, which lives on, keeps V8's default.
 */
setFlagsFromString('--interrupt-budget=540672');
