import { randomBytes } from 'node:crypto';
import type { Fact } from './types.js';

/**
 * Many facts, one round trip: the runner pipes batchScript() into a remote `sh -s` and hands
 * the output to parseBatch(). Each fact runs in its own subshell with stdin from /dev/null (a
 * fact reading stdin would otherwise swallow the rest of the batch), and its exit code is
 * recorded, so one failing fact never stops the others. Section markers carry a random nonce
 * so no fact output can forge them.
 */
const MARK = 'BOOTSTRAP-FACT';
const NONCE_LINE = new RegExp(`^# ${MARK} nonce=([0-9a-f]+)$`, 'm');

/** The facts of a batch, one per key, in a stable order (batchScript and parseBatch agree on it). */
export function uniqueFacts(facts: readonly Fact<unknown>[]): Fact<unknown>[] {
  const byKey = new Map<string, Fact<unknown>>();
  for (const fact of facts) if (!byKey.has(fact.key)) byKey.set(fact.key, fact);
  return [...byKey.values()];
}

function beginLine(nonce: string, index: number): string {
  return `${MARK}-${nonce} begin ${index}`;
}

function endPrefix(nonce: string, index: number): string {
  return `${MARK}-${nonce} end ${index} `;
}

export function batchScript(facts: readonly Fact<unknown>[]): string {
  const nonce = randomBytes(12).toString('hex');
  const lines = [`# ${MARK} nonce=${nonce}`];
  uniqueFacts(facts).forEach((fact, index) => {
    lines.push(
      `printf '%s\\n' '${beginLine(nonce, index)}'`,
      `(`,
      fact.script,
      `) </dev/null`,
      // the leading \n guarantees the end marker starts a line; parseBatch removes exactly it
      `printf '\\n%s%s\\n' '${endPrefix(nonce, index)}' "$?"`,
    );
  });
  return `${lines.join('\n')}\n`;
}

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

export function parseBatch(output: string, facts: readonly Fact<unknown>[], script: string): Map<string, unknown> {
  const nonce = NONCE_LINE.exec(script)?.[1];
  if (!nonce) throw new Error('parseBatch: the script was not made by batchScript (no nonce line)');
  const values = new Map<string, unknown>();
  let cursor = 0;
  uniqueFacts(facts).forEach((fact, index) => {
    const begin = `${beginLine(nonce, index)}\n`;
    const beginAt = output.indexOf(begin, cursor);
    const endMarker = `\n${endPrefix(nonce, index)}`;
    const endAt = beginAt < 0 ? -1 : output.indexOf(endMarker, beginAt + begin.length);
    if (beginAt < 0 || endAt < 0) throw new FactParseError(fact.key, 'no output (the fact batch was cut short)');
    const stdout = output.slice(beginAt + begin.length, endAt);
    const codeText = /^(\d+)/.exec(output.slice(endAt + endMarker.length))?.[1];
    if (codeText === undefined) throw new FactParseError(fact.key, 'no exit code in the fact batch output');
    cursor = endAt + endMarker.length;
    try {
      values.set(fact.key, fact.parse(stdout, Number(codeText)));
    } catch (error) {
      throw new FactParseError(fact.key, error instanceof Error ? error.message : String(error));
    }
  });
  return values;
}
