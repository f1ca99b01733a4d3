/**
 * A line for slow local work (builds): on a terminal it counts the seconds in place, elsewhere
 * it prints a start and an end line. It writes to stderr, so `--output json` stays clean.
 */
export async function withProgress<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  const live = Boolean(process.stderr.isTTY) && !process.env.CI;
  let timer: NodeJS.Timeout | undefined;
  if (live) {
    const draw = () => process.stderr.write(`\r\x1b[2K… ${label} (${seconds()} s)`);
    draw();
    timer = setInterval(draw, 1000);
  } else {
    process.stderr.write(`… ${label}\n`);
  }
  try {
    const result = await work();
    process.stderr.write(`${live ? '\r\x1b[2K' : ''}✔ ${label}: done in ${seconds()} s\n`);
    return result;
  } catch (error) {
    process.stderr.write(`${live ? '\r\x1b[2K' : ''}✖ ${label}: failed after ${seconds()} s\n`);
    throw error;
  } finally {
    if (timer) clearInterval(timer);
  }
}
