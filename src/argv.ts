/**
 * Commands to run are argv arrays (ArgvCommand; not to be confused with commander's Command, a CLI verb). Quoting for the remote shell happens here and nowhere else.
 * Secrets travel on stdin (never argv) and a command carrying one is marked `sensitive`
 * so that no UI or log prints its stdin.
 */
export interface ArgvCommand {
  argv: readonly string[];
  /** Bytes fed to the command's stdin (file contents, secrets). */
  stdin?: string | Buffer;
  /** stdin holds a secret: never echo it, never show a diff of it. */
  sensitive?: boolean;
  /** Exit codes that count as success (default [0]). */
  okCodes?: readonly number[];
  /**
   * A cleanup: it runs only when another command of its change fails or is stopped on the host
   * (TERM, INT, HUP), in the same script, to remove what the change leaves behind (its temp files).
   */
  onFailure?: true;
}

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX-shell quoting of one argument. */
export function quote(arg: string): string {
  if (arg !== '' && SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The single place where an argv becomes a shell command line. */
export function toShell(argv: readonly string[]): string {
  return argv.map(quote).join(' ');
}

/**
 * The command line sent to sshd, which runs it through the login user's shell. A shell that is
 * not POSIX (tcsh) rejects a newline inside quotes and expands `!` there, so a line holding
 * either travels base64-encoded, for sh to decode and run unchanged.
 */
export function loginShellLine(argv: readonly string[]): string {
  const line = toShell(argv);
  if (!/[\n!]/.test(line)) return line;
  return `sh -c ${quote(`eval "$(echo ${Buffer.from(line).toString('base64')} | base64 -d)"`)}`;
}

/** A shell script run by `sh -c`; use only where a pipe or redirection is unavoidable. */
export function sh(script: string): readonly string[] {
  return ['sh', '-c', script];
}

/** Wrap argv for privilege escalation (non-interactive sudo; the inventory user needs NOPASSWD). */
export function become(argv: readonly string[]): readonly string[] {
  return ['sudo', '-n', '--', ...argv];
}

export function cmd(argv: readonly string[], extra: Omit<ArgvCommand, 'argv'> = {}): ArgvCommand {
  return { argv, ...extra };
}
