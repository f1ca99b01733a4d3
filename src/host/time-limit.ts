import type { ArgvCommand } from '../argv.js';

/** Seconds a command may run on the host unless its task or module says otherwise (--command-timeout). */
export const DEFAULT_COMMAND_TIMEOUT = 3600;

/** Seconds GNU timeout waits after TERM before it sends KILL. */
const KILL_AFTER_S = 10;

/** The environment variable every command of a run carries on the host: how an aborted run finds what is left of it. */
export const RUN_MARK = 'BOOTSTRAP_RUN';

/** The variable that names the host lock a run's commands work under (lock.ts): its holder ends them when the run's connection drops. */
export const LOCK_MARK = 'BOOTSTRAP_LOCK';

/** What marks a run's commands on one host: the run, and the host lock they work under (none for runs that take no lock). */
export interface RunMark {
  runId: string;
  lockFile?: string;
}

/**
 * `command` under GNU timeout on the host: past `seconds` its whole process group gets TERM,
 * then KILL 10 s later. It and every process it starts carry BOOTSTRAP_RUN=<run id> (and
 * BOOTSTRAP_LOCK=<lock file>) in their environment (stopRunCommand, lock.ts). One wrapper
 * for task commands and the fact batches alike.
 */
export function timeLimited(command: ArgvCommand, seconds: number, mark: RunMark): ArgvCommand {
  const env = [`${RUN_MARK}=${mark.runId}`, ...(mark.lockFile ? [`${LOCK_MARK}=${mark.lockFile}`] : [])];
  return { ...command, argv: ['env', ...env, 'timeout', '-k', String(KILL_AFTER_S), String(seconds), ...command.argv] };
}

/**
 * A shell function, `stop_run RUN [LOCK]`: ends every process whose environment carries run RUN's
 * mark (and, given LOCK, names that host lock): TERM, then KILL for any still there 2 s later;
 * returns once none is left (at most about 4 s). It spares the calling shell and its ancestors:
 * a sudo between them carries the mark too and would relay the TERM to its command. One line with
 * no `!`, so that the host lock's holder can carry it (lock.ts). sshd cannot do this for us:
 * it refuses a channel's signal request for root logins (no privilege separation), and a dropped
 * connection signals nothing.
 */
export const STOP_RUN_FUNCTION = [
  'stop_run() {',
  `_r=$1; _l=$2; unset ${RUN_MARK} ${LOCK_MARK}; _k=" $$ "; _p=$$;`,
  // the ancestors, from /proc/PID/stat: the fields after the command name start with state, ppid
  'while [ "$_p" -gt 1 ] && read -r _s < "/proc/$_p/stat"; do _s=${_s##*) }; set -- $_s; _p=$2; _k="$_k$_p "; done;',
  '_n=0; while :; do',
  `  _m=$(grep -lzxF "${RUN_MARK}=$_r" /proc/[0-9]*/environ 2>/dev/null);`,
  `  [ -z "$_l" ] || [ -z "$_m" ] || _m=$(grep -lzxF "${LOCK_MARK}=$_l" $_m 2>/dev/null);`,
  '  _x=; for _e in $_m; do _p=${_e#/proc/}; _p=${_p%/environ}; case $_k in *" $_p "*) ;; *) _x="$_x $_p" ;; esac; done;',
  '  [ -n "$_x" ] || return 0;',
  '  case $_n in 0) kill -TERM $_x ;; 20) kill -KILL $_x ;; 40) return 1 ;; esac 2>/dev/null;',
  '  _n=$((_n+1)); sleep 0.1;',
  'done; };',
].join(' ');

/**
 * Stops what still runs of run `runId` on the host (an aborted run): every process whose
 * environment carries the run's mark gets TERM, and KILL 2 s later if still there.
 */
export function stopRunCommand(runId: string): ArgvCommand {
  return { argv: ['sh', '-c', `${STOP_RUN_FUNCTION} stop_run "$1"`, 'sh', runId] };
}

/** Whether a time-limited command ended because its time was up (timeout's 124, or KILL's 137, after at least `seconds`). */
export function timedOut(code: number | null, ranSeconds: number, seconds: number): boolean {
  return (code === 124 || code === 137) && ranSeconds >= seconds;
}

export function timedOutMessage(seconds: number, ranSeconds: number): string {
  return `timed out after ${seconds} s (ran ${ranSeconds.toFixed(1)} s); its process group was killed on the host`;
}
