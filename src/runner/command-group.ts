import { quote, toShell } from '../argv.js';
import type { ArgvCommand } from '../argv.js';

/**
 * Consecutive commands of one change run in one round trip: a command that feeds stdin starts a
 * group, commands without stdin join it. The group is one `sh -c` script that stops at the first
 * command whose exit code is not allowed and names it on stderr, so failures still point at the
 * exact command, its exit code and its stderr. The change's cleanups (ArgvCommand.onFailure) run in
 * every group's script when a step fails or the script is signalled; never when all succeed.
 */
export interface CommandGroup {
  commands: ArgvCommand[];
  /** what runs on the host: the lone command itself, or the script running the group */
  run: ArgvCommand;
}

const MARK = '@@bootstrap-failed-step';

export function groupCommands(commands: readonly ArgvCommand[]): CommandGroup[] {
  const cleanups = commands.filter((c) => c.onFailure);
  const groups: ArgvCommand[][] = [];
  for (const command of commands) {
    if (command.onFailure) continue;
    const current = groups.at(-1);
    if (current && command.stdin === undefined) current.push(command);
    else groups.push([command]);
  }
  return groups.map((group) => ({ commands: group, run: group.length === 1 && cleanups.length === 0 ? group[0]! : script(group, cleanups) }));
}

// Exit codes of a script stopped by a signal, as a shell reports them (128 + the signal's number).
const SIGNALS = [['HUP', 129], ['INT', 130], ['TERM', 143]] as const;

function script(group: ArgvCommand[], cleanups: ArgvCommand[]): ArgvCommand {
  // the cleanup runs before the failure mark is written: when the connection is gone, that write kills the script
  const cleanup = cleanups.map((c) => `${toShell(c.argv)}; `).join('');
  const traps = cleanups.length ? SIGNALS.map(([name, code]) => `trap ${quote(`${cleanup}exit ${code}`)} ${name}`) : [];
  const steps = group.map((c, i) => {
    const ok = (c.okCodes ?? [0]).join('|');
    return `${toShell(c.argv)}\nrc=$?; case $rc in ${ok}) ;; *) ${cleanup}echo "${MARK} ${i} $rc" >&2; exit $rc ;; esac`;
  });
  return {
    argv: ['sh', '-c', [...traps, ...steps].join('\n')],
    stdin: group[0]!.stdin,
    sensitive: group.some((c) => c.sensitive),
  };
}

/** Which command of a group failed (and its stderr without the marker), or undefined when none did. */
export function failedStep(group: CommandGroup, code: number | null, stderr: string): { command: ArgvCommand; stderr: string } | undefined {
  if (group.run === group.commands[0]) {
    const only = group.run;
    return code !== null && (only.okCodes ?? [0]).includes(code) ? undefined : { command: only, stderr };
  }
  if (code === 0) return undefined;
  const mark = new RegExp(`^${MARK} (\\d+) \\d+$`, 'm').exec(stderr);
  // no mark: the script itself died (a signal, a lost connection): name the whole script
  if (!mark) return { command: group.run, stderr };
  return { command: group.commands[Number(mark[1])]!, stderr: stderr.replace(`${mark[0]}\n`, '') };
}
