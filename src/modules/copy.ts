import { fileFact } from '../facts/file.js';
import { leftoversFact } from '../facts/leftovers.js';
import { checkLocalFile, readLocalFile } from './local-file.js';
import { absolutePathParam, groupParam, modeParam, ownerParam, sensitiveParam, validateParam } from './params.js';
import type { Module } from './types.js';
import { planFileWrite, withLeftoverRemoval } from './write-file.js';

export type CopyParams = {
  dest: string;
  content?: string;
  src?: string;
  mode?: string;
  owner?: string;
  group?: string;
  sensitive?: boolean;
  validate?: string;
};

export const copyModule: Module<CopyParams> = {
  name: 'copy',
  params: {
    dest: absolutePathParam('where the file goes on the host'),
    content: { type: 'string', description: 'the file content' },
    src: { type: 'string', description: 'a local file (relative to the playbook or inventory dir)' },
    mode: modeParam,
    owner: ownerParam,
    group: groupParam,
    sensitive: sensitiveParam,
    validate: validateParam,
  },
  validate(p, ctx) {
    if ((p.content === undefined) === (p.src === undefined)) return [['content', 'give exactly one of content or src']];
    return checkLocalFile('src', p.src, ctx.localDir);
  },
  facts: (p, ctx) => [fileFact(p.dest), leftoversFact(p.dest, ctx)],
  plan(p, read, ctx) {
    const content = p.content ?? readLocalFile(p.src!, ctx.localDir);
    const changes = planFileWrite(
      { path: p.dest, content, mode: p.mode, owner: p.owner, group: p.group, validate: p.validate, sensitive: p.sensitive, runId: ctx.runId },
      read(fileFact(p.dest)),
    );
    return withLeftoverRemoval(changes.length ? { changes } : { changes, reason: `${p.dest} up to date` }, p.dest, read(leftoversFact(p.dest, ctx)));
  },
};
