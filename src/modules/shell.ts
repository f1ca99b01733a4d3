import { inDir, withStdin } from './command.js';
import { evaluateGuards, guardFacts, shorten } from './guards.js';
import type { Module } from './types.js';

export type ShellParams = {
  cmd: string;
  creates?: string;
  removes?: string;
  unless?: string;
  chdir?: string;
  stdin?: string;
  sensitive?: boolean;
};

const guardsOf = (p: ShellParams) => ({ ...p, unless: p.unless === undefined ? undefined : ['sh', '-c', p.unless] });

export const shellModule: Module<ShellParams> = {
  name: 'shell',
  params: {
    cmd: { type: 'string', required: true, description: 'a sh script' },
    creates: { type: 'string', description: 'skip when this path exists' },
    removes: { type: 'string', description: 'skip when this path is absent' },
    unless: { type: 'string', description: 'skip when this sh script exits 0' },
    chdir: { type: 'string' },
    stdin: { type: 'string' },
    sensitive: { type: 'boolean', default: false, description: 'stdin is a secret' },
  },
  facts: (p) => guardFacts(guardsOf(p)),
  plan(p, read) {
    const verdict = evaluateGuards(guardsOf(p), read);
    if ('skip' in verdict) return { changes: [], reason: verdict.skip };
    return { changes: [{ title: `run ${shorten(p.cmd)} (${verdict.run})`, commands: [withStdin(inDir(['sh', '-c', p.cmd], p.chdir), p)] }] };
  },
};
