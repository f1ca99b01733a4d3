import type { SshOptions } from '../../host/connect.js';
import { connector } from '../../host/connect.js';
import { buildLaptopArtifacts } from '../../artifacts/laptop.js';
import { loadInventoryWith, loadRun, type RunSelection } from '../load-run.js';
import { cachedLoad } from '../load-cache.js';
import { defaultPlaybook } from '../../paths.js';
import { RunEvents } from '../../runner/events.js';
import { Redactor } from '../../secrets/redactor.js';
import { redactEvent } from '../../runner/redact.js';
import { runPlays } from '../../runner/run.js';
import { Interrupt } from '../../runner/interrupt.js';
import type { RunOutcome } from '../../runner/run.js';
import { createConsulPki } from '../../stack/consul-pki.js';
import { createSecretStore } from '../../secrets/store.js';
import { attachJson } from '../../ui/json.js';
import { attachPlain } from '../../ui/plain.js';
import { taskFilter } from '../../playbook/expand.js';
import { Expansions } from '../../playbook/expansions.js';

export interface ApplyOptions extends SshOptions, RunSelection {
  playbook?: string[];
  forks: number;
  output: 'text' | 'json';
  /** -v given this many times: 1 shows reasons in full and timings; any count is debug's verbosity */
  verbose?: number;
  check?: boolean;
  diff?: boolean;
  forceHandlers?: boolean;
  commandTimeout?: number;
  lockTimeout?: number;
}

/** `bootstrap apply`: validate offline, then run the playbooks with the chosen UI attached. */
/** `redactor` is the process's (src/cli/main.ts): every secret() value this run hands out joins it. */
export async function apply(inventoryFile: string, opts: ApplyOptions, redactor: Redactor = new Redactor()): Promise<RunOutcome> {
  const expansions = new Expansions();
  const playbooks = opts.playbook ?? [defaultPlaybook];
  const { loaded, cache } = cachedLoad(inventoryFile, playbooks, opts, () => loadRun(inventoryFile, playbooks, opts, { expansions }), () => loadInventoryWith(inventoryFile, opts.extraVars), expansions);
  const { inventory, plays, hosts } = loaded;
  const artifacts = await buildLaptopArtifacts(inventory, hosts);
  const events = new RunEvents((e) => redactEvent(redactor, e));
  const uiOpts = { diff: Boolean(opts.diff), verbose: Boolean(opts.verbose) };
  let uiDone: Promise<void> = Promise.resolve();
  if (opts.output === 'json') attachJson(events, uiOpts);
  else if (process.stdout.isTTY && !process.env.CI) uiDone = (await import('../../ui/listr.js')).attachListr(events, uiOpts);
  else attachPlain(events, uiOpts);
  const secrets = createSecretStore(inventory.dir);
  const consulPki = createConsulPki(secrets.dir, { conceal: (value) => void redactor.add(value) });
  // from here on SIGINT/SIGTERM stop the run (runner/interrupt.ts) instead of killing the process
  const interrupt = new Interrupt();
  const onSignal = (signal: NodeJS.Signals) => interrupt.signal(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const outcome = await runPlays(
    inventory,
    plays,
    {
      check: Boolean(opts.check),
      diff: Boolean(opts.diff),
      verbosity: opts.verbose ?? 0,
      limit: opts.limit,
      selected: taskFilter(plays, opts),
      forks: opts.forks,
      expansions,
      loadNote: cache.note,
      forceHandlers: Boolean(opts.forceHandlers),
      commandTimeout: opts.commandTimeout,
      connect: connector(inventory, opts),
      scopeExtra: { artifacts, secret: (name: string, kind: 'gossip' | 'uuid') => redactor.add(secrets.get(name, kind)), consul_pki: consulPki },
      conceal: (value) => void redactor.add(value),
      interrupt,
      lockTimeout: opts.lockTimeout,
    },
    events,
  ).finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
  await uiDone;
  return outcome;
}
