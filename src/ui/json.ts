import type { RunEvents } from '../runner/events.js';
import { stdoutLines } from './stdout-lines.js';

/** One JSON object per event (NDJSON) for machines. File contents and diffs only with `diff`. */
export function attachJson(events: RunEvents, opts: { diff: boolean } = { diff: false }, write: (line: string) => void = stdoutLines()): void {
  events.listen((e) => {
    let plain: unknown = e;
    if (e.type === 'run:end') plain = { ...e, recap: Object.fromEntries(e.recap) };
    else if (e.type === 'task:result' && !opts.diff) plain = { ...e, changes: e.changes.map(({ title }) => ({ title })) };
    write(JSON.stringify(plain));
  });
}
