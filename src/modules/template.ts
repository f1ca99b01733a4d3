import { fileFact } from '../facts/file.js';
import { leftoversFact } from '../facts/leftovers.js';
import { absolutePathParam, groupParam, modeParam, ownerParam, sensitiveParam, validateParam } from './params.js';
import type { Module } from './types.js';
import { planFileWrite, withLeftoverRemoval } from './write-file.js';

export type TemplateParams = {
  src: string;
  dest: string;
  mode?: string;
  owner?: string;
  group?: string;
  sensitive?: boolean;
  validate?: string;
  vars?: Record<string, unknown>;
};

export const templateModule: Module<TemplateParams> = {
  name: 'template',
  params: {
    src: { type: 'string', required: true, description: 'EJS template (relative paths resolve from templates/)' },
    dest: absolutePathParam('where the rendered file goes on the host'),
    mode: modeParam,
    owner: ownerParam,
    group: groupParam,
    sensitive: sensitiveParam,
    validate: validateParam,
    vars: { type: 'map', fields: {}, additional: { type: 'any' }, description: 'extra variables for this render' },
  },
  facts: (p, ctx) => [fileFact(p.dest), leftoversFact(p.dest, ctx)],
  plan(p, read, ctx) {
    const content = ctx.renderTemplate(p.src, p.vars);
    const changes = planFileWrite(
      { path: p.dest, content, mode: p.mode, owner: p.owner, group: p.group, validate: p.validate, sensitive: p.sensitive, runId: ctx.runId },
      read(fileFact(p.dest)),
    );
    return withLeftoverRemoval(changes.length ? { changes } : { changes, reason: `${p.dest} up to date` }, p.dest, read(leftoversFact(p.dest, ctx)));
  },
};
