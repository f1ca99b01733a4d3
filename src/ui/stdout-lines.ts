import { corkPerTick } from '../cork-per-tick.js';

/**
 * Writes a line to stdout. A line per event is a write() each, and on a pipe (CI, `| tee`) each
 * one wakes the reader: 3,000 of them for 30 tasks on 100 hosts. Lines written in the same tick
 * (a host's task results, planned from one round trip's facts) go out in one write.
 * The CLI exits by letting the event loop drain (cli/main.ts), so no line is left behind.
 */
export function stdoutLines(out: NodeJS.WriteStream = process.stdout): (line: string) => void {
  const cork = corkPerTick(out);
  return (line) => {
    cork();
    out.write(`${line}\n`);
  };
}
