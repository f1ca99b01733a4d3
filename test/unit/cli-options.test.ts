import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { CommanderError, type Command } from 'commander';
import { RUN_OPTIONS, type RunCommand } from '../../src/cli/options.js';
import { buildProgram, runActions, type RunActions, type RunCliOptions } from '../../src/cli/program.js';
import { ConfigError } from '../../src/errors.js';
import { Redactor } from '../../src/secrets/redactor.js';

const COMMANDS: RunCommand[] = ['apply', 'validate', 'facts', 'verify', 'retire'];

/** The real CLI, with actions that only record what each command was handed. */
async function parse(argv: string[], redactor = new Redactor()): Promise<{ command?: RunCommand; opts?: RunCliOptions; error?: CommanderError; stderr: string }> {
  let seen: { command: RunCommand; opts: RunCliOptions } | undefined;
  const record = (command: RunCommand) => async (_inv: string, opts: RunCliOptions) => ((seen = { command, opts }), 0);
  const actions = Object.fromEntries(COMMANDS.map((c) => [c, record(c)])) as unknown as RunActions;
  const program = await buildProgram(() => undefined, redactor, actions);
  let stderr = '';
  const quiet = (cmd: Command) => {
    cmd.exitOverride().configureOutput({ writeErr: (s) => void (stderr += s), writeOut: () => undefined });
    cmd.commands.forEach(quiet);
  };
  quiet(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return { error, stderr };
  }
  return { ...seen, stderr };
}

// [command, argv after the inventory, what the action gets] for options the command honours
const honoured: Array<[RunCommand, string[], Partial<RunCliOptions>]> = [
  ['apply', ['--playbook', 'a.yml', '--playbook', 'b.yml'], { playbook: ['a.yml', 'b.yml'] }],
  ['apply', ['--limit', 'web', '--tags', 'nginx', '--skip-tags', 'apps', '-e', 'a=1', '-e', '@x.yml'], { limit: 'web', tags: 'nginx', skipTags: 'apps', extraVars: ['a=1', '@x.yml'] }],
  ['apply', ['--forks', '3', '--output', 'json', '-v', '--check', '--diff', '--force-handlers'], { forks: '3', output: 'json', verbose: 1, check: true, diff: true, forceHandlers: true }],
  ['apply', ['--command-timeout', '60', '--start-at-task', 'nginx', '--list-hosts', '--list-tasks'], { commandTimeout: '60', startAtTask: 'nginx', listHosts: true, listTasks: true }],
  ['apply', ['--accept-new-host-keys', '--known-hosts', 'k1', '--known-hosts', 'k2', '--ssh-config', 'cfg'], { acceptNewHostKeys: true, knownHosts: ['k1', 'k2'], sshConfig: 'cfg' }],
  ['validate', ['--playbook', 'a.yml', '--limit', 'lb', '--tags', 'consul', '--skip-tags', 'acl', '-e', 'a=1', '--output', 'json', '-v'], { playbook: ['a.yml'], limit: 'lb', tags: 'consul', skipTags: 'acl', extraVars: ['a=1'], output: 'json', verbose: 1 }],
  ['facts', ['--limit', 'web1', '-e', '{"ssh":{"user":"deploy"}}', '--forks', '2', '--output', 'json', '-v'], { limit: 'web1', extraVars: ['{"ssh":{"user":"deploy"}}'], forks: '2', output: 'json', verbose: 1 }],
  ['facts', ['--accept-new-host-keys', '--known-hosts', 'k', '--ssh-config', 'cfg'], { acceptNewHostKeys: true, knownHosts: ['k'], sshConfig: 'cfg' }],
  ['verify', ['--limit', 'lb', '-e', 'load_balancer=haproxy', '--forks', '4', '--output', 'json', '-v', '--requests', '5'], { limit: 'lb', extraVars: ['load_balancer=haproxy'], forks: '4', output: 'json', verbose: 1, requests: '5' }],
  ['verify', ['--accept-new-host-keys', '--known-hosts', 'k', '--ssh-config', 'cfg'], { acceptNewHostKeys: true, knownHosts: ['k'], sshConfig: 'cfg' }],
  // -v counts as Ansible's: -vvv and -v -v -v are 3
  ['apply', ['-vvv'], { verbose: 3 }],
  ['apply', ['-v', '--verbose', '-v'], { verbose: 3 }],
  ['apply', ['--persist', '60'], { persist: '60' }],
  ['facts', ['--persist', '5'], { persist: '5' }],
  // defaults, only where honoured
  ['verify', [], { forks: '20', output: 'text', requests: '20', persist: '0' }],
  ['validate', [], { output: 'text', forks: undefined, requests: undefined, commandTimeout: undefined }],
];

// [command, the refused option and its value, the reason shown]
const refused: Array<[RunCommand, string[], RegExp]> = [
  ['verify', ['--limit', 'lb', '--tags', 'nginx'], /verify does not take --tags: verify runs no playbook/],
  ['verify', ['--playbook', 'x.yml'], /verify does not take --playbook: verify runs no playbook/],
  ['verify', ['--skip-tags', 'x'], /verify does not take --skip-tags/],
  ['verify', ['--check'], /verify does not take --check: --check is an option of apply/],
  ['verify', ['--list-tasks'], /verify does not take --list-tasks: --list-tasks is an option of apply/],
  ['facts', ['--playbook', 'x.yml'], /facts does not take --playbook: facts runs no playbook/],
  ['facts', ['--tags', 'x'], /facts does not take --tags: facts runs no playbook/],
  ['facts', ['--diff'], /facts does not take --diff: --diff is an option of apply/],
  ['facts', ['--requests', '3'], /facts does not take --requests: --requests is an option of verify/],
  ['validate', ['--forks', '3'], /validate does not take --forks: validate never connects/],
  ['validate', ['--known-hosts', 'k'], /validate does not take --known-hosts: validate never connects/],
  ['validate', ['--accept-new-host-keys'], /validate does not take --accept-new-host-keys: validate never connects/],
  ['validate', ['--ssh-config', 'cfg'], /validate does not take --ssh-config: validate never connects/],
  ['validate', ['--force-handlers'], /validate does not take --force-handlers/],
  ['validate', ['--persist', '5'], /validate does not take --persist: validate never connects/],
  ['apply', ['--requests', '3'], /apply does not take --requests: --requests is an option of verify/],
];

describe('each run command takes the options it honours', () => {
  for (const [command, args, expected] of honoured) {
    test(`${command} ${args.join(' ')}`, async () => {
      const r = await parse([command, 'inv.yaml', ...args]);
      assert.equal(r.error, undefined, r.stderr);
      assert.equal(r.command, command);
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(r.opts![key as keyof RunCliOptions], value, key);
    });
  }
  test('BOOTSTRAP_PERSIST gives --persist when the option is not given, and the option wins', async () => {
    process.env.BOOTSTRAP_PERSIST = '45';
    try {
      assert.equal((await parse(['apply', 'inv.yaml'])).opts!.persist, '45');
      assert.equal((await parse(['verify', 'inv.yaml', '--persist', '3'])).opts!.persist, '3');
      const validate = await parse(['validate', 'inv.yaml']);
      assert.equal(validate.error, undefined, 'validate ignores the variable');
      assert.equal(validate.opts!.persist, undefined);
    } finally {
      delete process.env.BOOTSTRAP_PERSIST;
    }
  });
  test('apply is the default command', async () => {
    const r = await parse(['inv.yaml', '--check']);
    assert.equal(r.command, 'apply');
    assert.equal(r.opts!.check, true);
  });
});

describe('and refuses every other one, saying why, with the usage exit code', () => {
  for (const [command, args, reason] of refused) {
    test(`${command} ${args.join(' ')}`, async () => {
      const r = await parse([command, 'inv.yaml', ...args]);
      assert.equal(r.command, undefined, 'the action must not run');
      assert.equal(r.error?.exitCode, 2);
      assert.match(r.stderr, reason);
    });
  }
  test('an option no command has is a usage error too', async () => {
    const r = await parse(['verify', 'inv.yaml', '--no-such-option']);
    assert.equal(r.error?.code, 'commander.unknownOption'); // main() exits 2 on every commander error but --help/--version
    assert.match(r.stderr, /unknown option '--no-such-option'/);
  });
  test('a usage error quoting a secret value shows the marker instead', async () => {
    const redactor = new Redactor();
    redactor.add('s3cr3t-token-value');
    const r = await parse(['verify', 'inv.yaml', '--bogus=s3cr3t-token-value'], redactor);
    assert.equal(r.error?.code, 'commander.unknownOption');
    assert.doesNotMatch(r.stderr, /s3cr3t-token-value/);
    assert.match(r.stderr, /\[redacted\]/);
  });
});

test('--help of each command lists exactly the options it honours', async () => {
  const program = await buildProgram(() => undefined, new Redactor());
  for (const command of COMMANDS) {
    const help = program.commands.find((c) => c.name() === command)!.helpInformation();
    for (const spec of RUN_OPTIONS) {
      const long = spec.flags.split(/[ ,]+/).find((f) => f.startsWith('--'))!;
      const shown = new RegExp(`^\\s+(-\\w, )?${long}\\b`, 'm').test(help);
      assert.equal(shown, spec.for.includes(command), `${command} --help ${shown ? 'shows' : 'hides'} ${long}`);
    }
  }
});

test("docs/commands.md's table of shared options marks exactly the commands that honour each", () => {
  const readme = readFileSync(fileURLToPath(new URL('../../../docs/commands.md', import.meta.url)), 'utf8');
  const start = readme.indexOf('| option | apply | validate | facts | verify | retire | meaning |');
  const table = readme.slice(start, readme.indexOf('\n\n', start));
  const rows = new Map(
    table
      .split('\n')
      .slice(2)
      .map((line) => line.replaceAll('\\|', '/').split('|').map((cell) => cell.trim()))
      .map((cells) => [cells[1]!.match(/--[a-z-]+/)![0], COMMANDS.filter((_, i) => cells[i + 2] === '✓')]),
  );
  for (const spec of RUN_OPTIONS.filter((s) => s.for.length > 1)) {
    const long = spec.flags.split(/[ ,]+/).find((f) => f.startsWith('--'))!;
    assert.deepEqual(rows.get(long), [...spec.for], `docs/commands.md row of ${long}`);
  }
});

test('retire refuses to run without --limit (it would retire every web node), before anything is read', async () => {
  const r = await parse(['retire', 'inv.yaml', '--check']);
  assert.equal(r.command, 'retire');
  await assert.rejects(runActions.retire('no-such-inventory.yaml', r.opts!, new Redactor()), (e: unknown) => e instanceof ConfigError && /retire needs --limit/.test(e.message));
  const refusedTags = await parse(['retire', 'inv.yaml', '--limit', 'web3', '--tags', 'x']);
  assert.equal(refusedTags.error?.exitCode, 2);
  assert.match(refusedTags.stderr, /retire does not take --tags: retire runs the bundled playbooks\/retire-web\.yml/);
});
