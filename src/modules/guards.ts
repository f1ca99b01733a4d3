import type { Fact, FactReader } from '../facts/types.js';
import { exitCodeFact, pathExistsFact } from '../facts/guard-facts.js';
import { toShell } from '../argv.js';

export interface Guards {
  creates?: string;
  removes?: string;
  /** argv whose exit status 0 means "already done" */
  unless?: readonly string[];
  chdir?: string;
}

export function guardFacts(g: Guards): Fact<unknown>[] {
  return [
    ...(g.creates !== undefined ? [pathExistsFact(g.creates)] : []),
    ...(g.removes !== undefined ? [pathExistsFact(g.removes)] : []),
    ...(g.unless !== undefined ? [exitCodeFact(g.unless, g.chdir)] : []),
  ];
}

/** Why the command must not run (ok reason), or why it runs (for the change title). */
export function evaluateGuards(g: Guards, read: FactReader): { skip: string } | { run: string } {
  const reasons: string[] = [];
  if (g.creates !== undefined) {
    if (read(pathExistsFact(g.creates))) return { skip: `${g.creates} exists` };
    reasons.push(`${g.creates} absent`);
  }
  if (g.removes !== undefined) {
    if (!read(pathExistsFact(g.removes))) return { skip: `${g.removes} absent` };
    reasons.push(`${g.removes} exists`);
  }
  if (g.unless !== undefined) {
    const code = read(exitCodeFact(g.unless, g.chdir));
    if (code === 0) return { skip: `\`${shorten(toShell(g.unless))}\` succeeded` };
    reasons.push(`\`${shorten(toShell(g.unless))}\` exited ${code}`);
  }
  return { run: reasons.length ? reasons.join(', ') : 'not guarded' };
}

export function shorten(text: string, max = 60): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, max - 3)}...` : oneLine;
}
