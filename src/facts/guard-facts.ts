import { quote, toShell } from '../argv.js';
import type { ScriptFact } from './types.js';

/** Guard for creates/removes: does the path exist (a dangling symlink counts)? */
export function pathExistsFact(path: string): ScriptFact<boolean> {
  return {
    key: `exists:${path}`,
    inShell: true,
    script: `if [ -e ${quote(path)} ] || [ -L ${quote(path)} ]; then echo yes; else echo no; fi`,
    parse: (stdout) => stdout.trim() === 'yes',
  };
}

/** Guard for unless: runs the command (output discarded) and yields its exit code. */
export function exitCodeFact(argv: readonly string[], chdir?: string): ScriptFact<number> {
  const line = chdir ? `cd ${quote(chdir)} && ${toShell(argv)}` : toShell(argv);
  return {
    key: `exit-code:${chdir ?? ''}:${toShell(argv)}`,
    script: `${line} >/dev/null 2>&1`,
    parse: (_stdout, exitCode) => exitCode,
  };
}

/** Whether a command is on the host's PATH (a tool a module's commands need, e.g. unzip). */
export function commandExistsFact(name: string): ScriptFact<boolean> {
  return {
    key: `command-exists:${name}`,
    inShell: true,
    script: `if command -v ${quote(name)} >/dev/null 2>&1; then echo yes; else echo no; fi`,
    parse: (stdout) => stdout.trim() === 'yes',
  };
}
