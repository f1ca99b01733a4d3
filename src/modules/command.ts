import type { ArgvCommand } from '../argv.js';
import { toShell } from '../argv.js';
import { evaluateGuards, guardFacts, shorten } from './guards.js';
import type { Module } from './types.js';

export type CommandParams = {
  argv: string[];
  creates?: string;
  removes?: string;
  unless?: string[];
  chdir?: string;
  stdin?: string;
  sensitive?: boolean;
};

export function inDir(argv: readonly string[], chdir: string | undefined): readonly string[] {
  return chdir === undefined ? argv : ['sh', '-c', 'cd "$1" && shift && exec "$@"', 'sh', chdir, ...argv];
}

export function withStdin(argv: readonly string[], p: { stdin?: string; sensitive?: boolean }): ArgvCommand {
  return { argv, ...(p.stdin !== undefined ? { stdin: p.stdin } : {}), ...(p.sensitive ? { sensitive: true } : {}) };
}

export const commandModule: Module<CommandParams> = {
  name: 'command',
  params: {
    argv: { type: 'list', minItems: 1, items: { type: 'string' }, required: true },
    creates: { type: 'string', description: 'skip when this path exists' },
    removes: { type: 'string', description: 'skip when this path is absent' },
    unless: { type: 'list', minItems: 1, items: { type: 'string' }, description: 'skip when this command exits 0' },
    chdir: { type: 'string' },
    stdin: { type: 'string' },
    sensitive: { type: 'boolean', default: false, description: 'stdin is a secret' },
  },
  facts: (p) => guardFacts(p),
  plan(p, read) {
    const verdict = evaluateGuards(p, read);
    if ('skip' in verdict) return { changes: [], reason: verdict.skip };
    return { changes: [{ title: `run ${shorten(toShell(p.argv))} (${verdict.run})`, commands: [withStdin(inDir(p.argv, p.chdir), p)] }] };
  },
};
