import type { Module } from './types.js';

/** As Ansible's fail: the task fails with `msg`, usually under a `when`. */
export const failModule: Module<{ msg?: string }> = {
  name: 'fail',
  params: { msg: { type: 'string', description: 'the failure message (default "Failed as requested from task")' } },
  facts: () => [],
  plan(p) {
    throw new Error(p.msg ?? 'Failed as requested from task');
  },
};
