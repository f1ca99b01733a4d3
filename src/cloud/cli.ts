import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { DoApi } from './api.js';
import { realClock, type Clock } from './clock.js';
import { DEFAULT_TIMEOUTS, type CloudContext } from './context.js';
import { DigitalOcean } from './digitalocean.js';
import { cloudDown, downRequests, hasDeletable, readDownState } from './down.js';
import { CloudApiError, CloudInputError } from './errors.js';
import { fetchHostKey } from '../transport/ssh.js';
import { expandHome } from '../paths.js';
import {
  validApiUrl,
  validCount,
  validEnvName,
  validOutput,
  validProvider,
  validSlug,
  type CommonOptions,
} from './options.js';
import { formatDown, formatDownPlan, formatStatus, formatUp } from './report.js';
import { COMMAND_SCOPES } from './scopes.js';
import { readPublicKey } from './ssh-key.js';
import { cloudStatus } from './status.js';
import { readToken, redact } from './token.js';
import { cloudUp } from './up.js';
import { sshAnswers } from './wait.js';

/** The world as the cloud commands see it; tests replace parts of it. */
export interface CloudDeps {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  clock: Clock;
  stdinIsTTY: boolean;
  /** asks on the terminal; resolves to the answer */
  ask: (question: string) => Promise<string>;
  fetchHostKey: CloudContext['fetchHostKey'];
  sshAnswers: CloudContext['sshAnswers'];
  timeouts: CloudContext['timeouts'];
  /** API retry tuning (attempts, backoff base) */
  api: { maxAttempts?: number; backoffBaseMs?: number; maxRateLimitWaitMs?: number };
}

const defaultDeps = (): CloudDeps => ({
  env: process.env,
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  clock: realClock,
  stdinIsTTY: Boolean(process.stdin.isTTY),
  ask: async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return await rl.question(question);
    } finally {
      rl.close();
    }
  },
  fetchHostKey: (address, port) => fetchHostKey(address, port),
  sshAnswers: (address, port) => sshAnswers(address, port),
  timeouts: DEFAULT_TIMEOUTS,
  api: {},
});

interface UpCliOptions extends CommonOptions {
  lb?: string;
  web?: string;
  region?: string;
  size?: string;
  image?: string;
  sshKey?: string;
  sshPort?: string;
  inventory?: string;
}

interface DownCliOptions extends CommonOptions {
  yes?: boolean;
}

/**
 * `bootstrap cloud up|down|status`. Failures are thrown as errors carrying `exitCode`
 * (ExitCode.INVALID_INPUT for bad options or a missing token, ExitCode.TASK_FAILED for API failures).
 */
export function cloudCommand(overrides: Partial<CloudDeps> = {}): Command {
  const deps: CloudDeps = { ...defaultDeps(), ...overrides };
  const cloud = new Command('cloud').description('throw-away test environments on a cloud provider (Digital Ocean)');

  const common = (cmd: Command): Command =>
    cmd
      .option('--provider <name>', 'cloud provider (only digitalocean)', 'digitalocean')
      .option('--name <env>', 'environment name: letters, digits and "-" (compared without regard to case, like tags)')
      .option('--output <format>', 'text or json', 'text')
      .option('--token-file <path>', 'file holding the API token (mode 600); default: $DIGITALOCEAN_TOKEN')
      .option('--api-url <url>', 'API base URL', 'https://api.digitalocean.com')
      .option('--dry-run', 'print the API calls that would change something, change nothing');

  common(cloud.command('up').description('create (or complete) an environment and write its inventory'))
    .option('--lb <n>', 'load balancer droplets', '1')
    .option('--web <n>', 'web droplets', '2')
    .option('--region <slug>', 'region', 'fra1')
    .option('--size <slug>', 'droplet size', 's-1vcpu-1gb')
    .option('--image <slug>', 'droplet image', 'debian-12-x64')
    .option('--ssh-key <path>', 'SSH public key to install for root', '~/.ssh/id_ed25519.pub')
    .option('--ssh-port <port>', 'port sshd answers on', '22')
    .option('--inventory <path>', 'where to write the inventory (default ./inventory/ENV.yaml)')
    .action(namingScopes('up', async (opts: UpCliOptions) => {
      const common = await commonSetup(opts, deps);
      const spec = {
        env: common.env,
        region: validSlug('--region', opts.region, 'fra1', /^[a-z]{3}[0-9]$/, 'a region slug like fra1'),
        size: validSlug('--size', opts.size, 's-1vcpu-1gb', /^[a-z0-9-]{1,64}$/, 'a size slug like s-1vcpu-1gb'),
        image: validSlug('--image', opts.image, 'debian-12-x64', /^[a-z0-9][a-z0-9.-]{0,63}$/, 'an image slug like debian-12-x64'),
        counts: { lb: validCount('--lb', opts.lb, 1, 1, 10), web: validCount('--web', opts.web, 2, 0, 50) },
      };
      const sshPort = validCount('--ssh-port', opts.sshPort, 22, 1, 65535);
      const keyPath = expandHome(opts.sshKey ?? '~/.ssh/id_ed25519.pub');
      const key = await readPublicKey(keyPath);
      const privateKey = keyPath.endsWith('.pub') && existsSync(keyPath.slice(0, -4)) ? keyPath.slice(0, -4) : undefined;
      const inventoryPath = opts.inventory ?? `./inventory/${common.env}.yaml`;
      const result = await cloudUp({ ...common.ctx, sshPort }, { spec, key, dryRun: common.dryRun, inventoryPath, privateKey });
      common.print(common.output === 'json' ? JSON.stringify(result, null, 2) + '\n' : formatUp(spec, result));
    }));

  common(cloud.command('down').description('destroy the droplets and VPC of an environment (found by tag)'))
    .option('--yes', 'do not ask for confirmation')
    .action(namingScopes('down', async (opts: DownCliOptions) => {
      const common = await commonSetup(opts, deps);
      const state = await readDownState(common.ctx, common.env);
      if (common.dryRun) {
        const requests = downRequests(common.ctx, state);
        common.print(common.output === 'json' ? JSON.stringify({ dryRun: true, requests }, null, 2) + '\n' : formatDownPlan(common.env, state, requests));
        return;
      }
      if (hasDeletable(state) && !opts.yes) {
        if (!deps.stdinIsTTY) {
          throw new CloudInputError(`refusing to destroy environment ${common.env} without confirmation: stdin is not a terminal; pass --yes`);
        }
        deps.stderr(formatDownPlan(common.env, state, []));
        const answer = await deps.ask(`Type the environment name (${common.env}) to destroy it: `);
        if (answer.trim() !== common.env) throw new CloudInputError(`not confirmed: nothing was destroyed`);
      }
      const result = await cloudDown(common.ctx, common.env, state);
      common.print(common.output === 'json' ? JSON.stringify(result, null, 2) + '\n' : formatDown(common.env, result));
      const blocking = result.left.filter((l) => l.blocking);
      if (blocking.length > 0) {
        throw new CloudApiError(`down left ${blocking.length} resource${blocking.length > 1 ? 's' : ''} of ${common.env}: ${blocking.map((l) => `${l.kind} ${l.name}: ${l.reason}`).join('; ')}`);
      }
    }));

  common(cloud.command('status').description('droplets of an environment and their estimated hourly cost')).action(
    namingScopes('status', async (opts: CommonOptions) => {
      const common = await commonSetup(opts, deps);
      const result = await cloudStatus(common.ctx, common.env);
      common.print(common.output === 'json' ? JSON.stringify(result, null, 2) + '\n' : formatStatus(result));
    }),
  );

  return cloud;
}

/** A 403 stops the command at once; the error then also lists every scope the command needs. */
function namingScopes<T>(command: keyof typeof COMMAND_SCOPES, action: (opts: T) => Promise<void>): (opts: T) => Promise<void> {
  return async (opts) => {
    try {
      await action(opts);
    } catch (err) {
      if (!(err instanceof CloudApiError) || err.status !== 403) throw err;
      throw new CloudApiError(`${err.message}. bootstrap cloud ${command} needs the scopes ${COMMAND_SCOPES[command].join(', ')}`, 403, err.id, err.apiMessage, err.requestId, false, err.scopes);
    }
  };
}

async function commonSetup(opts: CommonOptions, deps: CloudDeps) {
  validProvider(opts.provider);
  const env = validEnvName(opts.name);
  const output = validOutput(opts.output);
  const apiUrl = validApiUrl(opts.apiUrl);
  const token = await readToken(opts.tokenFile, deps.env);
  const note = (line: string): void => deps.stderr(redact(`${line}\n`, token));
  const api = new DoApi({ baseUrl: apiUrl, token, clock: deps.clock, onNote: note, ...deps.api });
  const ctx: CloudContext = {
    provider: new DigitalOcean(api),
    clock: deps.clock,
    note,
    sshPort: 22,
    fetchHostKey: deps.fetchHostKey,
    sshAnswers: deps.sshAnswers,
    timeouts: deps.timeouts,
  };
  return { env, output, dryRun: Boolean(opts.dryRun), ctx, print: (text: string) => deps.stdout(redact(text, token)) };
}
