import type { FileDiff } from '../modules/types.js';
import type { Redactor } from '../secrets/redactor.js';
import type { RunEvent, TaskResult } from './events.js';

/** A diff that holds a secret, as "sensitive content changed". */
export function redactDiff(redactor: Redactor, diff: FileDiff): FileDiff {
  if (diff.hidden || !(redactor.holds(diff.before) || redactor.holds(diff.after))) return diff;
  return hiddenDiff(diff);
}

/** An event on its way to the UIs, without the secrets the redactor knows. */
export function redactEvent(redactor: Redactor, event: RunEvent): RunEvent {
  if (event.type === 'task:result') return redactResult(redactor, event);
  if (event.type === 'host:unreachable') return { ...event, message: redactor.text(event.message) };
  return event;
}

function redactResult<T extends TaskResult>(redactor: Redactor, r: T): T {
  return {
    ...r,
    reason: r.reason === undefined ? undefined : redactor.text(r.reason),
    changes: r.changes.map((c) => ({ title: redactor.text(c.title), diff: c.diff && redactDiff(redactor, c.diff) })),
    failure: r.failure && {
      ...r.failure,
      command: redactor.text(r.failure.command),
      stderrTail: redactor.text(r.failure.stderrTail),
      message: redactor.text(r.failure.message),
    },
  };
}

/** A diff whose content must not be shown: only whether the file appears, changes or goes. */
export function hiddenDiff(diff: FileDiff): FileDiff {
  return { path: diff.path, before: diff.before === null ? null : '', after: diff.after === null ? null : '', hidden: 'secret' };
}

/** What a `sensitive: true` task may show: its name, status and the files it changes (as "sensitive content changed"); no titles, reasons, commands or output. */
export function concealed<T extends TaskResult>(r: T): T {
  return {
    ...r,
    reason: r.reason === undefined ? undefined : 'not shown: sensitive task',
    changes: r.changes.map((c) => ({ title: 'change not shown: sensitive task', diff: c.diff && hiddenDiff(c.diff) })),
    failure: r.failure && {
      command: '',
      exitCode: r.failure.exitCode,
      stderrTail: '',
      message: `${r.host}: a command of this sensitive task failed${r.failure.exitCode === null ? '' : ` (exit ${r.failure.exitCode})`}; its command line and output are not shown`,
    },
  };
}
