import { ConfigErrors, ExitCode } from '../../errors.js';
import { selectHosts } from '../../inventory/pattern.js';
import { loadRun, type RunSelection } from '../load-run.js';
import type { Redactor } from '../../secrets/redactor.js';

export interface ValidateOptions extends RunSelection {
  playbook: string[];
  output: 'text' | 'json';
  verbose: boolean;
}

/**
 * `bootstrap validate`: everything a run checks before it connects, and nothing else. Text: one
 * line (with -v, one more per play: its hosts and tasks). JSON: one object, also for problems
 * (`valid: false` and each problem's file, line, col, key path and detail; exit 2 either way).
 */
export function validateCommand(inventoryFile: string, opts: ValidateOptions, redactor: Redactor): number {
  const print = (text: string) => console.log(redactor.text(text));
  let loaded;
  try {
    loaded = loadRun(inventoryFile, opts.playbook, opts);
  } catch (error) {
    if (!(error instanceof ConfigErrors) || opts.output !== 'json') throw error;
    const problems = error.errors.map((e) => ({ file: e.pos.file, line: e.pos.line, col: e.pos.col, keyPath: e.keyPath || undefined, detail: e.detail, message: e.message }));
    print(JSON.stringify({ inventory: inventoryFile, valid: false, problems }, null, 2));
    return ExitCode.INVALID_INPUT;
  }
  const { inventory, plays, artifactNotes } = loaded;
  const limited = opts.limit ? new Set(selectHosts(inventory, opts.limit)) : undefined;
  const perPlay = plays.map((play) => ({
    play: play.name,
    file: play.file,
    hosts: selectHosts(inventory, play.hosts).filter((h) => !limited || limited.has(h)),
    tasks: play.tasks.length,
    handlers: play.handlers.length,
  }));
  const tasks = plays.reduce((n, p) => n + p.tasks.length + p.handlers.length, 0);
  if (opts.output === 'json') {
    const summary = { inventory: inventoryFile, valid: true, hosts: inventory.hosts.size, plays: plays.length, tasksAndHandlers: tasks, artifacts: artifactNotes };
    print(JSON.stringify(opts.verbose ? { ...summary, perPlay } : summary, null, 2));
    return ExitCode.OK;
  }
  print(`${inventoryFile}: valid (${inventory.hosts.size} hosts, ${plays.length} plays, ${tasks} tasks and handlers)`);
  if (opts.verbose) {
    for (const p of perPlay) print(`  play ${JSON.stringify(p.play)} (${p.file}): ${p.hosts.length} host${p.hosts.length === 1 ? '' : 's'} (${p.hosts.join(', ') || 'none'}), ${p.tasks} tasks, ${p.handlers} handlers`);
  }
  for (const note of artifactNotes) print(`built on this machine before connecting: ${note}`);
  return ExitCode.OK;
}
