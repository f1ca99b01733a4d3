import { Command } from 'commander';
import { ConfigError, ExitCode } from '../errors.js';
import type { SshOptions } from '../host/connect.js';
import { withRunOptions, type RunCommand } from './options.js';
import { markRunKind } from './run-kind.js';
import type { Redactor } from '../secrets/redactor.js';
import { labCommand } from '../lab/cli.js';
import type { LabRun } from '../lab/commands.js';
import { nonNegative, positive } from '../option-numbers.js';
import { defaultPlaybook, packageVersion, retirePlaybook } from '../paths.js';

// Each command imports what it needs when it runs, so `--version`, `--help` and `validate`
// never load ssh2, listr2, the lab or the cloud code.

/** What commander hands the run commands' actions (see RUN_OPTIONS: each command gets only what it honours). */
export interface RunCliOptions extends Omit<SshOptions, 'connectTimeout' | 'persist'> {
  playbook?: string[];
  limit?: string;
  tags?: string;
  skipTags?: string;
  extraVars?: string[];
  forks: string;
  output: 'text' | 'json';
  /** how many times -v was given (-vv: 2) */
  verbose?: number;
  check?: boolean;
  diff?: boolean;
  forceHandlers?: boolean;
  commandTimeout: string;
  connectTimeout: string;
  persist: string;
  lockTimeout: string;
  startAtTask?: string;
  listHosts?: boolean;
  listTasks?: boolean;
  requests: string;
}

function parseTags(value?: string): string[] | undefined {
  return value ? value.split(',').map((t) => t.trim()).filter(Boolean) : undefined;
}

/** The options of the commands that connect, parsed: apply, facts and verify read them alike. */
function connecting(opts: RunCliOptions): { forks: number; connectTimeout: number; persist: number } {
  return { forks: positive('--forks', opts.forks), connectTimeout: positive('--connect-timeout', opts.connectTimeout), persist: nonNegative('--persist', opts.persist) };
}

/** The actions of the run commands; tests put their own in to see what each command is handed. */
export type RunAction = (inventory: string, opts: RunCliOptions, redactor: Redactor) => Promise<number>;
export type RunActions = Record<RunCommand, RunAction>;

export const runActions: RunActions = {
  async apply(inv, opts, redactor) {
    const selection = { limit: opts.limit, tags: parseTags(opts.tags), skipTags: parseTags(opts.skipTags), startAtTask: opts.startAtTask, extraVars: opts.extraVars };
    if (opts.listHosts || opts.listTasks) {
      const { listCommand } = await import('./commands/list.js');
      listCommand(inv, { ...selection, output: opts.output, playbook: opts.playbook ?? [defaultPlaybook] }, { hosts: Boolean(opts.listHosts), tasks: Boolean(opts.listTasks) }, redactor);
      return ExitCode.OK;
    }
    const { apply } = await import('./commands/apply.js');
    const outcome = await apply(inv, { ...opts, ...selection, ...connecting(opts), commandTimeout: positive('--command-timeout', opts.commandTimeout), lockTimeout: nonNegative('--lock-timeout', opts.lockTimeout) }, redactor);
    return outcome.exitCode;
  },
  async validate(inv, opts, redactor) {
    const { validateCommand } = await import('./commands/validate.js');
    return validateCommand(inv, {
      playbook: opts.playbook ?? [defaultPlaybook],
      limit: opts.limit,
      tags: parseTags(opts.tags),
      skipTags: parseTags(opts.skipTags),
      extraVars: opts.extraVars,
      output: opts.output,
      verbose: Boolean(opts.verbose),
    }, redactor);
  },
  async facts(inv, opts, redactor) {
    const { gatherFacts } = await import('./commands/facts.js');
    return gatherFacts(inv, { ...opts, verbose: Boolean(opts.verbose), ...connecting(opts) }, redactor);
  },
  async verify(inv, opts, redactor) {
    const { verify } = await import('./commands/verify.js');
    const passed = await verify(inv, { ...opts, verbose: Boolean(opts.verbose), ...connecting(opts), requests: positive('--requests', opts.requests) }, redactor);
    return passed ? ExitCode.OK : ExitCode.VERIFY_FAILED;
  },
  async retire(inv, opts, redactor) {
    // without a limit it would retire every web node
    if (!opts.limit) throw new ConfigError({ file: '--limit' }, '', 'retire needs --limit naming the web nodes to retire (e.g. --limit web3)');
    return runActions.apply(inv, { ...opts, playbook: [retirePlaybook] }, redactor);
  },
};

/**
 * The CLI. Everything it prints about an inventory passes `redactor`, which main() loads with the
 * secrets kept beside the inventory before parsing (so usage errors quoting argv are covered too).
 */
export async function buildProgram(setExit: (code: number) => void, redactor: Redactor, actions: RunActions = runActions, argv: readonly string[] = process.argv.slice(2)): Promise<Command> {
  const program = new Command('bootstrap')
    .description('Provision a Consul + Registrator + consul-template + Nginx stack over SSH, idempotently, and verify it.')
    .version(packageVersion())
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(redactor.text(text)) })
    .addHelpText(
      'after',
      `\nExit codes: 0 success, 1 internal error, 2 invalid input (nothing was contacted),\n3 a task failed on some host, 4 a host was unreachable, 5 verification failed,\n130 apply was interrupted (SIGINT/SIGTERM: running commands get 10 s, a second Ctrl-C stops them).`,
    );

  const runCommand = (name: RunCommand, description: string, opts: { isDefault?: boolean } = {}) =>
    withRunOptions(program.command(name, opts).argument('<inventory>', 'inventory YAML file'), name)
      .description(description)
      .action(async (inv: string, o: RunCliOptions) => {
        markRunKind(Number(o.persist) > 0 ? `${name}/kept` : name);
        setExit(await actions[name](inv, o, redactor));
      });
  runCommand('apply', 'run the playbooks on the inventory hosts (the default command)', { isDefault: true });
  runCommand('validate', 'check inventory, playbooks and templates offline; never connects');
  runCommand('facts', 'print what was discovered on each host');
  runCommand('verify', 'check the live stack end to end: consul members, services, registrations, nginx upstreams, HTTP(S) through the LB');
  runCommand('retire', 'take the web nodes named by --limit out of the stack: out of every upstream, then registrator stopped and the consul agent gone (left)');

  program.addCommand(labCommand(setExit, labRun));
  program.addCommand(await cloudOrPlaceholder(argv));
  return program;
}

/** The lab demo applies and verifies through the same commands as `bootstrap apply` and `bootstrap verify`. */
async function labRun(): Promise<LabRun> {
  const [{ apply }, { verifyUntilPassing }] = await Promise.all([import('./commands/apply.js'), import('./commands/verify.js')]);
  return { apply, verifyUntilPassing };
}

/** The cloud command's options and actions are only loaded when it is the command given. */
async function cloudOrPlaceholder(argv: readonly string[]): Promise<Command> {
  const description = 'throw-away test environments on a cloud provider (Digital Ocean)';
  const words = argv.filter((a) => !a.startsWith('-'));
  if (words[0] === 'cloud' || (words[0] === 'help' && words[1] === 'cloud')) return (await import('../cloud/cli.js')).cloudCommand();
  return new Command('cloud').description(description);
}
