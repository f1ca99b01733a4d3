import type { RunEvents } from '../runner/events.js';

/** One JSON object per event (NDJSON) for machines. */
export function attachJson(events: RunEvents, write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): void {
  events.listen((e) => {
    const plain = e.type === 'run:end' ? { ...e, recap: Object.fromEntries(e.recap) } : e;
    write(JSON.stringify(plain));
  });
}
