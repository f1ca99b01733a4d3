#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, ConfigErrors, ExitCode } from './errors.js';
import type { SshOptions } from './connect.js';
import { defaultPlaybook, packageRoot } from './paths.js';

// Each command imports what it needs when it runs, so `--version`, `--help` and `validate`
// never load ssh2, listr2, the lab or the cloud code.

interface CommonOptions extends SshOptions {
  playbook?: string[];
  limit?: string;
  tags?: string;
  forks: string;
  output: 'text' | 'json';
  verbose?: boolean;
}

interface ApplyCliOptions extends CommonOptions {
  check?: boolean;
  diff?: boolean;
  forceHandlers?: boolean;
  commandTimeout: string;
  extraVars?: string[];
  skipTags?: string;
  startAtTask?: string;
  listHosts?: boolean;
  listTasks?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function withCommon(cmd: Command): Command {
  return cmd
    .option('--playbook <file>', 'playbook to run (repeatable; default: the bundled playbooks/site.yml)', collect)
    .option('--limit <pattern>', 'only hosts matching this pattern (group, host, glob, a:b, &group, !group)')
    .option('--tags <list>', 'only tasks tagged with one of these (comma-separated)')
    .option('--forks <n>', 'hosts worked on in parallel', '20')
    .addOption(new Option('--output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--accept-new-host-keys', 'trust-on-first-use: record unknown SSH host keys (a changed key is always refused)', false)
    .option('--known-hosts <file>', 'known_hosts file to verify host keys against (repeatable)', collect)
    .option('--ssh-config <file>', 'ssh config file (default ~/.ssh/config)')
    .option('-v, --verbose', 'show ok/skipped reasons in full and timings');
}

/** Options that change what a run does with the playbooks: extra vars and tag exclusion. */
function withRunSelection(cmd: Command): Command {
  return cmd
    .option('-e, --extra-vars <vars>', 'variables over every other source: key=value (strings), @file.yaml, or JSON (repeatable)', collect)
    .option('--skip-tags <list>', 'leave out tasks tagged with one of these (comma-separated); wins over --tags');
}

function positive(option: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError({ file: option }, '', `expected a positive integer, got "${value}"`);
  return n;
}

function parseTags(value?: string): string[] | undefined {
  return value ? value.split(',').map((t) => t.trim()).filter(Boolean) : undefined;
}

async function buildProgram(setExit: (code: number) => void): Promise<Command> {
  const pkg = JSON.parse(readFileSync(`${packageRoot}package.json`, 'utf8')) as { version: string };
  const program = new Command('bootstrap')
    .description('Provision a Consul + Registrator + consul-template + Nginx stack over SSH, idempotently, and verify it.')
    .version(pkg.version)
    .showHelpAfterError()
    .addHelpText(
      'after',
      `\nExit codes: 0 success, 1 internal error, 2 invalid input (nothing was contacted),\n3 a task failed on some host, 4 a host was unreachable, 5 verification failed.`,
    );

  withRunSelection(withCommon(program.command('apply', { isDefault: true }).argument('<inventory>', 'inventory YAML file')))
    .description('run the playbooks on the inventory hosts (the default command)')
    .option('--check', 'plan only: report what would change, change nothing')
    .option('--diff', 'show unified diffs of the files changed (or that would change)')
    .option('--force-handlers', "run a host's notified handlers even when one of its tasks failed")
    .option('--command-timeout <seconds>', "seconds a task's command may run before it is killed on the host (a task's `timeout:` wins)", '3600')
    .option('--start-at-task <name>', 'start at the first task of this name (earlier tasks and plays are left out)')
    .option('--list-hosts', 'print the hosts each play would run on, and exit (nothing is contacted)')
    .option('--list-tasks', 'print the tasks each play would run, and exit (nothing is contacted)')
    .action(async (inv: string, opts: ApplyCliOptions) => {
      const selection = { tags: parseTags(opts.tags), skipTags: parseTags(opts.skipTags), startAtTask: opts.startAtTask, extraVars: opts.extraVars };
      if (opts.listHosts || opts.listTasks) {
        const { listCommand } = await import('./commands/list.js');
        listCommand(inv, { ...opts, ...selection, playbook: opts.playbook ?? [defaultPlaybook] }, { hosts: Boolean(opts.listHosts), tasks: Boolean(opts.listTasks) });
        return setExit(ExitCode.OK);
      }
      const { apply } = await import('./commands/apply.js');
      setExit((await apply(inv, { ...opts, ...selection, forks: positive('--forks', opts.forks), commandTimeout: positive('--command-timeout', opts.commandTimeout) })).exitCode);
    });

  withRunSelection(withCommon(program.command('validate').argument('<inventory>', 'inventory YAML file')))
    .description('check inventory, playbooks and templates offline; never connects')
    .action(async (inv: string, opts: CommonOptions & { extraVars?: string[]; skipTags?: string }) => {
      const { loadRun } = await import('./load.js');
      const { inventory, plays, artifactNotes } = loadRun(inv, opts.playbook ?? [defaultPlaybook], { limit: opts.limit, tags: parseTags(opts.tags), skipTags: parseTags(opts.skipTags), extraVars: opts.extraVars });
      const tasks = plays.reduce((n, p) => n + p.tasks.length + p.handlers.length, 0);
      console.log(`${inv}: valid (${inventory.hosts.size} hosts, ${plays.length} plays, ${tasks} tasks and handlers)`);
      for (const note of artifactNotes) console.log(`built on this machine before connecting: ${note}`);
      setExit(ExitCode.OK);
    });

  withCommon(program.command('facts').argument('<inventory>', 'inventory YAML file'))
    .description('print what was discovered on each host')
    .action(async (inv: string, opts: CommonOptions) => {
      const { gatherFacts } = await import('./commands/facts.js');
      setExit(await gatherFacts(inv, opts, positive('--forks', opts.forks)));
    });

  withCommon(program.command('verify').argument('<inventory>', 'inventory YAML file'))
    .description('check the live stack end to end: consul members, services, registrations, nginx upstreams, HTTP(S) through the LB')
    .option('--requests <n>', 'requests per app used to see the spread over backends', '20')
    .action(async (inv: string, opts: CommonOptions & { requests: string }) => {
      const { verify } = await import('./commands/verify.js');
      const passed = await verify(inv, { ...opts, requests: positive('--requests', opts.requests) });
      setExit(passed ? ExitCode.OK : ExitCode.VERIFY_FAILED);
    });

  const lab = program.command('lab').description('local throw-away nodes: Docker containers booting systemd (or Upstart) and sshd');
  const registratorSrc = (cmd: Command) =>
    cmd.option('--registrator-src <dir>', 'registrator source to build from (default $BOOTSTRAP_REGISTRATOR_SRC, else go install of the pinned commit)');
  const nodes = (cmd: Command) =>
    registratorSrc(cmd.option('--lb <n>', 'lb nodes', '1').option('--web <n>', 'web nodes', '2'))
      .option('--distro <spec>', 'Debian release of the nodes: bookworm (default) or trixie, or per node: lb1=trixie,web1=trixie')
      .option('--init <spec>', 'what the nodes boot as PID 1: systemd (default) or upstart (built from source), or per node: web2=upstart');
  const labCommands = () => import('./commands/lab.js');
  const labOptions = async (o: { lb: string; web: string; distro?: string; init?: string; registratorSrc?: string }) => ({
    lb: positive('--lb', o.lb),
    web: positive('--web', o.web),
    distros: (await import('./lab/nodes.js')).parseDistros(o.distro),
    inits: (await import('./lab/nodes.js')).parseInits(o.init),
    registratorSrc: o.registratorSrc,
  });
  nodes(lab.command('up').description('start the nodes (reusing what exists) and write the lab inventory')).action(async (o) => {
    await (await labCommands()).labUpCommand(await labOptions(o));
    setExit(ExitCode.OK);
  });
  registratorSrc(lab.command('build').description('build (or find cached) what the lab ships: consul, consul-template, registrator and the demo app images')).action(async (o) => {
    await (await labCommands()).labBuildCommand(o.registratorSrc);
    setExit(ExitCode.OK);
  });
  lab.command('down').description('remove every lab container, network and process').action(async () => {
    await (await labCommands()).labDownCommand();
    setExit(ExitCode.OK);
  });
  lab.command('status').description('nodes and addresses').action(async () => {
    await (await labCommands()).labStatusCommand();
    setExit(ExitCode.OK);
  });
  nodes(lab.command('demo').description('lab up, bootstrap the stack and demo apps, verify, and show what to try next'))
    .addOption(new Option('--output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (o) => setExit(await (await labCommands()).labDemoCommand(await labOptions(o), o.output)));

  program.addCommand(await cloudOrPlaceholder());
  return program;
}

/** The cloud command's options and actions are only loaded when it is the command given. */
async function cloudOrPlaceholder(): Promise<Command> {
  const description = 'throw-away test environments on a cloud provider (Digital Ocean)';
  const words = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  if (words[0] === 'cloud' || (words[0] === 'help' && words[1] === 'cloud')) return (await import('./cloud/cli.js')).cloudCommand();
  return new Command('cloud').description(description);
}

/** Commander errors (unknown option, missing argument) become our invalid-input exit code at every level. */
function overrideExits(cmd: Command): void {
  cmd.exitOverride();
  cmd.commands.forEach(overrideExits);
}

async function main(): Promise<number> {
  let code: number = ExitCode.OK;
  const program = await buildProgram((c) => (code = c));
  overrideExits(program);
  try {
    await program.parseAsync(process.argv);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.OK : ExitCode.INVALID_INPUT;
    }
    if (error instanceof ConfigErrors || error instanceof ConfigError) {
      console.error(error.message);
      console.error('Nothing was contacted.');
      return ExitCode.INVALID_INPUT;
    }
    const exitCode = (error as { exitCode?: unknown }).exitCode;
    console.error(`bootstrap: ${(error as Error).message ?? error}`);
    if (process.env.BOOTSTRAP_DEBUG) console.error((error as Error).stack);
    return typeof exitCode === 'number' ? exitCode : ExitCode.INTERNAL;
  }
}

const code = await main();
process.exitCode = code;
// Output is flushed by letting the loop drain; a stray handle must not keep the CLI alive.
setTimeout(() => process.exit(code), 3000).unref();
