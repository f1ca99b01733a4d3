import type ejs from 'ejs';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import vm from 'node:vm';
import { ConfigError, type SourcePos } from '../errors.js';
import { positionIn } from '../yaml/positions.js';
import { decodeUtf8 } from '../yaml/utf8.js';
import { describeEvalError, evaluate, forHost, Unproduced, type Where } from './expression.js';

/**
 * `<%= x %>` writes x as text. Config files are not HTML, so nothing is escaped; an undefined value is an
 * error (usually a typo like app.nmae), null writes nothing, lists and maps are written as JSON.
 */
function toText(value: unknown): string {
  if (value === undefined) throw new UndefinedOutput();
  if (value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

class UndefinedOutput extends Error {
  constructor() {
    super('the value written by <%= %> is undefined (a misspelled or missing variable or property?)');
  }
}

/** EJS passes the file name through the escape function when reporting an error, so inline strings need one too. */
const INLINE = '<inline>';

const SINGLE_TAG = /^<%=([\s\S]*?)%>$/;

/** Renders an EJS string (only when it contains `<%`) with the scope; errors point at `where`. */
export function renderString(s: string, scope: Record<string, unknown>, where: Where): string {
  if (!s.includes('<%')) return s;
  try {
    return compiled(s, INLINE)(scope);
  } catch (err) {
    if (err instanceof Unproduced) throw err;
    throw inlineError(err, s, where);
  }
}

/**
 * Renders a parameter value: a string that is exactly one `<%= expr %>` keeps the expression's type
 * (a list, a number...), other strings containing `<%` render to text; maps and lists are rendered deeply.
 */
export function renderValue(value: unknown, scope: Record<string, unknown>, where: Where): unknown {
  if (typeof value === 'string') {
    const single = SINGLE_TAG.exec(value);
    if (single && !single[1].includes('%>')) {
      const result = evaluate(single[1], scope, where);
      if (result === undefined) throw new ConfigError(where.pos, where.keyPath, `${JSON.stringify(value)} is undefined (a misspelled or missing variable or property?)${forHost(where)}`);
      return result;
    }
    return renderString(value, scope, where);
  }
  if (Array.isArray(value)) return value.map((item, i) => renderValue(item, scope, child(where, i)));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = renderValue(item, scope, child(where, key));
    return out;
  }
  return value;
}

/** Deep render of module parameters; `where.keyPath` is the path of the parameter map. */
export function renderParams(params: Record<string, unknown>, scope: Record<string, unknown>, where: Where): Record<string, unknown> {
  return renderValue(params, scope, where) as Record<string, unknown>;
}

function child(where: Where, key: string | number): Where {
  const keyPath = where.keyPath === '' ? String(key) : `${where.keyPath}.${key}`;
  return { ...where, keyPath, pos: positionIn(where.pos.file, keyPath, 'value', where.pos) };
}

/**
 * Candidate files for a template `src`: for a role's task `<role>/templates/<src>` and `<role>/<src>`
 * first (as in Ansible), then `<playbook dir>/../templates/<src>`, then `<playbook dir>/<src>`.
 */
export function templateCandidates(src: string, playFile: string, roleDir?: string): string[] {
  if (isAbsolute(src)) return [src];
  const dir = dirname(playFile);
  return [...(roleDir ? [resolve(roleDir, 'templates', src), resolve(roleDir, src)] : []), resolve(dir, '..', 'templates', src), resolve(dir, src)];
}

/** The first existing candidate (see templateCandidates), or the first candidate when none exists. */
export function resolveTemplatePath(src: string, playFile: string, roleDir?: string): string {
  const candidates = templateCandidates(src, playFile, roleDir);
  return candidates.find((candidate) => existsSync(candidate)) ?? candidates[0];
}

/** Renders an EJS template file; includes resolve relative to it. Errors name the template file and line. */
export function renderTemplateFile(path: string, scope: Record<string, unknown>, where?: Where): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new ConfigError(where?.pos ?? { file: path }, where?.keyPath ?? '', `cannot read template ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`);
  }
  const text = decodeUtf8(bytes, path);
  try {
    return compiled(text, path)(scope);
  } catch (err) {
    if (err instanceof Unproduced) throw err;
    throw templateError(err, path, text, where);
  }
}

function ejsOptions(filename?: string): ejs.Options & { async: false } {
  return { filename, escape: toText, compileDebug: true, strict: false, async: false };
}

/**
 * Each template (file or inline string) is compiled once per process and rendered per host,
 * keyed by its name and text, so an edited file is compiled afresh. EJS itself is loaded on
 * the first template.
 */
const compiledTemplates = new Map<string, ejs.TemplateFunction>();

function ejsEngine(): typeof ejs {
  return createRequire(import.meta.url)('ejs') as typeof ejs;
}

function compiled(text: string, filename: string): ejs.TemplateFunction {
  const key = `${filename}\0${text}`;
  let template = compiledTemplates.get(key);
  if (!template) {
    template = ejsEngine().compile(text, ejsOptions(filename)) as ejs.TemplateFunction;
    compiledTemplates.set(key, template);
  }
  return template;
}

interface Located {
  /** the file named in the error (an include may differ from the rendered template) */
  file?: string;
  line: number;
  message: string;
}

/** Where an EJS error happened: the innermost "file:line" header EJS prepends (includes nest them), or the syntax error's line. */
function locateEjsError(err: unknown, text: string, filename?: string): Located {
  let message = err instanceof Error ? err.message : String(err);
  if (err instanceof UndefinedOutput || (err instanceof Error && /^.*:\d+\n/.test(message) && message.includes('\n\n'))) {
    let located: { file?: string; line: number; code?: string } | undefined;
    for (;;) {
      const header = /^(.*):(\d+)\n(?:.*\n)*?\n/.exec(message);
      if (!header) break;
      const code = /^ >> \d+\| (.*)$/m.exec(header[0])?.[1].trim();
      located = { file: header[1] === INLINE ? undefined : header[1], line: Number(header[2]), code };
      message = message.slice(header[0].length);
    }
    if (located) {
      const detail = describeEvalError(Object.assign(Object.create(Object.getPrototypeOf(err)), { message }));
      return { file: located.file, line: located.line, message: located.code ? `${detail} in \`${located.code}\`` : detail };
    }
  }
  // compile-time errors carry no line: find it ourselves
  const compiling = / in (.+) while compiling ejs/.exec(message);
  const named = compiling?.[1] ?? filename;
  const file = named === INLINE ? undefined : named;
  const source = file && file !== filename && existsSync(file) ? readFileSync(file, 'utf8') : text;
  const firstLine = message.split('\n')[0].replace(/ in .+ while compiling ejs$/, '').replace(/ while compiling ejs$/, '');
  const unclosed = /^Could not find matching close tag for "(.+)"/.exec(firstLine);
  if (unclosed) return { file, line: unclosedTagLine(source), message: `\`${unclosed[1]}\` is never closed with \`%>\`` };
  return { file, line: syntaxErrorLine(source, file) ?? 1, message: `template syntax error: ${firstLine}` };
}

function templateError(err: unknown, path: string, text: string, where?: Where): ConfigError {
  const located = locateEjsError(err, text, path);
  const context = where ? ` (rendering ${where.keyPath}${where.host ? ` for host ${where.host}` : ''})` : '';
  return new ConfigError({ file: located.file ?? path, line: located.line, col: 1 }, '', located.message + context);
}

function inlineError(err: unknown, text: string, where: Where): ConfigError {
  const located = locateEjsError(err, text, INLINE);
  const pos: SourcePos = located.line <= 1 || where.pos.line === undefined ? where.pos : { file: where.pos.file, line: where.pos.line + located.line - 1, col: 1 };
  return new ConfigError(located.file ? { file: located.file, line: located.line, col: 1 } : pos, where.keyPath, located.message + forHost(where));
}

/** Line of the first `<%` with no `%>` before the next `<%`. */
function unclosedTagLine(text: string): number {
  const open = /<%(?!%)/g;
  let match: RegExpExecArray | null;
  while ((match = open.exec(text))) {
    const close = text.indexOf('%>', match.index + 2);
    const nextOpen = text.slice(match.index + 2).search(/<%(?!%)/);
    if (close < 0 || (nextOpen >= 0 && match.index + 2 + nextOpen < close)) return lineAt(text, match.index);
  }
  return 1;
}

function lineAt(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}

/**
 * EJS reports JavaScript syntax errors without a line. Its generated source marks template lines with
 * `__line = N`; compile that source with vm to learn the failing generated line, then map it back.
 */
function syntaxErrorLine(text: string, filename?: string): number | undefined {
  try {
    const Template = (ejsEngine() as unknown as { Template: new (text: string, opts: object) => { generateSource(): void; source: string } }).Template;
    const template = new Template(text, { ...ejsOptions(filename), compileDebug: true });
    template.generateSource();
    const wrapped = `(function () {\n${template.source}\n})`;
    try {
      new vm.Script(wrapped, { filename: 'ejs-generated' });
      return undefined;
    } catch (err) {
      const at = /^ejs-generated:(\d+)/.exec((err as Error).stack ?? '');
      if (!at) return undefined;
      const lines = wrapped.split('\n').slice(0, Number(at[1]));
      for (let i = lines.length - 1; i >= 0; i--) {
        const marker = /__line = (\d+)/.exec(lines[i]);
        if (marker) return Number(marker[1]);
      }
      return 1;
    }
  } catch {
    return undefined;
  }
}
