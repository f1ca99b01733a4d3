import { toShell } from '../command.js';
import type { Command } from '../command.js';

/**
 * Consecutive commands of one change run in one round trip: a command that feeds stdin starts a
 * group, commands without stdin join it. The group is one `sh -c` script that stops at the first
 * command whose exit code is not allowed and names it on stderr, so failures still point at the
 * exact command, its exit code and its stderr.
 */
export interface CommandGroup {
  commands: Command[];
  /** what runs on the host: the lone command itself, or the script running the group */
  run: Command;
}

const MARK = '@@bootstrap-failed-step';

export function groupCommands(commands: readonly Command[]): CommandGroup[] {
  const groups: Command[][] = [];
  for (const command of commands) {
    const current = groups.at(-1);
    if (current && command.stdin === undefined) current.push(command);
    else groups.push([command]);
  }
  return groups.map((group) => ({ commands: group, run: group.length === 1 ? group[0]! : script(group) }));
}

function script(group: Command[]): Command {
  const steps = group.map((c, i) => {
    const ok = (c.okCodes ?? [0]).join('|');
    return `${toShell(c.argv)}\nrc=$?; case $rc in ${ok}) ;; *) echo "${MARK} ${i} $rc" >&2; exit $rc ;; esac`;
  });
  return {
    argv: ['sh', '-c', steps.join('\n')],
    stdin: group[0]!.stdin,
    sensitive: group.some((c) => c.sensitive),
  };
}

/** Which command of a group failed (and its stderr without the marker), or undefined when none did. */
export function failedStep(group: CommandGroup, code: number | null, stderr: string): { command: Command; stderr: string } | undefined {
  if (group.commands.length === 1) {
    const only = group.commands[0]!;
    return code !== null && (only.okCodes ?? [0]).includes(code) ? undefined : { command: only, stderr };
  }
  if (code === 0) return undefined;
  const mark = new RegExp(`^${MARK} (\\d+) \\d+$`, 'm').exec(stderr);
  // no mark: the script itself died (a signal, a lost connection): name the whole script
  if (!mark) return { command: group.run, stderr };
  return { command: group.commands[Number(mark[1])]!, stderr: stderr.replace(`${mark[0]}\n`, '') };
}
