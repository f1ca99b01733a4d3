import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import type { Command } from '../../src/command.js';
import { failedStep, groupCommands } from '../../src/runner/command-group.js';

/** Runs a group's command locally through the real sh, as the host would. */
function run(command: Command): { code: number | null; stderr: string } {
  const [program, ...args] = command.argv;
  const res = spawnSync(program!, args, { input: command.stdin ?? '', encoding: 'utf8' });
  return { code: res.status, stderr: res.stderr };
}

describe('command groups', () => {
  it('a command with stdin starts a group; commands without stdin join the group before them', () => {
    const a: Command = { argv: ['sh', '-c', 'cat > /dev/null'], stdin: 'secret', sensitive: true };
    const b: Command = { argv: ['true'] };
    const c: Command = { argv: ['sh', '-c', 'cat'], stdin: 'x' };
    const d: Command = { argv: ['echo', 'it is'] };
    const groups = groupCommands([b, a, b, c, d]);
    assert.deepEqual(groups.map((g) => g.commands), [[b], [a, b], [c, d]]);
    assert.equal(groups[0]!.run, b, 'a lone command runs as itself');
    assert.equal(groups[1]!.run.stdin, 'secret');
    assert.equal(groups[1]!.run.sensitive, true);
  });

  it('runs every step in one sh and reports success', () => {
    const [group] = groupCommands([{ argv: ['sh', '-c', 'read x; [ "$x" = hello ]'], stdin: 'hello\n' }, { argv: ['test', '-n', "it's"] }]);
    const res = run(group!.run);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(failedStep(group!, res.code, res.stderr), undefined);
  });

  it('stops at the first disallowed exit code and names that command, its code and its stderr', () => {
    const never: Command = { argv: ['sh', '-c', 'echo should not run >&2; exit 9'] };
    const [group] = groupCommands([
      { argv: ['sh', '-c', 'exit 1'], okCodes: [0, 1] },
      { argv: ['sh', '-c', 'echo "no such thing" >&2; exit 3'] },
      never,
    ]);
    const res = run(group!.run);
    assert.equal(res.code, 3);
    const failed = failedStep(group!, res.code, res.stderr)!;
    assert.deepEqual(failed.command.argv, ['sh', '-c', 'echo "no such thing" >&2; exit 3']);
    assert.equal(failed.stderr, 'no such thing\n');
  });
});
