import type { Command } from '../command.js';

/** Seconds a command may run on the host unless its task or module says otherwise (--command-timeout). */
export const DEFAULT_COMMAND_TIMEOUT = 3600;

/** Seconds GNU timeout waits after TERM before it sends KILL. */
const KILL_AFTER_S = 10;

/**
 * `command` under GNU timeout on the host: past `seconds` its whole process group gets TERM,
 * then KILL 10 s later. One wrapper for task commands and the fact batches alike.
 */
export function timeLimited(command: Command, seconds: number): Command {
  return { ...command, argv: ['timeout', '-k', String(KILL_AFTER_S), String(seconds), ...command.argv] };
}

/** Whether a time-limited command ended because its time was up (timeout's 124, or KILL's 137, after at least `seconds`). */
export function timedOut(code: number | null, ranSeconds: number, seconds: number): boolean {
  return (code === 124 || code === 137) && ranSeconds >= seconds;
}

export function timedOutMessage(seconds: number, ranSeconds: number): string {
  return `timed out after ${seconds} s (ran ${ranSeconds.toFixed(1)} s); its process group was killed on the host`;
}
