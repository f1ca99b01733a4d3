import type { ArgvCommand } from '../argv.js';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One open connection to a host, reused for every command of a run. */
export interface Transport {
  readonly host: string;
  /** Runs argv (quoted by toShell) with optional stdin. Never throws for a non-zero exit. */
  exec(command: ArgvCommand): Promise<ExecResult>;
  /**
   * An interrupted run: runs `stop` (the commands that stop what still runs on the host) at once,
   * past any queue, then closes the connection. Pending exec() calls resolve or reject as they end.
   */
  abort(stop: ArgvCommand[]): Promise<void>;
  /**
   * Starts a command that runs for as long as we hold it (the host lock): its stdout is handed
   * over line by line, its stdin stays open until release() or abandon(). It takes no slot of
   * the per-connection channel limit exec() keeps to.
   */
  hold(command: ArgvCommand, onLine: (line: string) => void): Held;
  close(): Promise<void>;
}

export interface Held {
  /** the command's end: its exit code and output (rejects when the connection was lost) */
  ended: Promise<ExecResult>;
  /** We are done with it: a line on its stdin, then EOF. */
  release(): void;
  /** EOF alone, what a dropped connection gives it: the run that held it is gone. */
  abandon(): void;
}

/** Everything needed to open an SSH connection to one inventory host. */
export interface SshTarget {
  name: string;
  address: string;
  /** undefined: ~/.ssh/config's Port for this host, else 22 */
  port?: number;
  /** undefined: ~/.ssh/config's User for this host, else root */
  user?: string;
  /** Private key path from the inventory; else ssh-agent, else ~/.ssh/id_* . */
  key?: string;
  /** known_hosts files to verify against (default ~/.ssh/known_hosts). */
  knownHosts: string[];
  /** Trust-on-first-use: record an unknown key instead of failing. A changed key always fails. */
  acceptNewHostKeys: boolean;
  /** ~/.ssh/config to read Host aliases, User, Port, IdentityFile, ProxyJump from (default ~/.ssh/config). */
  sshConfig?: string;
  connectTimeoutMs?: number;
}
