/** Exit codes are part of the CLI contract (docs/commands.md "Exit codes"). Only entry points call process.exit (src/cli/main.ts, the run server, the keeper). */
export const ExitCode = {
  OK: 0,
  INTERNAL: 1,
  INVALID_INPUT: 2,
  TASK_FAILED: 3,
  UNREACHABLE: 4,
  VERIFY_FAILED: 5,
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Where in a user file a problem is. line/col are 1-based; absent when the file itself is the problem. */
export interface SourcePos {
  file: string;
  line?: number;
  col?: number;
}

/** One problem in an inventory, playbook, template or local file, found before any connection. */
export class ConfigError extends Error {
  constructor(
    readonly pos: SourcePos,
    /** dotted key path, e.g. all.children.web.hosts.web2.port ("" for the whole file) */
    readonly keyPath: string,
    readonly detail: string,
  ) {
    super(formatConfigError(pos, keyPath, detail));
    this.name = 'ConfigError';
  }
}

export function formatConfigError(pos: SourcePos, keyPath: string, detail: string): string {
  const where = [pos.file, pos.line, pos.line !== undefined ? pos.col : undefined].filter((p) => p !== undefined).join(':');
  return `${where}${keyPath ? ` ${keyPath}` : ''}: ${detail}`;
}

/** Every problem found in one validation pass, so the user fixes them all at once. */
export class ConfigErrors extends Error {
  constructor(readonly errors: ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'ConfigErrors';
  }
}

/** A remote command exited with a code it was not allowed to. */
export class CommandError extends Error {
  constructor(
    readonly host: string,
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderrTail: string,
  ) {
    super(`${host}: \`${command}\` exited ${exitCode ?? 'by signal'}${stderrTail ? `: ${stderrTail}` : ''}`);
    this.name = 'CommandError';
  }
}

/** The host could not be reached or authenticated (includes host key refusals). */
export class UnreachableError extends Error {
  constructor(readonly host: string, readonly detail: string) {
    super(`${host}: ${detail}`);
    this.name = 'UnreachableError';
  }
}

/** Last `lines` non-empty lines of a command's stderr, for failure messages. */
export function tail(text: string, lines = 5): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
