import type { Module } from './types.js';

export type AssertParams = { that: string | string[]; fail_msg?: string; success_msg?: string; quiet?: boolean };

/** As Ansible's assert: every expression of `that` (JavaScript) must hold, else the task fails with `fail_msg`. */
export const assertModule: Module<AssertParams> = {
  name: 'assert',
  params: {
    that: {
      type: 'oneOf',
      alternatives: [{ type: 'string' }, { type: 'list', items: { type: 'string' }, minItems: 1 }],
      hint: 'a JavaScript expression or a list of them',
      required: true,
    },
    fail_msg: { type: 'string', aliases: ['msg'], description: 'the failure message (default "Assertion failed")' },
    success_msg: { type: 'string', description: 'shown when every expression holds (default "All assertions passed")' },
    quiet: { type: 'boolean', default: false },
  },
  facts: () => [],
  plan(p, _read, ctx) {
    for (const expr of Array.isArray(p.that) ? p.that : [p.that]) {
      if (!ctx.evaluate(expr)) throw new Error(`${p.fail_msg ?? 'Assertion failed'} (false: ${expr})`);
    }
    const msg = p.success_msg ?? 'All assertions passed';
    return { changes: [], reason: msg, result: { msg } };
  },
};
