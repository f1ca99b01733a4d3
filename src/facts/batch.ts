import { randomBytes } from 'node:crypto';
import { isFamilyFact } from './types.js';
import type { Fact, FactFamily, FamilyFact, ScriptFact } from './types.js';

/**
 * Many facts, one round trip: the runner pipes batchScript() into a remote `sh -s` and hands
 * the output to parseBatch(). The batch has one section per script fact and one per family
 * (all the batch's facts of that family together). Sections run with stdin from /dev/null (a
 * fact reading stdin would otherwise swallow the rest of the batch) and their exit code is
 * recorded, so one failing fact never stops the others. inShell script facts and families run in
 * order as functions of the batch's shell, which costs the host no process of their own; sections
 * that wait on a daemon, the network or a command run side by side (batchScript). Section markers
 * carry a random nonce so no output can forge them.
 */
const MARK = 'BOOTSTRAP-FACT';
const NONCE_LINE = new RegExp(`^# ${MARK} nonce=([0-9a-f]+)$`, 'm');

type Section =
  | { kind: 'script'; fact: ScriptFact<unknown> }
  | { kind: 'family'; family: FactFamily<unknown, unknown>; facts: FamilyFact<unknown>[] };

/** The facts of a batch, one per key, in a stable order (batchScript and parseBatch agree on it). */
export function uniqueFacts(facts: readonly Fact<unknown>[]): Fact<unknown>[] {
  const byKey = new Map<string, Fact<unknown>>();
  for (const fact of facts) if (!byKey.has(fact.key)) byKey.set(fact.key, fact);
  return [...byKey.values()];
}

function sectionsOf(facts: readonly Fact<unknown>[]): Section[] {
  const sections: Section[] = [];
  const families = new Map<FactFamily<unknown, unknown>, FamilyFact<unknown>[]>();
  for (const fact of uniqueFacts(facts)) {
    if (!isFamilyFact(fact)) {
      sections.push({ kind: 'script', fact });
      continue;
    }
    let members = families.get(fact.family);
    if (!members) {
      members = [];
      families.set(fact.family, members);
      sections.push({ kind: 'family', family: fact.family, facts: members });
    }
    members.push(fact);
  }
  return sections;
}

function beginLine(nonce: string, index: number): string {
  return `${MARK}-${nonce} begin ${index}`;
}

function endPrefix(nonce: string, index: number): string {
  return `${MARK}-${nonce} end ${index} `;
}

/**
 * A section that may wait on something besides the host's own files: a family that asks a daemon
 * or the network (`waits`), or a script fact that runs in a subshell (not inShell): a command
 * guard, a fetch, a daemon's API.
 */
function waits(section: Section): boolean {
  return section.kind === 'family' ? section.family.waits === true : !section.fact.inShell;
}

/** What a section runs: a family's script or an inShell fact as a function (a family may `return`), any other fact in a subshell of its own. */
function body(section: Section): string {
  if (section.kind === 'family') return `bootstrap_fact() {\n${section.family.script(section.facts.map((f) => f.item))}\n}\nbootstrap_fact </dev/null`;
  return section.fact.inShell ? `bootstrap_fact() {\n${section.fact.script}\n}\nbootstrap_fact </dev/null` : `(\n${section.fact.script}\n) </dev/null`;
}

export function batchScript(facts: readonly Fact<unknown>[]): string {
  const nonce = randomBytes(12).toString('hex');
  const lines = [`# ${MARK} nonce=${nonce}`];
  const sections = sectionsOf(facts);
  // Sections that wait (command guards, systemctl, docker, a daemon's API) only read: run them
  // side by side, each into its own file, so the batch waits for the slowest, not for their sum.
  // That costs a fork per section and the batch three processes (mktemp, cat, rm), so only for
  // two or more. The rest (builtins, stat, dpkg-query) take a few milliseconds of the host's CPU,
  // which running them side by side would not save.
  const parallel = sections.filter(waits).length >= 2;
  if (parallel) lines.push(`${DIR}=$(mktemp -d) || exit 1`);
  sections.forEach((section, index) => {
    const begin = `printf '%s\\n' '${beginLine(nonce, index)}'`;
    // the leading \n guarantees the end marker starts a line; parseBatch removes exactly it
    const end = `printf '\\n%s%s\\n' '${endPrefix(nonce, index)}' "$?"`;
    if (parallel && waits(section)) lines.push('{', begin, body(section), end, `} </dev/null > "$${DIR}/${index}" &`);
    else lines.push(begin, body(section), end);
  });
  if (parallel) lines.push('wait', `cat "$${DIR}"/*; rm -rf "$${DIR}"`);
  return `${lines.join('\n')}\n`;
}

const DIR = 'bootstrap_facts_dir';

/** Whether the output shows the batch script began running (the first fact's begin marker). */
export function batchStarted(output: string, script: string): boolean {
  const nonce = NONCE_LINE.exec(script)?.[1];
  return nonce !== undefined && output.includes(beginLine(nonce, 0));
}

export class FactParseError extends Error {
  constructor(readonly key: string, detail: string) {
    super(`fact ${key}: ${detail}`);
    this.name = 'FactParseError';
  }
}

function sectionKey(section: Section): string {
  return section.kind === 'script' ? section.fact.key : section.facts.map((f) => f.key).join(', ');
}

export function parseBatch(output: string, facts: readonly Fact<unknown>[], script: string): Map<string, unknown> {
  const nonce = NONCE_LINE.exec(script)?.[1];
  if (!nonce) throw new Error('parseBatch: the script was not made by batchScript (no nonce line)');
  const values = new Map<string, unknown>();
  // sections come in order, except that those run side by side come last (batchScript)
  sectionsOf(facts).forEach((section, index) => {
    const key = sectionKey(section);
    const begin = `${beginLine(nonce, index)}\n`;
    const beginAt = output.indexOf(begin);
    const endMarker = `\n${endPrefix(nonce, index)}`;
    const endAt = beginAt < 0 ? -1 : output.indexOf(endMarker, beginAt + begin.length);
    if (beginAt < 0 || endAt < 0) throw new FactParseError(key, 'no output (the fact batch was cut short)');
    const stdout = output.slice(beginAt + begin.length, endAt);
    const codeText = /^(\d+)/.exec(output.slice(endAt + endMarker.length))?.[1];
    if (codeText === undefined) throw new FactParseError(key, 'no exit code in the fact batch output');
    try {
      if (section.kind === 'script') {
        values.set(section.fact.key, section.fact.parse(stdout, Number(codeText)));
        return;
      }
      const parsed = section.family.parse(stdout, Number(codeText), section.facts.map((f) => f.item));
      section.facts.forEach((fact, i) => values.set(fact.key, parsed[i]));
    } catch (error) {
      throw new FactParseError(key, error instanceof Error ? error.message : String(error));
    }
  });
  return values;
}
