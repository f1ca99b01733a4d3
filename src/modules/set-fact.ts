import { RESERVED_VAR_NAMES } from '../inventory/vars-schema.js';
import type { Module } from './types.js';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** The variables of a set_fact task: every parameter but `cacheable`. */
export const setFactVariables = (p: Record<string, unknown>) => Object.fromEntries(Object.entries(p).filter(([k]) => k !== 'cacheable'));

/**
 * As Ansible's set_fact: every parameter is a variable (EJS rendered, one `<%= expr %>` keeps its
 * type) set for the host's later tasks and plays, over its inventory and play variables.
 * `cacheable` is taken and changes nothing: Ansible also copies the variable into its fact cache,
 * and bootstrap keeps no fact cache between runs, so within the run it is the same variable.
 */
export const setFactModule: Module<Record<string, unknown>> = {
  name: 'set_fact',
  params: {
    cacheable: { type: 'boolean', default: false, description: "accepted for Ansible: bootstrap keeps no fact cache between runs, so the variables are set for the run exactly as with false" },
  },
  additionalParams: { type: 'any' },
  validate(params) {
    const p = setFactVariables(params);
    if (Object.keys(p).length === 0) return [['', 'give at least one variable: set_fact: { name: value }']];
    return Object.keys(p).flatMap((name): Array<[string, string]> => {
      if (!IDENTIFIER.test(name)) return [[name, `a variable name must be a JavaScript identifier, got ${JSON.stringify(name)}`]];
      if ((RESERVED_VAR_NAMES as readonly string[]).includes(name)) return [[name, `\`${name}\` is a reserved name in templates and expressions`]];
      return [];
    });
  },
  facts: () => [],
  plan(params) {
    const p = setFactVariables(params);
    return { changes: [], reason: `set ${Object.keys(p).join(', ')}`, vars: p, result: { ansible_facts: p } };
  },
};
