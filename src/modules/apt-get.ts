import type { ArgvCommand } from '../argv.js';
import { APT_UPDATE_STAMP } from '../facts/packages.js';
import type { Change } from './types.js';

/** What apt-get needs from a task: its HTTP proxy. */
export interface AptOptions { proxy?: string }

/** Seconds an install or removal may take unless the task says otherwise: long installs outlast no --command-timeout, and a hung mirror ends. */
export const APT_TIMEOUT = 900;

/**
 * Seconds one try of apt-get's network work (`update`, an install's download) may take unless
 * the task's `timeout` says otherwise. A mirror, or a proxy in front of it, that stalls
 * mid-transfer can hold apt-get past apt's own network timeouts; the next try gets a new
 * connection, and a download goes on from what the last try left in apt's partial files.
 */
export const TRY_TIMEOUT = 300;

export function aptGet(p: AptOptions, ...args: string[]): ArgvCommand {
  return {
    argv: [
      'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', '-y', '-o', 'DPkg::Lock::Timeout=300',
      ...(p.proxy ? ['-o', `Acquire::http::Proxy=${p.proxy}`] : []),
      ...args,
    ],
  };
}

/** How apt-get's network work is retried, as Ansible's apt and apt_repository retry `update` (update_cache_retries, update_cache_retry_max_delay). */
export interface Tries {
  retries?: number;
  maxDelay?: number;
  /** Seconds each try may take (default TRY_TIMEOUT). */
  seconds?: number;
  /** Shell run once every try failed, before the task fails (apt_repository puts the sources back). */
  onGiveUp?: string[];
  /** Shell run after a try succeeded. */
  onSuccess?: string[];
}

/**
 * `command` tried up to `retries` times (5 by default), each try ended after `seconds`, waiting
 * 1, 2, 4, ... seconds (at most `maxDelay`, 12 by default; Ansible adds under a second at random)
 * after a failed one; `failure` is said when every try failed. Returns the command and the
 * seconds it may take in all.
 */
function retried(command: ArgvCommand, tries: Tries, failure: string): { command: ArgvCommand; seconds: number } {
  const retries = tries.retries ?? 5;
  const maxDelay = tries.maxDelay ?? 12;
  const seconds = tries.seconds ?? TRY_TIMEOUT;
  const script = [
    'n=$1; max=$2; try=$3; shift 3; i=0',
    'while :; do',
    `  timeout --foreground -k 10 "$try" "$@" && { ${[...(tries.onSuccess ?? []), 'exit 0'].join('; ')}; }`,
    '  rc=$?; i=$((i + 1))',
    '  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "try $i of $n ended after $try s" >&2; fi',
    `  if [ "$i" -ge "$n" ]; then ${[...(tries.onGiveUp ?? []), `echo "${failure}" >&2; exit 1`].join('; ')}; fi`,
    '  d=$((1 << (i - 1))); [ "$d" -gt "$max" ] && d=$max; sleep "$d"',
    'done',
  ].join('\n');
  const waits = Array.from({ length: retries - 1 }, (_, i) => Math.min(2 ** i, maxDelay));
  return {
    command: { ...command, argv: ['sh', '-c', script, 'retry', String(retries), String(maxDelay), String(seconds), ...command.argv] },
    // every try at its longest, with timeout's 10 s before KILL, and every wait
    seconds: retries * (seconds + 10) + waits.reduce((a, b) => a + b, 0),
  };
}

/** `apt-get update`, retried, then stamped as the package module's cache_valid_time reads it. `note` follows Ansible's failure message. */
export function updateChange(p: AptOptions & { timeout?: number }, why: string, tries: Tries = {}, note?: string): Change {
  const update = retried(aptGet(p, 'update'), { seconds: p.timeout, ...tries }, `Failed to update apt cache after $n retries${note ? `; ${note}` : ''}`);
  return {
    title: `update apt lists (${why})`,
    commands: [update.command, { argv: ['mkdir', '-p', '/var/lib/bootstrap'] }, { argv: ['touch', APT_UPDATE_STAMP] }],
    timeout: update.seconds + 10,
  };
}

/**
 * `apt-get install` in two steps: the packages' download, retried as `update` is, then the
 * install from apt's cache, which needs no network (`wrap` puts it under policy-rc.d). A stalled
 * download then costs one try, not the task, and dpkg is never stopped for a network's sake.
 */
export function installCommands(p: AptOptions & { timeout?: number }, specs: string[], wrap: (c: ArgvCommand) => ArgvCommand): { commands: ArgvCommand[]; timeout: number } {
  const install = ['--no-install-recommends', 'install'];
  const download = retried(aptGet(p, ...install, '--download-only', ...specs), { seconds: p.timeout }, 'Failed to download the packages after $n tries');
  const timeout = p.timeout ?? APT_TIMEOUT;
  return { commands: [download.command, wrap(aptGet(p, ...install, ...specs))], timeout: download.seconds + timeout };
}
