/**
 * The task walk's memo for one run: each task is expanded once per host, and offline
 * validation, the speculative facts of the first round trip, the play's prefetch and the task
 * itself share that expansion, as long as it would come out the same.
 *
 * An expansion is a function of the scope names its `loop`, `when` and parameters look up.
 * Every lookup is seen (a Proxy over the scope: `with` asks `has` for each free name, present
 * or not, and EJS's `locals.x` is a `get`), and the entry keeps the value each name had. It is
 * reused only while every one of those names still holds the identical value (or is still
 * absent). What differs between validation and the run, or changes during the run, therefore
 * expands again, and only for the tasks that read it:
 *   - `facts`: placeholders offline, undefined before the connection, the host's once gathered;
 *   - `secret` and `artifacts`: stand-ins offline, the real ones in the run;
 *   - registered values: unproduced offline (such expansions throw and are not kept), then a new
 *     object each time their task runs, so a task reading `result` expands after each change of it.
 * The inventory's and play's vars are merged once per host and play (playbook/scope.ts), so they
 * compare equal. Task facts (what a module's facts() gather, cached in the host session until a
 * change) are not part of an expansion: planning reads them afresh. A reused expansion gets the
 * current scope and module context (facts, template rendering) bound again, so planning and
 * templates always see the run's real values. A scope enumerated as a whole (Object.keys(locals),
 * a spread) makes the expansion depend on everything: it is not kept.
 */
import { getModule } from '../modules/index.js';
import type { Module } from '../modules/types.js';
import { contextOf, expandTask, itemScopeOf, playScope, type HostPlay, type ScopeWatch, type TaskInstance } from './expand.js';
import type { Task } from './types.js';

interface Entry {
  instances: TaskInstance[];
  modules: (name: string) => Module | undefined;
  /** each name looked up, and its value then (absent: not in the scope) */
  read: Map<string, { present: boolean; value: unknown }>;
}

const ABSENT = { present: false, value: undefined };

/**
 * An expansion as another process can take it over (cli/load-cache.ts keeps validation's): the
 * task and the values it read, in one structured clone with the inventory and plays they came
 * from, so a value that is the same object there is the same object again after the clone.
 */
export interface KeptExpansion {
  task: Task;
  host: string;
  read: Array<[string, { present: boolean; value: unknown }]>;
  instances: Array<{ module: string; item?: unknown; label: string; skipped?: string; params: Record<string, unknown>; loopVars: Record<string, unknown> }>;
}

export class Expansions {
  private readonly entries = new Map<Task, Map<string, Entry>>();
  /** expansions done and reused, for tests and the benchmark */
  readonly counts = { expanded: 0, reused: 0 };

  /** The expansions made with the default modules whose reads and results are plain data and had no errors (see KeptExpansion). */
  kept(): KeptExpansion[] {
    const out: KeptExpansion[] = [];
    for (const [task, byHost] of this.entries) {
      for (const [host, entry] of byHost) {
        if (entry.modules !== getModule || entry.instances.some((i) => i.errors.length > 0)) continue;
        const instances = entry.instances.map((i) => ({ module: i.module.name, item: i.item, label: i.label, ...(i.skipped !== undefined ? { skipped: i.skipped } : {}), params: i.params, loopVars: i.loopVars }));
        const read = [...entry.read];
        if (!plain(instances) || !plain(read.map(([, r]) => r.value))) continue;
        out.push({ task, host, read, instances });
      }
    }
    return out;
  }

  /** Takes over expansions another process kept; each is reused only while what it read holds, as any other. */
  adopt(kept: readonly KeptExpansion[]): void {
    for (const { task, host, read, instances } of kept) {
      const restored = instances.map((i): TaskInstance | undefined => {
        const module = getModule(i.module);
        // scope and ctx are bound afresh whenever an entry is reused (expand)
        return module && { task, module, item: i.item, label: i.label, ...(i.skipped !== undefined ? { skipped: i.skipped } : {}), params: i.params, loopVars: i.loopVars, scope: {}, ctx: undefined as never, errors: [] };
      });
      if (restored.some((i) => i === undefined)) continue;
      let byHost = this.entries.get(task);
      if (!byHost) this.entries.set(task, (byHost = new Map()));
      byHost.set(host, { instances: restored as TaskInstance[], modules: getModule, read: new Map(read) });
    }
  }

  /** `task`'s instances on hp's host, as expandTask gives them (and throws), expanded again only when what it read changed. */
  expand(task: Task, hp: HostPlay): TaskInstance[] {
    const scope = playScope(hp, task);
    const modules = hp.modules ?? getModule;
    let byHost = this.entries.get(task);
    const entry = byHost?.get(hp.host);
    if (entry && entry.modules === modules && stillHolds(entry.read, scope)) {
      this.counts.reused++;
      return entry.instances.map((i) => {
        const itemScope = itemScopeOf(scope, i.loopVars);
        return { ...i, scope: itemScope, ctx: contextOf(hp, itemScope, task, i.params.src) };
      });
    }
    const watch = new Watch();
    this.counts.expanded++;
    const instances = expandTask(task, hp, scope, watch);
    if (watch.everything) {
      byHost?.delete(hp.host);
      return instances;
    }
    const read = new Map([...watch.names].map((name) => [name, name in scope ? { present: true, value: scope[name] } : ABSENT]));
    if (!byHost) this.entries.set(task, (byHost = new Map()));
    byHost.set(hp.host, { instances, modules, read });
    return instances;
  }
}

/** Values a structured clone keeps as they are: primitives, plain objects and arrays of them (no functions, no class instances). */
function plain(value: unknown, seen = new Set<object>()): boolean {
  if (value === null || value === undefined) return true;
  const type = typeof value;
  if (type === 'string' || type === 'number' || type === 'boolean' || type === 'bigint') return true;
  if (type !== 'object') return false;
  const object = value as object;
  if (seen.has(object)) return true;
  seen.add(object);
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) return false;
  return Object.values(object).every((v) => plain(v, seen));
}

function stillHolds(read: Entry['read'], scope: Record<string, unknown>): boolean {
  for (const [name, then] of read) {
    const present = name in scope;
    if (present !== then.present || (present && !Object.is(scope[name], then.value))) return false;
  }
  return true;
}

class Watch implements ScopeWatch {
  readonly names = new Set<string>();
  everything = false;

  view(scope: Record<string, unknown>, except?: string): Record<string, unknown> {
    const see = (key: string | symbol) => {
      if (typeof key === 'string' && key !== except) this.names.add(key);
    };
    return new Proxy(scope, {
      has: (target, key) => {
        see(key);
        return key in target;
      },
      get: (target, key) => {
        see(key);
        return Reflect.get(target, key);
      },
      getOwnPropertyDescriptor: (target, key) => {
        see(key);
        return Reflect.getOwnPropertyDescriptor(target, key);
      },
      ownKeys: (target) => {
        this.everything = true;
        return Reflect.ownKeys(target);
      },
    });
  }
}
