import type { Command } from '../command.js';

/** Seconds a command may run on the host unless its task or module says otherwise (--command-timeout). */
export const DEFAULT_COMMAND_TIMEOUT = 3600;

/** Seconds GNU timeout waits after TERM before it sends KILL. */
const KILL_AFTER_S = 10;

/** The environment variable every command of a run carries on the host: how an aborted run finds what is left of it. */
export const RUN_MARK = 'BOOTSTRAP_RUN';

/**
 * `command` under GNU timeout on the host: past `seconds` its whole process group gets TERM,
 * then KILL 10 s later. It and every process it starts carry BOOTSTRAP_RUN=<run id> in their
 * environment (stopRunCommand). One wrapper for task commands and the fact batches alike.
 */
export function timeLimited(command: Command, seconds: number, runId: string): Command {
  return { ...command, argv: ['env', `${RUN_MARK}=${runId}`, 'timeout', '-k', String(KILL_AFTER_S), String(seconds), ...command.argv] };
}

/**
 * Stops what still runs of run `runId` on the host (an aborted run): every process whose
 * environment carries the run's mark gets TERM, and KILL 2 s later if still there. sshd cannot
 * do it for us: it refuses a channel's signal request for root logins (no privilege separation).
 */
export function stopRunCommand(runId: string): Command {
  const script = [
    `m=${RUN_MARK}=$1`,
    'for sig in TERM KILL; do',
    '  for d in /proc/[0-9]*; do',
    '    p=${d#/proc/}; [ "$p" = "$$" ] && continue',
    '    grep -qzx "$m" "$d/environ" 2>/dev/null && kill -"$sig" "$p" 2>/dev/null',
    '  done',
    '  [ "$sig" = TERM ] && sleep 2',
    'done; exit 0',
  ].join('\n');
  return { argv: ['sh', '-c', script, 'sh', runId] };
}

/** Whether a time-limited command ended because its time was up (timeout's 124, or KILL's 137, after at least `seconds`). */
export function timedOut(code: number | null, ranSeconds: number, seconds: number): boolean {
  return (code === 124 || code === 137) && ranSeconds >= seconds;
}

export function timedOutMessage(seconds: number, ranSeconds: number): string {
  return `timed out after ${seconds} s (ran ${ranSeconds.toFixed(1)} s); its process group was killed on the host`;
}
