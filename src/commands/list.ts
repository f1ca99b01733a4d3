import { selectHosts } from '../inventory/pattern.js';
import type { Inventory } from '../inventory/types.js';
import { loadRun, type RunSelection } from '../load.js';
import type { Play } from '../playbook/types.js';
import { taskFilter } from '../playbook/expand.js';
import type { Redactor } from '../runner/redact.js';

export interface ListOptions extends RunSelection {
  playbook: string[];
  output: 'text' | 'json';
}

interface ListedPlay {
  play: string;
  hosts: string[];
  tasks: Array<{ name: string; tags: string[]; file: string; line?: number }>;
}

/** What `--list-hosts` / `--list-tasks` show: per play, the hosts it would run on and the tasks it would work through. Never connects. */
export function listRun(inventory: Inventory, plays: Play[], sel: RunSelection): ListedPlay[] {
  const limited = sel.limit ? new Set(selectHosts(inventory, sel.limit)) : undefined;
  const selected = taskFilter(plays, sel);
  return plays.map((play) => ({
    play: play.name,
    hosts: selectHosts(inventory, play.hosts).filter((h) => !limited || limited.has(h)),
    tasks: play.tasks.filter(selected).map((t) => ({ name: t.name, tags: t.tags, file: t.pos.file, line: t.pos.line })),
  }));
}

/** `bootstrap INVENTORY --list-hosts` / `--list-tasks`: validate offline, then print; nothing is contacted. */
export function listCommand(inventoryFile: string, opts: ListOptions, what: { hosts: boolean; tasks: boolean }, redactor: Redactor): void {
  const print = (text: string) => console.log(redactor.text(text));
  const { inventory, plays } = loadRun(inventoryFile, opts.playbook, opts);
  const listed = listRun(inventory, plays, opts);
  if (opts.output === 'json') {
    const shown = listed.map((p) => ({ play: p.play, ...(what.hosts ? { hosts: p.hosts } : {}), ...(what.tasks ? { tasks: p.tasks } : {}) }));
    print(JSON.stringify(shown, null, 2));
    return;
  }
  for (const p of listed) {
    print(`play ${JSON.stringify(p.play)}`);
    if (what.hosts) print(`  hosts (${p.hosts.length}): ${p.hosts.join(', ')}`);
    if (what.tasks) {
      print(`  tasks (${p.tasks.length}):`);
      for (const t of p.tasks) print(`    ${t.name}${t.tags.length ? `  [${t.tags.join(', ')}]` : ''}`);
    }
  }
}
