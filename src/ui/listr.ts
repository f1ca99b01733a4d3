import { Listr } from 'listr2';
import type { RunEvents, TaskResult } from '../runner/events.js';
import { formatEvent, formatRecap, formatResult, interruptLine } from './format.js';
import type { UiOptions } from './format.js';

interface HostLine {
  title: (text: string) => void;
  done: (error?: Error) => void;
}

/**
 * Live per-host progress for terminals. The details that matter afterwards (changes, diffs,
 * failures, the recap) are printed as plain text once the run ends, so they stay on screen.
 */
export function attachListr(events: RunEvents, opts: UiOptions): Promise<void> {
  const hosts = new Map<string, HostLine>();
  const results: TaskResult[] = [];
  /** plays no host took part in, printed with the recap */
  const skipped: string[] = [];
  let check = false;
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  events.listen((e) => {
    switch (e.type) {
      case 'run:start': {
        check = e.check;
        const list = new Listr(
          e.hosts.map((host) => ({
            title: host,
            task: (_ctx: unknown, task: { title: string }) =>
              new Promise<void>((resolve, reject) => {
                hosts.set(host, { title: (t) => (task.title = `${host}: ${t}`), done: (err) => (err ? reject(err) : resolve()) });
              }),
          })),
          // the run handles SIGINT itself (runner/interrupt.ts): listr must not exit the process
          { concurrent: true, exitOnError: false, registerSignalListeners: false, rendererOptions: { collapseErrors: false } },
        );
        list.run().catch(() => undefined).finally(() => {
          for (const r of results) if (r.status !== 'ok' && r.status !== 'skipped') console.log(formatResult(r, opts, check).join('\n'));
          finished();
        });
        break;
      }
      case 'play:start':
        if (e.serial) for (const host of e.hosts) hosts.get(host)?.title(`${e.play} › waiting for its batch`);
        break;
      case 'play:skipped':
        skipped.push(...formatEvent(e, opts, check));
        break;
      case 'task:start':
        hosts.get(e.host)?.title(`${e.play} › ${e.task}`);
        break;
      case 'task:result':
        results.push(e);
        break;
      case 'host:unreachable':
        hosts.get(e.host)?.done(new Error(e.message));
        break;
      case 'host:lock-wait':
        hosts.get(e.host)?.title(`waiting for another run (${e.holder}) to finish, up to ${e.seconds} s`);
        break;
      case 'run:interrupt':
        for (const line of hosts.values()) line.title(interruptLine(e).replace(/^\S+\s+/, ''));
        break;
      case 'run:end':
        for (const [host, line] of hosts) {
          const r = e.recap.get(host)!;
          if (r.unreachable) continue;
          line.title(`ok=${r.ok} changed=${r.changed} failed=${r.failed} skipped=${r.skipped}${r.interrupted ? ' interrupted' : ''}`);
          line.done(r.failed ? new Error(`${host}: ${r.failed} task(s) failed`) : r.interrupted ? new Error(`${host}: interrupted`) : undefined);
        }
        void allDone.then(() => console.log([...skipped, ...formatRecap(e.recap, e.ms, e.check)].join('\n')));
        break;
    }
  });
  return allDone;
}
