import { fileContentFact, fileFact, type FileState } from '../facts/file.js';
import type { Fact, FactReader } from '../facts/types.js';
import { absolutePathParam, groupParam, modeParam, ownerParam, validateParam } from './params.js';
import type { ModuleContext, ParamSpec, Plan } from './types.js';
import { leftoversFact } from '../facts/leftovers.js';
import { planFileWrite, withLeftoverRemoval } from './write-file.js';

/** What lineinfile and blockinfile edit in place, with Ansible's names. */
export interface TextEdit {
  path: string;
  state?: 'present' | 'absent';
  insertafter?: string;
  insertbefore?: string;
  mode?: string;
  owner?: string;
  group?: string;
  validate?: string;
  create?: boolean;
  backup?: boolean;
}

/** The parameters lineinfile and blockinfile share, with Ansible's defaults. */
export const textEditParams: Record<string, ParamSpec> = {
  path: { ...absolutePathParam('the file to edit'), aliases: ['dest', 'destfile', 'name'] },
  state: { type: 'string', enum: ['present', 'absent'], default: 'present' },
  insertafter: { type: 'string', description: 'EOF (default), BOF (lineinfile), or a regular expression: after its last match' },
  insertbefore: { type: 'string', description: 'BOF or a regular expression: before its last match' },
  create: { type: 'boolean', default: false, description: 'create the file when absent (else an error)' },
  backup: { type: 'boolean', default: false, description: "before changing the file's content, copy it (cp -p) to <path>.<pid>.<YYYY-MM-DD@HH:MM:SS>~ beside it, as Ansible names backups" },
  mode: modeParam,
  owner: ownerParam,
  group: groupParam,
  validate: validateParam,
};

/** insertafter and insertbefore together, or a parameter among `patterns` that is no regular expression. */
export function placementProblems(p: TextEdit, patterns: string[]): Array<[string, string]> {
  const problems: Array<[string, string]> = [];
  if (p.insertafter !== undefined && p.insertbefore !== undefined) problems.push(['insertbefore', 'give one of insertafter or insertbefore']);
  return [...problems, ...regexProblems(p as unknown as Record<string, unknown>, patterns)];
}

/**
 * The plan of an in-place edit: `edit` turns the file's lines into the wanted ones. With state
 * absent a missing file is fine (nothing to take out); with present it needs `create`.
 */
export function planEdit(p: TextEdit, read: FactReader, ctx: ModuleContext, edit: (lines: string[]) => string[], upToDate: string): Plan {
  const absent = p.state === 'absent';
  const { state, text } = currentText({ ...p, create: p.create || absent }, read);
  if (text === null && absent) return { changes: [], reason: `${p.path} absent` };
  const plan = planTextEdit(p, state, text, edit(linesOf(text ?? '')).join(''), ctx.runId, `${p.path}: ${upToDate}`);
  return withLeftoverRemoval(plan, p.path, read(leftoversFact(p.path, ctx)));
}

/** The facts an in-place edit plans from: the file's state and its content. */
export function textEditFacts(path: string, ctx: ModuleContext): Fact<unknown>[] {
  return [fileFact(path), fileContentFact(path), leftoversFact(path, ctx)];
}

/** The file's lines, each with its line break (the last may have none), as Python's readlines(). */
export function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * The file as it is: its state and text, or null when absent. A directory or an absent file
 * without `create` is an error with Ansible's wording.
 */
export function currentText(p: TextEdit, read: FactReader): { state: FileState; text: string | null } {
  const state = read(fileFact(p.path));
  if (state.type === 'directory') throw new Error(`Path ${p.path} is a directory !`);
  if (state.type === 'absent') {
    if (!p.create) throw new Error(`Destination ${p.path} does not exist !`);
    return { state, text: null };
  }
  const content = read(fileContentFact(p.path));
  if (content === null) throw new Error(`${p.path} could not be read`);
  return { state, text: content.toString('utf8') };
}

/** Writing the edited text (the diff's before side is the text already read), or ok with `reason`. */
export function planTextEdit(p: TextEdit, state: FileState, before: string | null, after: string, runId: string, reason: string): Plan {
  const current = before === null ? state : { ...state, content: Buffer.from(before, 'utf8') };
  const written = planFileWrite({ path: p.path, content: after, mode: p.mode, owner: p.owner, group: p.group, validate: p.validate, runId }, current);
  // only a content change of an existing file is backed up (the one change with a diff), as in Ansible
  const changes = p.backup && state.type === 'file' ? written.map((c) => (c.diff ? { ...c, title: `${c.title}, backed up`, commands: [backupCommand(p.path), ...c.commands] } : c)) : written;
  return changes.length ? { changes } : { changes, reason };
}

/** A copy of the file beside it, named on the host as Ansible's backup_local names it (the pid of the shell that copies). */
const backupCommand = (path: string) => ({ argv: ['sh', '-c', 'cp -p -- "$1" "$1.$$.$(date +%Y-%m-%d@%H:%M:%S)~"', 'backup', path] });

/** The parameters among `keys` that hold no valid regular expression (BOF and EOF are words, not patterns). */
export function regexProblems(p: Record<string, unknown>, keys: string[]): Array<[string, string]> {
  const problems: Array<[string, string]> = [];
  for (const key of keys) {
    const value = p[key];
    if (typeof value !== 'string' || value === 'BOF' || value === 'EOF') continue;
    try {
      new RegExp(value);
    } catch (error) {
      problems.push([key, `not a regular expression: ${(error as Error).message}`]);
    }
  }
  return problems;
}
