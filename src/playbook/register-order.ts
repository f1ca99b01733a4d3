import { ConfigError } from '../errors.js';
import { positionIn } from '../yaml/positions.js';
import { boundNames, type Play, type Task } from './types.js';

/** Names an expression reads as plain variables: identifiers not after a `.`, outside string literals. */
export function namesIn(expr: string): Set<string> {
  const code = expr.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`/g, '""');
  return new Set(code.match(/(?<![.\w$])[A-Za-z_$][\w$]*/g) ?? []);
}

/** The JavaScript inside the EJS tags of every string under `path`, with the key path of the string. */
function ejsCode(value: unknown, path: string, out: Array<[string, string]> = []): Array<[string, string]> {
  if (typeof value === 'string') for (const m of value.matchAll(/<%[=-]?([\s\S]*?)[-_]?%>/g)) out.push([path, m[1]!]);
  else if (Array.isArray(value)) value.forEach((v, i) => ejsCode(v, `${path}.${i}`, out));
  else if (value && typeof value === 'object') Object.entries(value).forEach(([k, v]) => ejsCode(v, `${path}.${k}`, out));
  return out;
}

/** The expressions of a task evaluated before it runs, by key, and those that see its own result. */
function expressions(task: Task): { before: Array<[string, string]>; after: Array<[string, string]> } {
  const before: Array<[string, string]> = [];
  if (task.when) before.push(['when', task.when]);
  if (task.loop) before.push(['loop', task.loop]);
  if (task.delegateTo) before.push(...ejsCode(task.delegateTo, 'delegate_to'));
  before.push(...ejsCode(task.params, task.module));
  const after: Array<[string, string]> = [];
  if (task.until) after.push(['until', task.until]);
  if (task.changedWhen) after.push(['changed_when', task.changedWhen]);
  if (task.failedWhen) after.push(['failed_when', task.failedWhen]);
  return { before, after };
}

/**
 * A `register` name read by a task that runs before the registering one (in the run's order of
 * plays and tasks) is an error: registered values exist only for the tasks after them. Handlers
 * run after the play's tasks, so they see every name registered in their play.
 */
export function checkRegisterOrder(plays: Play[]): ConfigError[] {
  const laterOf = new Map<string, Task>();
  const ordered = plays.flatMap((p) => [...p.tasks.map((t) => ({ task: t, play: p, handler: false })), ...p.handlers.map((t) => ({ task: t, play: p, handler: true }))]);
  for (const { task } of ordered) for (const name of boundNames(task)) if (!laterOf.has(name)) laterOf.set(name, task);
  const errors: ConfigError[] = [];
  const seen = new Set<string>();
  ordered.forEach(({ task, play, handler }, index) => {
    const visible = new Set(ordered.slice(0, index).flatMap((o) => boundNames(o.task)));
    if (handler) play.tasks.forEach((t) => boundNames(t).forEach((name) => visible.add(name)));
    const { before, after } = expressions(task);
    const check = (key: string, expr: string, own?: string) => {
      for (const name of namesIn(expr)) {
        const registering = laterOf.get(name);
        if (!registering || visible.has(name) || name === own) continue;
        const path = `${task.keyPath}.${key}`;
        const id = `${path}:${name}`;
        if (seen.has(id)) continue;
        seen.add(id);
        const pos = positionIn(task.pos.file, path, 'value', task.pos);
        const at = `${registering.pos.file === task.pos.file ? '' : `${registering.pos.file} `}${registering.keyPath}${registering.pos.line ? ` (line ${registering.pos.line})` : ''}`;
        errors.push(new ConfigError(pos, path, `\`${name}\` is used before it is registered: task ${JSON.stringify(registering.name)} at ${at} registers it later, and a registered value is only visible to the tasks after it`));
      }
    };
    for (const [key, expr] of before) check(key, expr);
    for (const [key, expr] of after) check(key, expr, task.register);
  });
  return errors;
}
