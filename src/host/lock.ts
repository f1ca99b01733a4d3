import { hostname, userInfo } from 'node:os';
import type { ArgvCommand } from '../argv.js';
import type { Held, Transport } from '../transport/types.js';
import { RUN_MARK, STOP_RUN_FUNCTION } from './time-limit.js';

/**
 * One run at a time per host: a run holds flock(1) on a file under /run (default
 * /run/bootstrap.lock, host var `lock_file`) for as long as it is connected. The holder is the
 * `sh` of one long-lived channel on the host's one connection: it opens the file on fd 9, takes
 * the lock, writes who holds it into the file, says so, and waits on its stdin. The run's end
 * sends it a line, then EOF; it clears the file and exits, which releases the lock. EOF without
 * that line means the run's connection dropped (a killed laptop, a lost link): before it lets
 * go, it ends every process of the run that works under this lock (BOOTSTRAP_RUN and
 * BOOTSTRAP_LOCK in its environment, time-limit.ts), so the next run never starts beside them.
 * No process per task, no second connection.
 *
 * A run never waits for one host's lock while it holds another's (lock-all.ts): a busy lock is
 * reported after a short grace (`TRY_SECONDS`), the run lets go of what it holds and waits for
 * that one, so two runs over the same hosts cannot wait for each other in a cycle. Two inventory
 * hosts of one run that are the same machine (tests on loopback, two names for one box) share
 * it: the holder info carries the run id.
 */
export const DEFAULT_LOCK_TIMEOUT = 300;

/** How long a first try waits for a busy lock: a run that has just ended may hold it some milliseconds more. */
export const TRY_SECONDS = 1;

export interface LockRequest {
  file: string;
  runId: string;
  /** seconds to wait for another run to finish (--lock-timeout) */
  waitSeconds: number;
  /** when the run started (ISO 8601), for the holder info */
  started: string;
}

/** What the lock file said when we took the lock ("free after run=<id>" once a run released it, empty when never used). */
export interface TakenLock {
  held: Held;
  before: string;
  /** the holder info this run wrote into the file */
  ours: string;
  /** this run's other inventory name for the same machine holds it */
  shared: boolean;
}

/** A try for the lock: taken (or shared), or held by another run, named, past the wait. */
export type LockOutcome = { kind: 'taken'; lock: TakenLock } | { kind: 'busy'; holder: string; file: string };

/**
 * Whether facts read while the lock was being taken hold, given what the lock file said when the
 * batch read it (its first fact, before any other): this run's own holder info (we held it from
 * then on), or the same "free" as when we took it (each release writes its run's id, so no run
 * came and went between).
 */
export function factsStillHold(lock: TakenLock, atFacts: string | null): boolean {
  if (lock.shared) return true;
  const then = (atFacts ?? '').trim();
  return then === lock.ours || (then === lock.before.trim() && !then.startsWith('user='));
}

/** A lock that another run held for longer than we would wait. */
export class HostLockedError extends Error {}

/** The message of a host whose lock another run held past --lock-timeout. */
export function lockedMessage(busy: { holder: string; file: string }, waitSeconds: number): string {
  return `locked by another run, ${busy.holder}, for more than ${waitSeconds} s (--lock-timeout); the lock is ${busy.file} on the host`;
}

const MARK = '@@bootstrap-lock';

// A login that can write the file (root, or a lock_file of its own) takes the lock as it is; any
// other through passwordless sudo (the file is root's, under /run), else in its home (it cannot
// touch root's files either). Shell builtins where they do (test, read): a no-op run costs the
// host no process here beyond sh and flock.
// A lock taken by a holder that has not written its name yet (it does so just after flock) is
// tried again after 0.1 s, not 1 s: it may be this run's own holder for another inventory name
// of the same machine, which the file names a moment later ("shared").
// "waiting" is said once the lock was not free for a whole second: a run that has just ended may
// hold it a few milliseconds more (its holder exits once the closed connection reaches it), and
// an immediate re-run should not name it as another run.
// A file that still names a holder when we take the lock: that holder died without letting go
// (killed itself, or by an aborted run's stop); its run's processes under this lock are ended first.
// The commands' lock mark is the lock_file asked for ($2), also where a login falls back to its own.
// One line, with no `!`: it travels through the login shell as it is (argv.ts loginShellLine)
// at no cost, where a multi-line script would be sent encoded and cost the host processes.
const SCRIPT = [
  'S=$1; f=$2; wait=$3; run=$4; info=$5; lk=$2;',
  STOP_RUN_FUNCTION,
  'if [ -e "$f" ]; then d=$f; else d=${f%/*}; fi;',
  'if [ -w "$d" ]; then :;',
  `elif sudo -n true 2>/dev/null; then exec sudo -n env ${RUN_MARK}="$run" sh -c "$S" sh "$S" "$f" "$wait" "$run" "$info";`,
  'else f=${HOME:-/nonexistent}/.bootstrap.lock; [ -w "${f%/*}" ] || f=/tmp/bootstrap-$(id -u).lock; fi;',
  `exec 9>>"$f" || { echo "${MARK} cannot-open $f"; exit 1; };`,
  'if flock -n 9; then :; else',
  '  n=0; said=; t=0.1; while :; do',
  '    held=; read -r held < "$f";',
  `    case " $held " in *" user="*" run=$run "*) echo "${MARK} shared"; exit 0 ;; esac;`,
  `    [ "$n" -ge "$wait" ] && { echo "${MARK} timeout $f $held"; exit 3; };`,
  `    [ "$n" -eq 0 ] || [ -n "$said" ] || { echo "${MARK} waiting $f $held"; said=1; };`,
  '    case $t$held in 0.1user=*) t=1 ;; esac;',
  '    flock -w $t 9 && break; [ $t = 1 ] && n=$((n+1)); t=1;',
  '  done;',
  'fi;',
  'before=; read -r before < "$f";',
  'case $before in user=*) gone=${before##* run=}; gone=${gone%% *}; [ "$gone" = "$run" ] || stop_run "$gone" "$lk" ;; esac;',
  `printf '%s\\n' "$info" > "$f"; echo "${MARK} acquired $f $before";`,
  'if read -r _; then :; else exec >/dev/null 2>&1; stop_run "$run" "$lk"; fi;',
  `printf 'free after run=%s\\n' "$run" > "$f"`,
].join(' ');

/** Who we are, as the holder info written into the lock file: user, laptop host name, pid, start time, run id (no spaces inside a value). */
export function holderInfo(req: LockRequest): string {
  const clean = (v: string) => v.replace(/\s+/g, '_');
  return `user=${clean(userInfo().username)} host=${clean(hostname())} pid=${process.pid} started=${req.started} run=${req.runId}`;
}

/**
 * The holder, waiting up to `waitSeconds` for another run. It carries the run's mark
 * (time-limit.ts), so an aborted run's stop also ends a wait for the lock; not the lock's mark,
 * so its own end of a dropped run spares it.
 */
export function lockCommand(req: LockRequest, waitSeconds: number): ArgvCommand {
  return { argv: ['env', `${RUN_MARK}=${req.runId}`, 'sh', '-c', SCRIPT, 'sh', SCRIPT, req.file, String(waitSeconds), req.runId, holderInfo(req)] };
}

/** "alice@laptop (pid 4242, started 2026-12-02T01:00:00.000Z)" from the holder info; the raw text when it does not parse. */
export function describeHolder(info: string): string {
  const field = (name: string) => new RegExp(`(?:^| )${name}=(\\S+)`).exec(info)?.[1];
  const [user, host, pid, started] = ['user', 'host', 'pid', 'started'].map(field);
  if (!user || !host) return info.trim() ? `"${info.trim()}"` : 'another run (it has not written its name yet)';
  return `${user}@${host} (pid ${pid ?? '?'}, started ${started ?? '?'})`;
}

/**
 * Tries for the host's lock over `transport`, waiting up to `waitSeconds` for another run; resolves
 * once it is held (or shared with this run's other name for the host), or with the run that still
 * holds it past the wait. `onWait` hears who holds it when we wait longer than a moment.
 */
export function takeLock(transport: Transport, req: LockRequest, waitSeconds: number, onWait: (holder: string, file: string) => void): Promise<LockOutcome> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const held = transport.hold(lockCommand(req, waitSeconds), (line) => {
      const m = new RegExp(`^${MARK} (\\S+) ?(\\S*) ?(.*)$`).exec(line);
      if (!m || settled) return;
      const [, what, file, rest] = m;
      if (what === 'waiting') onWait(describeHolder(rest ?? ''), file ?? req.file);
      if (what === 'acquired' || what === 'shared') {
        settled = true;
        resolve({ kind: 'taken', lock: { held, before: what === 'acquired' ? (rest ?? '') : '', ours: holderInfo(req), shared: what === 'shared' } });
      }
      if (what === 'timeout') {
        settled = true;
        resolve({ kind: 'busy', holder: describeHolder(rest ?? ''), file: file || req.file });
      }
      if (what === 'cannot-open') {
        settled = true;
        reject(new Error(`cannot open the run lock ${file} on the host`));
      }
    });
    held.ended.then(
      (result) => {
        if (settled) return;
        settled = true;
        reject(new Error(`cannot take the run lock ${req.file} (exit ${result.code ?? 'by signal'}): ${result.stderr.trim().split('\n').slice(-2).join(' ') || 'no output'}`));
      },
      (error: Error) => {
        if (!settled) {
          settled = true;
          reject(error);
        }
      },
    );
  });
}
