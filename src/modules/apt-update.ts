import type { ArgvCommand } from '../argv.js';
import { APT_UPDATE_STAMP } from '../facts/packages.js';
import type { Change } from './types.js';

/** What apt-get needs from a task: its HTTP proxy. */
export interface AptOptions { proxy?: string }

/** Seconds an install or removal may take unless the task says otherwise: long installs outlast no --command-timeout, and a hung mirror ends. */
export const APT_TIMEOUT = 900;

/**
 * Seconds one `apt-get update` try may take unless the task's `timeout` says otherwise. A mirror
 * (or a proxy in front of it) that stalls mid-transfer can hold apt-get past its own network
 * timeouts; the next try gets a new connection.
 */
export const UPDATE_TRY_TIMEOUT = 300;

export function aptGet(p: AptOptions, ...args: string[]): ArgvCommand {
  return {
    argv: [
      'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', '-y', '-o', 'DPkg::Lock::Timeout=300',
      ...(p.proxy ? ['-o', `Acquire::http::Proxy=${p.proxy}`] : []),
      ...args,
    ],
  };
}

/** How `apt-get update` is retried, as Ansible's apt and apt_repository do (update_cache_retries, update_cache_retry_max_delay). */
export interface UpdateTries {
  retries?: number;
  maxDelay?: number;
  /** Shell run once every try failed, before the task fails (apt_repository puts the sources back). */
  onGiveUp?: string[];
  /** Shell run after a try succeeded. */
  onSuccess?: string[];
  /** Said after "Failed to update apt cache after N retries" when every try failed. */
  giveUpNote?: string;
}

/** Waits in seconds between tries: 1, 2, 4, ... at most maxDelay (Ansible adds under a second at random; this does not). */
function delays(retries: number, maxDelay: number): number[] {
  return Array.from({ length: retries - 1 }, (_, i) => Math.min(2 ** i, maxDelay));
}

/**
 * `apt-get update` tried up to `retries` times (5 by default), each try ended after `timeout`
 * seconds, waiting 1, 2, 4, ... seconds (at most `maxDelay`, 12 by default) after a failed
 * one; then stamped as the package module's cache_valid_time reads it.
 */
export function updateChange(p: AptOptions & { timeout?: number }, why: string, tries: UpdateTries = {}): Change {
  const retries = tries.retries ?? 5;
  const maxDelay = tries.maxDelay ?? 12;
  const trySeconds = p.timeout ?? UPDATE_TRY_TIMEOUT;
  const script = [
    'n=$1; max=$2; try=$3; shift 3; i=0',
    'while :; do',
    `  timeout --foreground -k 10 "$try" "$@" && { ${[...(tries.onSuccess ?? []), 'exit 0'].join('; ')}; }`,
    '  rc=$?; i=$((i + 1))',
    '  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "try $i of $n ended after $try s" >&2; fi',
    `  if [ "$i" -ge "$n" ]; then ${[...(tries.onGiveUp ?? []), `echo "Failed to update apt cache after $n retries${tries.giveUpNote ? `; ${tries.giveUpNote}` : ''}" >&2; exit 1`].join('; ')}; fi`,
    '  d=$((1 << (i - 1))); [ "$d" -gt "$max" ] && d=$max; sleep "$d"',
    'done',
  ].join('\n');
  const update = aptGet(p, 'update');
  return {
    title: `update apt lists (${why})`,
    commands: [
      { ...update, argv: ['sh', '-c', script, 'retry', String(retries), String(maxDelay), String(trySeconds), ...update.argv] },
      { argv: ['mkdir', '-p', '/var/lib/bootstrap'] },
      { argv: ['touch', APT_UPDATE_STAMP] },
    ],
    // every try at its longest (with timeout's 10 s before KILL), and every wait
    timeout: retries * (trySeconds + 10) + delays(retries, maxDelay).reduce((a, b) => a + b, 0) + 10,
  };
}
