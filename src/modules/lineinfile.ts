import { placementProblems, planEdit, textEditFacts, textEditParams } from './text-edit.js';
import type { Module } from './types.js';

export type LineinfileParams = {
  path: string;
  line?: string;
  regexp?: string;
  search_string?: string;
  state?: 'present' | 'absent';
  insertafter?: string;
  insertbefore?: string;
  create?: boolean;
  backrefs?: boolean;
  firstmatch?: boolean;
  mode?: string;
  owner?: string;
  group?: string;
  validate?: string;
};

/** Python's match.expand for a line with backrefs: \1, \g<1>, \g<name>. */
function expand(template: string, match: RegExpExecArray): string {
  return template.replace(/\\(\d{1,2})|\\g<(\w+)>/g, (_, n: string | undefined, g: string | undefined) => {
    const key = n ?? g!;
    return (/^\d+$/.test(key) ? match[Number(key)] : match.groups?.[key]) ?? '';
  });
}

const body = (line: string) => line.replace(/\r?\n$/, '');

/**
 * The file's lines after ensuring `line` is present, as Ansible's lineinfile does: a line matching
 * `regexp` (or holding `search_string`), the last one unless `firstmatch`, is replaced; else an
 * identical line leaves the file as it is; else the line goes after the last line matching
 * `insertafter` (or before the one matching `insertbefore`; BOF, EOF), at the end by default.
 */
export function lineinfilePresent(lines: string[], p: LineinfileParams): { lines: string[]; msg: string } {
  const line = p.line ?? '';
  const out = [...lines];
  const re = p.regexp !== undefined ? new RegExp(p.regexp) : undefined;
  let found = -1;
  let match: RegExpExecArray | null = null;
  for (const [i, current] of lines.entries()) {
    const m = re ? re.exec(body(current)) : p.search_string !== undefined && current.includes(p.search_string) ? ([current] as unknown as RegExpExecArray) : null;
    if (!m) continue;
    found = i;
    match = m;
    if (p.firstmatch) break;
  }
  let exact = false;
  let at = -1;
  const anchor = p.insertafter !== undefined && !['BOF', 'EOF'].includes(p.insertafter) ? p.insertafter : p.insertbefore !== undefined && p.insertbefore !== 'BOF' ? p.insertbefore : undefined;
  const anchorRe = anchor === undefined ? undefined : new RegExp(anchor);
  if (!match) {
    for (const [i, current] of lines.entries()) {
      if (body(current) === line) {
        found = i;
        exact = true;
      } else if (anchorRe?.test(body(current))) {
        at = p.insertafter !== undefined ? i + 1 : i;
        if (p.firstmatch) break;
      }
    }
  }
  const ended = () => {
    if (out.length && !out[out.length - 1]!.endsWith('\n')) out[out.length - 1] += '\n';
  };
  if (found !== -1) {
    const replaced = (p.backrefs && match && re ? expand(line, match) : line).replace(/\n?$/, '\n');
    if (match || exact) {
      if (out[found] === replaced) return { lines: out, msg: '' };
      out[found] = replaced;
      return { lines: out, msg: 'line replaced' };
    }
  }
  if (p.backrefs) return { lines: out, msg: '' };
  if (p.insertbefore === 'BOF' || p.insertafter === 'BOF') {
    out.unshift(`${line}\n`);
    return { lines: out, msg: 'line added' };
  }
  if (p.insertafter === 'EOF' || at === -1) {
    ended();
    out.push(`${line}\n`);
    return { lines: out, msg: 'line added' };
  }
  if (p.insertafter !== undefined) {
    if (at === out.length) {
      if (body(out[at - 1]!) === line) return { lines: out, msg: '' };
      ended();
      out.push(`${line}\n`);
      return { lines: out, msg: 'line added' };
    }
    if (body(out[at]!) === line) return { lines: out, msg: '' };
  }
  out.splice(at, 0, `${line}\n`);
  return { lines: out, msg: 'line added' };
}

/** Every line matching `regexp`, holding `search_string`, or equal to `line` removed. */
export function lineinfileAbsent(lines: string[], p: LineinfileParams): { lines: string[]; msg: string } {
  const re = p.regexp !== undefined ? new RegExp(p.regexp) : undefined;
  const kept = lines.filter((l) => !(re ? re.test(body(l)) : p.search_string !== undefined ? l.includes(p.search_string) : body(l) === p.line));
  const removed = lines.length - kept.length;
  return { lines: kept, msg: removed ? `${removed} line(s) removed` : '' };
}

export const lineinfileModule: Module<LineinfileParams> = {
  name: 'lineinfile',
  params: {
    ...textEditParams,
    line: { type: 'string', aliases: ['value'], description: 'the line to have in the file (state present)' },
    regexp: { type: 'string', aliases: ['regex'], description: 'a regular expression: the last line it matches is replaced (state present) or every line it matches removed (absent)' },
    search_string: { type: 'string', description: 'as regexp, a literal string the line holds' },
    backrefs: { type: 'boolean', default: false, description: 'line holds \\1 backreferences to regexp; nothing changes when regexp matches no line' },
    firstmatch: { type: 'boolean', default: false, description: 'the first match of regexp or insertafter/insertbefore, not the last' },
  },
  validate(p) {
    const problems = placementProblems(p, ['regexp', 'insertafter', 'insertbefore']);
    if (p.regexp !== undefined && p.search_string !== undefined) problems.push(['search_string', 'give one of regexp or search_string']);
    if ((p.state ?? 'present') === 'present' && p.line === undefined) problems.push(['line', 'state present needs line']);
    if (p.state === 'absent' && p.line === undefined && p.regexp === undefined && p.search_string === undefined) problems.push(['line', 'state absent needs line, regexp or search_string']);
    if (p.backrefs && p.regexp === undefined) problems.push(['backrefs', 'backrefs needs regexp']);
    return problems;
  },
  facts: (p, ctx) => textEditFacts(p.path, ctx),
  plan(p, read, ctx) {
    const edit = (lines: string[]) => (p.state === 'absent' ? lineinfileAbsent(lines, p) : lineinfilePresent(lines, p)).lines;
    return planEdit(p, read, ctx, edit, p.state === 'absent' ? 'no such line' : 'line present');
  },
};
