import { ConfigError, type SourcePos } from '../errors.js';

/** Where an expression or template string is written, and for which host it is evaluated. */
export interface Where {
  pos: SourcePos;
  keyPath: string;
  host?: string;
}

/**
 * Thrown when an expression or template reads a registered value that does not exist in this run:
 * in check mode (the registering task only planned) and offline. The task is then reported as
 * "would run; depends on <task>" instead of being evaluated on made-up data.
 */
export class Unproduced extends Error {
  constructor(readonly task: string) {
    super(`depends on ${JSON.stringify(task)}, whose result check mode did not produce`);
  }
}

/** A registered value that was not produced: reading any property of it throws Unproduced. */
export function unproduced(task: string): Record<string, unknown> {
  return new Proxy({}, {
    get(_t, key) {
      if (typeof key === 'symbol') return undefined;
      throw new Unproduced(task);
    },
  });
}

type Compiled = (scope: Record<string, unknown>) => unknown;
const compiled = new Map<string, Compiled>();

function compile(expr: string): Compiled {
  let fn = compiled.get(expr);
  if (!fn) {
    // sloppy-mode Function so `with` puts the scope's names in view; the newline keeps a trailing // comment harmless
    fn = new Function('__scope', `with (__scope) { return (\n${expr}\n); }`) as Compiled;
    compiled.set(expr, fn);
  }
  return fn;
}

/** The syntax error of a when/loop expression, or undefined when it compiles. */
export function expressionSyntaxError(expr: string): string | undefined {
  if (expr.trim() === '') return 'empty expression';
  try {
    compile(expr);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export function forHost(where: Where): string {
  return where.host ? ` (for host ${where.host})` : '';
}

/** Evaluates a when/loop expression with the scope's names in view. Undefined names and runtime errors become ConfigErrors at `where`. */
export function evaluate(expr: string, scope: Record<string, unknown>, where: Where): unknown {
  let fn: Compiled;
  try {
    fn = compile(expr);
  } catch (err) {
    throw new ConfigError(where.pos, where.keyPath, `invalid expression ${JSON.stringify(expr)}: ${(err as Error).message}${forHost(where)}`);
  }
  try {
    return fn(scope);
  } catch (err) {
    if (err instanceof Unproduced) throw err;
    throw new ConfigError(where.pos, where.keyPath, `${describeEvalError(err)} in expression ${JSON.stringify(expr)}${forHost(where)}`);
  }
}

/** "undefined variable `foo`" for ReferenceErrors, else the error's own message. */
export function describeEvalError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const undefinedName = err instanceof ReferenceError ? /^(\S+) is not defined/.exec(message) : null;
  if (undefinedName) return `undefined variable \`${undefinedName[1]}\``;
  return message;
}
