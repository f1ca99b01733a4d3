import { Option, type Command } from 'commander';

/** The commands that work on an inventory. */
export type RunCommand = 'apply' | 'validate' | 'facts' | 'verify' | 'retire';

interface OptionSpec {
  flags: string;
  /** one for every command, or what it does on each */
  description: string | Partial<Record<RunCommand, string>>;
  /** default value, only on the commands that honour the option */
  default?: string;
  choices?: string[];
  /** environment variable that gives the value when the option is not on the command line */
  env?: string;
  repeatable?: boolean;
  /** a flag given again counts up (-v, -vv, -vvv): its value is how many times it was given */
  counted?: boolean;
  /** the commands that honour the option; every other run command refuses it */
  for: readonly RunCommand[];
  /** why a command refuses it (default: "<option> is an option of <commands>") */
  refused?: Partial<Record<RunCommand, string>>;
}

const ALL: readonly RunCommand[] = ['apply', 'validate', 'facts', 'verify', 'retire'];
const CONNECTING: readonly RunCommand[] = ['apply', 'facts', 'verify', 'retire'];
const PLAYBOOKS: readonly RunCommand[] = ['apply', 'validate'];
/** the options of a run that changes hosts */
const CHANGING: readonly RunCommand[] = ['apply', 'retire'];

const NO_PLAYBOOK = {
  facts: 'facts runs no playbook: it connects to the hosts and prints what it finds',
  verify: 'verify runs no playbook: it checks the live stack the bundled playbooks set up',
  retire: 'retire runs the bundled playbooks/retire-web.yml, every task of it',
};
const NEVER_CONNECTS = { validate: 'validate never connects to a host' };

/**
 * Every option of the run commands, and which of them honours it. A command shows (and takes)
 * only the options it honours; the others are refused with the reason, exit code 2.
 */
export const RUN_OPTIONS: readonly OptionSpec[] = [
  { flags: '--playbook <file>', description: 'playbook to run (repeatable; default: the bundled playbooks/site.yml)', repeatable: true, for: PLAYBOOKS, refused: NO_PLAYBOOK },
  { flags: '--limit <pattern>', description: 'only hosts matching this pattern (group, host, glob, a:b, &group, !group)', for: ALL },
  { flags: '--tags <list>', description: 'only tasks tagged with one of these (comma-separated)', for: PLAYBOOKS, refused: NO_PLAYBOOK },
  { flags: '--skip-tags <list>', description: 'leave out tasks tagged with one of these (comma-separated); wins over --tags', for: PLAYBOOKS, refused: NO_PLAYBOOK },
  {
    flags: '-e, --extra-vars <vars>',
    description: 'variables over every other source: key=value (strings), @file.yaml, or JSON (repeatable)',
    repeatable: true,
    for: ALL,
  },
  { flags: '--forks <n>', description: 'hosts worked on in parallel', default: '20', for: CONNECTING, refused: NEVER_CONNECTS },
  { flags: '--output <format>', description: 'output format', choices: ['text', 'json'], default: 'text', for: ALL },
  {
    flags: '--accept-new-host-keys',
    description: 'trust-on-first-use: record unknown SSH host keys (a changed key is always refused)',
    for: CONNECTING,
    refused: NEVER_CONNECTS,
  },
  { flags: '--known-hosts <file>', description: 'known_hosts file to verify host keys against (repeatable)', repeatable: true, for: CONNECTING, refused: NEVER_CONNECTS },
  { flags: '--ssh-config <file>', description: 'ssh config file (default ~/.ssh/config)', for: CONNECTING, refused: NEVER_CONNECTS },
  {
    flags: '--connect-timeout <seconds>',
    description: 'seconds a host may take to accept the connection and finish the SSH handshake before it is reported unreachable',
    default: '20',
    for: CONNECTING,
    refused: NEVER_CONNECTS,
  },
  {
    flags: '--persist <seconds>',
    description: 'keep each host\'s SSH connection open this many seconds after the run, in a background keeper, so a re-run within them skips the handshake (like ControlPersist; 0: close at the end)',
    default: '0',
    env: 'BOOTSTRAP_PERSIST',
    for: CONNECTING,
    refused: NEVER_CONNECTS,
  },
  {
    flags: '-v, --verbose',
    description: {
      apply: 'show ok/skipped reasons in full and timings; -vv, -vvv: a higher verbosity for debug tasks with `verbosity:` (as Ansible\'s)',
      validate: 'also show each play: its file, hosts, tasks and handlers',
      facts: 'also show (on stderr) how each host was reached: login user, sudo or not, connect and facts times',
      verify: 'also show how each host was reached (login user, sudo or not, timings) and the time the checks took',
      retire: 'show ok/skipped reasons in full and timings',
    },
    counted: true,
    for: ALL,
  },
  { flags: '--check', description: 'plan only: report what would change, change nothing', for: CHANGING },
  { flags: '--diff', description: 'show unified diffs of the files changed (or that would change)', for: CHANGING },
  { flags: '--force-handlers', description: "run a host's notified handlers even when one of its tasks failed", for: CHANGING },
  {
    flags: '--command-timeout <seconds>',
    description: "seconds a task's command may run before it is killed on the host (a task's `timeout:` wins)",
    default: '3600',
    for: CHANGING,
  },
  {
    flags: '--lock-timeout <seconds>',
    description: 'seconds to wait while another run holds a host (its lock file on the host) before that host fails (--check takes no lock)',
    default: '300',
    for: CHANGING,
  },
  { flags: '--start-at-task <name>', description: 'start at the first task of this name (earlier tasks and plays are left out)', for: ['apply'] },
  { flags: '--list-hosts', description: 'print the hosts each play would run on, and exit (nothing is contacted)', for: ['apply'] },
  { flags: '--list-tasks', description: 'print the tasks each play would run, and exit (nothing is contacted)', for: ['apply'] },
  { flags: '--requests <n>', description: 'requests per app used to see the spread over backends', default: '20', for: ['verify'] },
];

const collect = (value: string, previous: string[] = []) => [...previous, value];
const count = (_value: string, previous: number | undefined) => (previous ?? 0) + 1;

function toOption(spec: OptionSpec, command: RunCommand, honoured: boolean): Option {
  const description = typeof spec.description === 'string' ? spec.description : (spec.description[command] ?? '');
  const option = new Option(spec.flags, description);
  if (spec.repeatable) option.argParser(collect);
  if (spec.counted) option.argParser(count);
  if (spec.choices) option.choices(spec.choices);
  if (honoured && spec.env) option.env(spec.env);
  if (honoured && spec.default !== undefined) option.default(spec.default);
  if (!honoured) option.hideHelp();
  return option;
}

/** Why `command` refuses the option. */
export function refusal(spec: OptionSpec, command: RunCommand): string {
  const name = spec.flags.split(/[ ,]+/).find((f) => f.startsWith('--'))!;
  const reason = spec.refused?.[command] ?? `${name} is an option of ${spec.for.join(', ')}`;
  return `${command} does not take ${name}: ${reason}`;
}

/**
 * Adds the run options to `cmd` as `command` honours them: the honoured ones shown in --help,
 * the others hidden and refused before the command's action runs (a usage error, exit 2).
 */
export function withRunOptions(cmd: Command, command: RunCommand): Command {
  const refused: Array<{ key: string; message: string }> = [];
  for (const spec of RUN_OPTIONS) {
    const honoured = spec.for.includes(command);
    const option = toOption(spec, command, honoured);
    cmd.addOption(option);
    if (!honoured) refused.push({ key: option.attributeName(), message: refusal(spec, command) });
  }
  return cmd.hook('preAction', (self) => {
    const given = refused.find((r) => self.getOptionValueSource(r.key) === 'cli');
    if (given) self.error(`error: ${given.message}`, { exitCode: 2, code: 'bootstrap.refusedOption' });
  });
}
