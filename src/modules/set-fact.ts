import { RESERVED_VAR_NAMES } from '../inventory/vars-schema.js';
import type { Module } from './types.js';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * As Ansible's set_fact: every parameter is a variable (EJS rendered, one `<%= expr %>` keeps its
 * type) set for the host's later tasks and plays, over its inventory and play variables.
 */
export const setFactModule: Module<Record<string, unknown>> = {
  name: 'set_fact',
  params: {},
  additionalParams: { type: 'any' },
  validate(p) {
    if (Object.keys(p).length === 0) return [['', 'give at least one variable: set_fact: { name: value }']];
    return Object.keys(p).flatMap((name): Array<[string, string]> => {
      if (!IDENTIFIER.test(name)) return [[name, `a variable name must be a JavaScript identifier, got ${JSON.stringify(name)}`]];
      if ((RESERVED_VAR_NAMES as readonly string[]).includes(name)) return [[name, `\`${name}\` is a reserved name in templates and expressions`]];
      return [];
    });
  },
  facts: () => [],
  plan: (p) => ({ changes: [], reason: `set ${Object.keys(p).join(', ')}`, vars: p, result: { ansible_facts: p } }),
};
