import type { Module } from './types.js';

export type DebugParams = { msg?: unknown; var?: string; verbosity?: number };

/**
 * As Ansible's debug: shows `msg` (default "Hello world!") or the value of the expression `var`;
 * changes nothing. Below its `verbosity` (the run's -v count) it is skipped, as Ansible skips it.
 */
export const debugModule: Module<DebugParams> = {
  name: 'debug',
  params: {
    msg: { type: 'any', description: 'what to show (EJS; a list or map shows as JSON)' },
    var: { type: 'string', description: 'a JavaScript expression whose value to show' },
    verbosity: { type: 'integer', default: 0, description: 'shown only when the run has at least this many -v (3: -vvv); skipped otherwise' },
  },
  validate: (p) => (p.msg !== undefined && p.var !== undefined ? [['var', 'give one of msg or var']] : []),
  facts: () => [],
  plan(p, _read, ctx) {
    const verbosity = p.verbosity ?? 0;
    if (verbosity > (ctx.verbosity ?? 0)) return { changes: [], skipped: true, reason: `Verbosity threshold not met: verbosity ${verbosity}, the run's -v count is ${ctx.verbosity ?? 0}` };
    if (p.var !== undefined) {
      const value = ctx.evaluate(p.var);
      return { changes: [], reason: `${p.var}: ${JSON.stringify(value)}`, result: { [p.var]: value } };
    }
    const msg = p.msg ?? 'Hello world!';
    return { changes: [], reason: typeof msg === 'string' ? msg : JSON.stringify(msg), result: { msg } };
  },
};
