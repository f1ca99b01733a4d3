import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ArgvCommand as Command } from '../../src/argv.js';
import { failedStep, groupCommands } from '../../src/runner/command-group.js';
import { until } from '../helpers/until.js';

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

describe('command groups: cleanups (Command.onFailure)', () => {
  const withTemp = (dir: string, steps: Command[]): Command[] => [
    { argv: ['sh', '-c', 'cat > "$1"', 'sh', join(dir, 'tmp')], stdin: 'partial' },
    { argv: ['rm', '-f', '--', join(dir, 'tmp')], onFailure: true },
    ...steps,
  ];

  it('run when a step fails, before the failure is reported; never when every step succeeds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'group-cleanup-'));
    const [failing] = groupCommands(withTemp(dir, [{ argv: ['sh', '-c', 'echo nope >&2; exit 4'] }, { argv: ['touch', join(dir, 'never')] }]));
    const res = run(failing!.run);
    assert.equal(res.code, 4);
    assert.deepEqual(failedStep(failing!, res.code, res.stderr), { command: { argv: ['sh', '-c', 'echo nope >&2; exit 4'] }, stderr: 'nope\n' });
    assert.deepEqual(readdirSync(dir), [], 'the temp file was removed and no later step ran');
    const [passing] = groupCommands(withTemp(dir, [{ argv: ['true'] }]));
    assert.equal(run(passing!.run).code, 0);
    assert.deepEqual(readdirSync(dir), ['tmp'], 'a cleanup never runs on success');
  });

  it('a lone command with a cleanup runs as a script, so the cleanup can run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'group-cleanup-'));
    const [group] = groupCommands([{ argv: ['sh', '-c', 'touch "$1"; exit 3', 'sh', join(dir, 'tmp')] }, { argv: ['rm', '-f', '--', join(dir, 'tmp')], onFailure: true }]);
    assert.notEqual(group!.run, group!.commands[0]);
    const res = run(group!.run);
    assert.equal(res.code, 3);
    assert.deepEqual(failedStep(group!, res.code, res.stderr)?.command.argv.slice(0, 2), ['sh', '-c']);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('run when the script is stopped by TERM (a time limit, an aborted run)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'group-cleanup-'));
    const [group] = groupCommands(withTemp(dir, [{ argv: ['sleep', '30'] }]));
    const [program, ...args] = group!.run.argv;
    const child = spawn(program!, args, { stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin!.end(group!.run.stdin);
    await until('the upload to start the next step', () => existsSync(join(dir, 'tmp')) && readFileSync(join(dir, 'tmp'), 'utf8') === 'partial');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // as stopRunCommand does: TERM to every process of the run (the script and its step)
    execFileSync('pkill', ['-TERM', '-P', String(child.pid)]);
    child.kill('SIGTERM');
    assert.equal(await exited, 143);
    assert.deepEqual(readdirSync(dir), []);
  });
});
