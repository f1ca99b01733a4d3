#!/usr/bin/env node
/**
 * What `bootstrap` runs (dist/bundle/cli.js). With --persist, the run server of this build runs
 * the command if it is free (served-run.ts), unless BOOTSTRAP_RUN_SERVER=off: this process then
 * loads nothing of the CLI. Otherwise it runs the CLI itself, from the code cache
 * (code-cache-run.ts).
 */
import { fileURLToPath } from 'node:url';
import { persistSeconds, servedCommand } from './run-server-protocol.js';
import { servedRun } from './served-run.js';

const argv = process.argv.slice(2);
const persist = servedCommand(argv) && process.env.BOOTSTRAP_RUN_SERVER !== 'off' ? persistSeconds(argv, process.env) : undefined;
const runHere = async () => (await import('./code-cache-run.js')).runHere();
if (persist === undefined) void runHere();
else {
  const server = fileURLToPath(new URL('./run-server.js', import.meta.url));
  void servedRun(argv, persist, server).then(async (outcome) => {
    if (!outcome.served) {
      const start = outcome.start;
      if (start) {
        const { startRunServer } = await import('./start-run-server.js');
        process.once('exit', () => startRunServer(server, persist, start));
      }
      return runHere();
    }
    if (outcome.signal) process.kill(process.pid, outcome.signal);
    process.exitCode = outcome.code;
  });
}
