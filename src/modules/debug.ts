import type { Module } from './types.js';

export type DebugParams = { msg?: unknown; var?: string };

/** As Ansible's debug: shows `msg` (default "Hello world!") or the value of the expression `var`; changes nothing. */
export const debugModule: Module<DebugParams> = {
  name: 'debug',
  params: {
    msg: { type: 'any', description: 'what to show (EJS; a list or map shows as JSON)' },
    var: { type: 'string', description: 'a JavaScript expression whose value to show' },
  },
  validate: (p) => (p.msg !== undefined && p.var !== undefined ? [['var', 'give one of msg or var']] : []),
  facts: () => [],
  plan(p, _read, ctx) {
    if (p.var !== undefined) {
      const value = ctx.evaluate(p.var);
      return { changes: [], reason: `${p.var}: ${JSON.stringify(value)}`, result: { [p.var]: value } };
    }
    const msg = p.msg ?? 'Hello world!';
    return { changes: [], reason: typeof msg === 'string' ? msg : JSON.stringify(msg), result: { msg } };
  },
};
