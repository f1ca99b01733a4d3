import { toShell, type ArgvCommand } from '../argv.js';
import { CommandError, tail } from '../errors.js';
import type { Fact } from '../facts/types.js';
import type { HostSession } from '../host/session.js';
import { timedOut, timedOutMessage, timeLimited } from '../host/time-limit.js';
import { unreadBeforeFacts, withBeforeRead } from '../modules/diff-before.js';
import type { Change } from '../modules/types.js';
import { failedStep, groupCommands } from './command-group.js';
import type { Streams } from './task-result.js';

/** The before side of the plan's diffs, in one round trip when there is any to read. */
export async function readBefore(changes: Change[], session: HostSession, elevate: boolean): Promise<Change[]> {
  const facts = unreadBeforeFacts(changes);
  if (facts.length === 0) return changes;
  await session.gather(facts, elevate);
  return withBeforeRead(changes, <T>(fact: Fact<T>) => session.cache.get(fact.key) as T);
}

/**
 * Runs a change's commands, each group under GNU timeout (past `seconds` it signals the command's
 * whole process group on the host: TERM, then KILL 10 s later); returns the last group's output
 * (what `register` shows), or throws a CommandError carrying it.
 */
export async function applyCommands(commands: ArgvCommand[], session: HostSession, elevate: boolean, seconds: number): Promise<Streams> {
  let last = registeredStreams(0, '', '');
  for (const group of groupCommands(commands)) {
    const started = Date.now();
    const res = await session.exec(timeLimited(group.run, seconds, session.mark), elevate);
    const ran = (Date.now() - started) / 1000;
    if (timedOut(res.code, ran, seconds)) throw new CommandError(session.host.name, toShell(group.run.argv), res.code, timedOutMessage(seconds, ran));
    const failed = failedStep(group, res.code, res.stderr);
    const stderr = failed ? failed.stderr : res.stderr;
    last = registeredStreams(res.code, res.stdout, stderr);
    // the stdout of a command fed a secret may echo it: only its stderr is shown
    const output = failed?.command.sensitive || group.run.sensitive ? failed?.stderr ?? '' : failed?.stderr || res.stdout;
    if (failed) {
      const error = new CommandError(session.host.name, toShell(failed.command.argv), res.code, tail(output));
      outputs.set(error, last);
      throw error;
    }
  }
  return last;
}

/** The output of the command a CommandError stands for (kept beside it for `register`). */
const outputs = new WeakMap<CommandError, Streams>();
export function commandOutput(error: CommandError): Streams {
  return outputs.get(error) ?? registeredStreams(error.exitCode, '', error.stderrTail);
}

/**
 * A command's output as `register` binds it, as Ansible's command and shell modules do
 * (strip_empty_ends): stdout and stderr without their trailing line breaks, and their lines.
 */
function registeredStreams(rc: number | null, stdout: string, stderr: string): Streams {
  const out = stdout.replace(/[\r\n]+$/, '');
  const err = stderr.replace(/[\r\n]+$/, '');
  return { rc, stdout: out, stderr: err, stdout_lines: lines(out), stderr_lines: lines(err) };
}

function lines(text: string): string[] {
  return text === '' ? [] : text.split(/\r?\n/);
}
