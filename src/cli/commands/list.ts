import { selectHosts } from '../../inventory/pattern.js';
import type { Inventory } from '../../inventory/types.js';
import { loadRun, type RunSelection } from '../load-run.js';
import type { Play } from '../../playbook/types.js';
import { taskFilter } from '../../playbook/expand.js';
import { evaluate } from '../../playbook/expression.js';
import { hostScope } from '../../playbook/scope.js';
import type { Redactor } from '../../secrets/redactor.js';

export interface ListOptions extends RunSelection {
  playbook: string[];
  output: 'text' | 'json';
}

interface ListedPlay {
  play: string;
  /** the hosts the play runs on: its pattern, --limit, and its import_playbook `when` where it can be decided here */
  hosts: string[];
  tasks: Array<{ name: string; tags: string[]; file: string; line?: number }>;
  /** the play's import_playbook `when`, if any */
  when?: string;
  /** hosts of the pattern the `when` leaves out */
  skippedOn?: string[];
  /** hosts where the `when` reads what only the host can tell (facts, registered results): decided when the play runs */
  decidedOnHost?: string[];
}

/**
 * The import_playbook conditions of a play on one host, as far as the inventory decides them:
 * false when one is false, undefined when one needs the host's facts or a registered result
 * (there are none here), else true.
 */
function importCondition(inventory: Inventory, play: Play, host: string, conditions: string[]): boolean | undefined {
  let known = true;
  for (const when of conditions) {
    try {
      if (!evaluate(when, hostScope(inventory, host, undefined, play.vars), { pos: play.pos, keyPath: 'import_playbook.when', host })) return false;
    } catch {
      known = false;
    }
  }
  return known ? true : undefined;
}

/** What `--list-hosts` / `--list-tasks` show: per play, the hosts it would run on and the tasks it would work through. Never connects. */
export function listRun(inventory: Inventory, plays: Play[], sel: RunSelection): ListedPlay[] {
  const limited = sel.limit ? new Set(selectHosts(inventory, sel.limit)) : undefined;
  const selected = taskFilter(plays, sel);
  return plays.map((play) => {
    const matched = selectHosts(inventory, play.hosts).filter((h) => !limited || limited.has(h));
    const listed: ListedPlay = { play: play.name, hosts: matched, tasks: [] };
    if (play.importWhen?.length) {
      const when = play.importWhen.length === 1 ? play.importWhen[0]! : play.importWhen.map((c) => `(${c})`).join(' && ');
      const decided = new Map(matched.map((h) => [h, importCondition(inventory, play, h, play.importWhen!)]));
      Object.assign(listed, {
        when,
        hosts: matched.filter((h) => decided.get(h) !== false),
        skippedOn: matched.filter((h) => decided.get(h) === false),
        decidedOnHost: matched.filter((h) => decided.get(h) === undefined),
      });
    }
    if (listed.hosts.length > 0) listed.tasks = play.tasks.filter((t) => selected(t) && !t.implicit).map((t) => ({ name: t.name, tags: t.tags, file: t.pos.file, line: t.pos.line }));
    return listed;
  });
}

/** The text line that says how a play's import_playbook `when` narrows it, if it has one. */
function conditionNote(p: ListedPlay): string | undefined {
  if (p.when === undefined) return undefined;
  const when = `when: ${p.when}`;
  if (p.hosts.length === 0) return `  not run: ${when} is false on ${p.skippedOn!.length === 1 ? p.skippedOn![0] : `every host (${p.skippedOn!.join(', ')})`}`;
  const notes = [
    ...(p.skippedOn!.length ? [`false on ${p.skippedOn!.join(', ')}`] : []),
    ...(p.decidedOnHost!.length ? [`decided on ${p.decidedOnHost!.join(', ')} when the play runs (it reads facts or registered results)`] : []),
  ];
  return notes.length ? `  ${when}: ${notes.join('; ')}` : `  ${when}: true on every host`;
}

/** `bootstrap INVENTORY --list-hosts` / `--list-tasks`: validate offline, then print; nothing is contacted. */
export function listCommand(inventoryFile: string, opts: ListOptions, what: { hosts: boolean; tasks: boolean }, redactor: Redactor): void {
  const print = (text: string) => console.log(redactor.text(text));
  const { inventory, plays } = loadRun(inventoryFile, opts.playbook, opts);
  const listed = listRun(inventory, plays, opts);
  if (opts.output === 'json') {
    const shown = listed.map(({ play, hosts, tasks, ...condition }) => ({ play, ...(what.hosts ? { hosts } : {}), ...(what.tasks ? { tasks } : {}), ...condition }));
    print(JSON.stringify(shown, null, 2));
    return;
  }
  for (const p of listed) {
    print(`play ${JSON.stringify(p.play)}`);
    const note = conditionNote(p);
    if (note) print(note);
    if (what.hosts) print(`  hosts (${p.hosts.length}): ${p.hosts.join(', ')}`);
    if (what.tasks) {
      print(`  tasks (${p.tasks.length}):`);
      for (const t of p.tasks) print(`    ${t.name}${t.tags.length ? `  [${t.tags.join(', ')}]` : ''}`);
    }
  }
}
