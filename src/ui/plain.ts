import type { RunEvents } from '../runner/events.js';
import { stdoutLines } from './stdout-lines.js';
import { formatEvent } from './format.js';
import type { UiOptions } from './format.js';

/** Line-per-event output for pipes and CI. */
export function attachPlain(events: RunEvents, opts: UiOptions, write: (line: string) => void = stdoutLines()): void {
  let check = false;
  events.listen((e) => {
    if (e.type === 'run:start') check = e.check;
    for (const line of formatEvent(e, opts, check)) write(line);
  });
}
