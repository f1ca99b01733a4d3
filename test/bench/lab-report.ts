/**
 * The arithmetic and the tables of bench:lab (lab.ts), apart from the lab so that they are
 * unit-tested: the first bootstrap split into node work and the tool's own time, and the
 * container timings of both load balancers side by side.
 */

/** What a task's time on a node was spent on, by its module. */
export type Kind = 'apt' | 'downloads' | 'image loads' | 'waits' | 'other changes';
export const KINDS: Kind[] = ['apt', 'downloads', 'image loads', 'waits', 'other changes'];

export function kindOf(module: string | undefined): Kind {
  if (module === 'package' || module === 'apt_repository' || module === 'deb822_repository') return 'apt';
  if (module === 'binary' || module === 'get_url' || module === 'unarchive') return 'downloads';
  if (module === 'docker_image') return 'image loads';
  if (module === 'wait_for') return 'waits';
  return 'other changes';
}

/** The runner events the split reads (--output json lines). */
export interface ResultEvent {
  type: string;
  play?: string;
  task?: string;
  host?: string;
  status?: string;
  ms?: number;
}

export interface FirstRunSplit {
  wall: number;
  /** node work summed over plays: each play's busiest host (its critical path) */
  nodeWork: number;
  byKind: Record<Kind, number>;
  /** wall minus node work: start-up, validation, connections, facts, planning, tasks that changed nothing */
  tool: number;
  /** every task that changed nothing and waited for nothing, summed over hosts (runs in parallel with others) */
  unchanged: number;
}

/**
 * Node work is what the node itself spends time on: changed tasks (apt installs, downloads, image
 * loads, restarts and writes) and waits (wait_for, and tasks retried with until), whatever their
 * status. Plays run one after another and a play's hosts in parallel, so per play the host with
 * the most node work sets it. The rest of the wall time is the tool's own.
 */
export function splitFirstRun(wall: number, events: readonly ResultEvent[], moduleOf: (play: string, task: string) => string | undefined): FirstRunSplit {
  const retried = new Set(events.filter((e) => e.type === 'task:retry').map((e) => `${e.play}\0${e.task}\0${e.host}`));
  const work = new Map<string, Map<string, Map<Kind, number>>>();
  let unchanged = 0;
  for (const e of events) {
    if (e.type !== 'task:result' || e.play === undefined || e.task === undefined || e.host === undefined) continue;
    const ms = e.ms ?? 0;
    const moduleKind = kindOf(moduleOf(e.play, e.task));
    const waited = moduleKind === 'waits' || retried.has(`${e.play}\0${e.task}\0${e.host}`);
    if (e.status !== 'changed' && !waited) {
      unchanged += ms;
      continue;
    }
    const kind: Kind = waited ? 'waits' : moduleKind;
    const byHost = work.get(e.play) ?? new Map<string, Map<Kind, number>>();
    work.set(e.play, byHost);
    const kinds = byHost.get(e.host) ?? new Map<Kind, number>();
    byHost.set(e.host, kinds);
    kinds.set(kind, (kinds.get(kind) ?? 0) + ms);
  }
  const byKind = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
  const sum = (kinds: Map<Kind, number>) => [...kinds.values()].reduce((a, b) => a + b, 0);
  for (const byHost of work.values()) {
    const busiest = [...byHost.values()].sort((a, b) => sum(b) - sum(a))[0]!;
    for (const [kind, value] of busiest) byKind[kind] += value;
  }
  const nodeWork = KINDS.reduce((total, k) => total + byKind[k], 0);
  return { wall, nodeWork, byKind, tool: wall - nodeWork, unchanged };
}

export function formatSplit(split: FirstRunSplit): string[] {
  const pct = (x: number) => `${((100 * x) / split.wall).toFixed(0)}%`;
  const ms = (x: number) => `${x.toFixed(0)}ms (${pct(x)})`;
  return [
    `  node work on each play's busiest host: ${ms(split.nodeWork)}`,
    ...KINDS.map((kind) => `    ${kind.padEnd(14)} ${ms(split.byKind[kind])}`),
    `  the tool's own (the rest of the wall time: start-up, validation, connections, facts, planning): ${ms(split.tool)}; tasks that changed nothing took ${split.unchanged.toFixed(0)}ms summed over hosts`,
  ];
}

export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** "412ms (min 380, max 530)" */
export function medianText(xs: readonly number[]): string {
  if (xs.length === 0) return '-';
  const sorted = [...xs].sort((a, b) => a - b);
  return `${median(xs).toFixed(0)}ms (min ${sorted[0]!.toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)})`;
}

/** One series of containers on one LB: docker run -> serving, docker kill -> out, per container. */
export interface SeriesResult {
  lb: string;
  series: string;
  serving: number[];
  out: number[];
}

/** Both LBs in columns, a row per series and direction, medians with min and max. */
export function sideBySide(results: readonly SeriesResult[]): string[] {
  const lbs = [...new Set(results.map((r) => r.lb))];
  const series = [...new Set(results.map((r) => r.series))];
  const rows: string[][] = [];
  for (const s of series) {
    for (const [label, pick] of [['docker run -> serving', (r: SeriesResult) => r.serving], ['docker kill -> out', (r: SeriesResult) => r.out]] as const) {
      rows.push([`${label}, ${s}`, ...lbs.map((lb) => {
        const found = results.find((r) => r.lb === lb && r.series === s);
        return found ? `${medianText(pick(found))} n=${pick(found).length}` : '-';
      })]);
    }
  }
  const header = ['', ...lbs];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
}
