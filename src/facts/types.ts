/**
 * A fact is a small {script, parse} pair. Facts are batched: the runner concatenates the
 * scripts of every fact a set of tasks needs into one remote `sh -s` invocation (one round
 * trip), splits the output, and caches parsed values per host by `key` until a change on that
 * host. Scripts must be POSIX sh, must not read stdin, and should not fail the batch (their
 * exit code is captured and passed to parse).
 */
export interface Fact<T> {
  /** Unique and stable for the same question, e.g. `file:/etc/nginx/nginx.conf`. */
  key: string;
  script: string;
  parse(stdout: string, exitCode: number): T;
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
}
