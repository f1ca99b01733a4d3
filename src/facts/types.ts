/**
 * A fact answers one question about a host. Facts are batched: the runner concatenates the
 * scripts of every fact a set of tasks needs into one remote `sh -s` invocation (one round
 * trip), splits the output, and caches parsed values per host by `key` until a change on that
 * host. Two kinds:
 *
 * - A script fact is a small {script, parse} pair. Its script is POSIX sh, must not read stdin,
 *   and should not fail the batch (its exit code is captured and passed to parse). It runs in a
 *   subshell unless it is marked `inShell`.
 * - A family fact names an `item` of a family (a path, a package list, a unit): every fact of
 *   one family in a batch is answered together by one script, so a batch costs the host one
 *   `stat` for all its paths, one `dpkg-query` for all its packages, and so on.
 */
export interface ScriptFact<T> {
  /** Unique and stable for the same question, e.g. `exists:/etc/nginx/nginx.conf`. */
  key: string;
  script: string;
  parse(stdout: string, exitCode: number): T;
  /**
   * The script never exits, never sets shell options and only assigns variables it sets
   * first: it runs in the batch's own shell as a function, which saves the host a fork.
   */
  inShell?: boolean;
}

export interface FamilyFact<T, I = any> {
  key: string;
  family: FactFamily<I, T>;
  item: I;
}

/**
 * One script answers every item of the family in a batch. The script runs as a function, in the
 * batch's own shell, or (`waits`) in a background subshell beside the batch's other waiting
 * sections, so it must follow the `inShell` rules of a script fact.
 */
export interface FactFamily<I, T> {
  name: string;
  script(items: readonly I[]): string;
  /** The value of each item, in the order of `items`. */
  parse(stdout: string, exitCode: number, items: readonly I[]): T[];
  /** Its script waits on a daemon or the network (systemd, docker, consul's API), not only on the host's files. */
  waits?: boolean;
}

export type Fact<T> = ScriptFact<T> | FamilyFact<T>;

export function isFamilyFact<T>(fact: Fact<T>): fact is FamilyFact<T> {
  return 'family' in fact;
}

/** Reads the value of a fact gathered for the task being planned. */
export type FactReader = <T>(fact: Fact<T>) => T;

/** Facts gathered once per host at connection time (see src/facts/host.ts). */
export interface HostFacts {
  hostname: string;
  /** /etc/os-release ID and VERSION_ID, VERSION_CODENAME */
  os: { id: string; version: string; codename: string; family: 'debian' | 'other' };
  arch: string; // dpkg-style: amd64, arm64
  init: 'systemd' | 'upstart' | 'other';
  user: string;
  isRoot: boolean;
  /** IPv4 addresses on the host's interfaces (excluding loopback) */
  addresses: string[];
  /** the interface holding each of those addresses (from `ip addr`; empty when only `hostname -I` answered) */
  interfaces?: Record<string, string>;
}
