/**
 * Writes a line to stdout. A line per event is a write() each, and on a pipe (CI, `| tee`) each
 * one wakes the reader: 3,000 of them for 30 tasks on 100 hosts. Lines written in the same tick
 * (a host's task results, planned from one round trip's facts) go out in one write: stdout is
 * corked on the first and uncorked once the tick's work is done, before any timer or I/O runs.
 * The CLI exits by letting the event loop drain (cli/main.ts), so no line is left behind.
 */
export function stdoutLines(out: NodeJS.WriteStream = process.stdout): (line: string) => void {
  let corked = false;
  const uncork = () => {
    corked = false;
    out.uncork();
  };
  return (line) => {
    if (!corked) {
      corked = true;
      out.cork();
      process.nextTick(uncork);
    }
    out.write(`${line}\n`);
  };
}
