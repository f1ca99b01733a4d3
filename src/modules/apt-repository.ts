import { aptSourcesFact, SOURCES_DIR } from '../facts/apt-sources.js';
import { fileFact, type FileState } from '../facts/file.js';
import { modeParam } from './params.js';
import { updateChange } from './package.js';
import { expandPpa, isPpa, PPA, ppaHostProblem, ppaKeyChange, type PpaPlan } from './ppa.js';
import type { Change, Module, ModuleContext } from './types.js';
import { planFileWrite } from './write-file.js';

export type AptRepositoryParams = {
  repo: string; state?: 'present' | 'absent'; filename?: string; update_cache?: boolean; mode?: string; codename?: string;
  update_cache_retries?: number; update_cache_retry_max_delay?: number;
};

/**
 * apt-get update tried up to `retries` times, waiting 2^attempt seconds (at most `maxDelay`)
 * after a failure, as Ansible's apt_repository backs off.
 */
const RETRY = 'n=$1; max=$2; shift 2; i=0; while :; do "$@" && exit 0; i=$((i + 1)); [ "$i" -ge "$n" ] && { echo "Failed to update apt cache after $n retries" >&2; exit 1; }; d=$((1 << (i - 1))); [ "$d" -gt "$max" ] && d=$max; sleep "$d"; done';
function withRetries(change: Change, retries: number, maxDelay: number): Change {
  const [update, ...rest] = change.commands;
  return { ...change, commands: [{ ...update!, argv: ['sh', '-c', RETRY, 'retry', String(retries), String(maxDelay), ...update!.argv] }, ...rest] };
}

const SOURCE = /^(deb|deb-src)(\s+\[[^\]]*\])?\s+\S+\s+\S+/;

/** A source line with its whitespace collapsed, as apt_repository compares them. */
const normal = (line: string) => line.trim().split(/\s+/).join(' ');

/** Ansible's file name for a repo: its host and path, other characters as underscores (deb http://a.b/c x y -> a_b_c). */
export function suggestedFilename(repo: string): string {
  const parts = repo.replace(/\[[^\]]+\]/g, '').replace(/\w+:\/\//g, '').split(/\s+/).filter((p) => p && p !== 'deb' && p !== 'deb-src');
  const first = (parts[0] ?? '').replace(/^[^@/]*@/, '');
  return first.replace(/[^a-zA-Z0-9]/g, ' ').split(/\s+/).filter(Boolean).join('_');
}

/** The PPA's deb line, file and key when `repo` is one, for `codename` or the host's release. */
const ppaOf = (p: AptRepositoryParams, ctx: Pick<ModuleContext, 'facts'>): PpaPlan | undefined => (isPpa(p.repo) ? expandPpa(p.repo, p.codename ?? ctx.facts.os.codename) : undefined);

/** The deb line, and the sources.list.d file it goes in when no file holds it. */
function sourceAndTarget(p: AptRepositoryParams, ppa: PpaPlan | undefined): { source: string; target: string } {
  const source = ppa ? ppa.source : normal(p.repo);
  return { source, target: `${SOURCES_DIR}/${p.filename ?? ppa?.filename ?? suggestedFilename(p.repo)}.list` };
}

/** A file's text with its lines holding `source` enabled (`# ` removed) or taken out. */
function edited(text: string, source: string, keep: boolean): string {
  return text.split(/(?<=\n)/).flatMap((line) => {
    const body = line.replace(/#.*$/s, '');
    const disabled = /^\s*#\s*(deb|deb-src)\s/.test(line) ? normal(line.replace(/^\s*#\s*/, '').replace(/\s#.*$/s, '')) : undefined;
    if (normal(body) === source) return keep ? [line] : [];
    if (disabled === source) return keep ? [`${line.replace(/^\s*#\s*/, '')}`] : [];
    return [line];
  }).join('');
}

/**
 * As Ansible's apt_repository, for one-line sources: `present` leaves a repo that is enabled in
 * any sources file, enables it where it is commented out, or adds it to
 * sources.list.d/<filename>.list; `absent` takes it out of every file (a file left empty is
 * removed). `apt-get update` follows a change unless update_cache is false. A `ppa:owner/name`
 * becomes Ansible's deb line for the host's Ubuntu release (or `codename`), its signing key
 * fetched on the host first unless its key file is there.
 */
export const aptRepositoryModule: Module<AptRepositoryParams> = {
  name: 'apt_repository',
  params: {
    repo: {
      type: 'string',
      required: true,
      pattern: new RegExp(`${SOURCE.source}|${PPA.source}`),
      patternHint: 'a one-line source like "deb [signed-by=/etc/apt/keyrings/x.asc] https://example.com/debian bookworm main", or ppa:<owner>/<name>',
    },
    state: { type: 'string', enum: ['present', 'absent'], default: 'present' },
    filename: { type: 'string', pattern: /^[A-Za-z0-9_.-]+$/, patternHint: 'a file name without .list' },
    update_cache: { type: 'boolean', aliases: ['update-cache'], default: true, description: 'apt-get update after a change' },
    update_cache_retries: { type: 'integer', min: 1, default: 5, description: 'times apt-get update is tried' },
    update_cache_retry_max_delay: { type: 'integer', min: 0, default: 12, description: 'the longest wait in seconds between tries (1, 2, 4, ... seconds)' },
    mode: modeParam,
    codename: { type: 'string', pattern: /^[a-z][a-z0-9-]*$/, patternHint: 'an Ubuntu release codename like jammy', description: 'the Ubuntu release of a PPA (default: the host\'s, which must be Ubuntu)' },
  },
  facts(p, ctx) {
    const ppa = ppaOf(p, ctx);
    const { target } = sourceAndTarget(p, ppa);
    return [aptSourcesFact(), fileFact(target), ...(ppa && p.state !== 'absent' ? [fileFact(ppa.keyFile)] : [])];
  },
  plan(p, read, ctx) {
    const problem = isPpa(p.repo) ? ppaHostProblem(p.repo, p.codename, ctx.facts.os) : undefined;
    if (problem) throw new Error(problem);
    const files = read(aptSourcesFact());
    const ppa = ppaOf(p, ctx);
    const { source, target } = sourceAndTarget(p, ppa);
    const present = p.state !== 'absent';
    const changes: Change[] = [];
    const write = (path: string, content: string, state: FileState) => planFileWrite({ path, content, mode: p.mode ?? (state.type === 'absent' ? '0644' : undefined), runId: ctx.runId }, state);
    const enabledIn = [...files].filter(([, text]) => text.split('\n').some((l) => normal(l.replace(/#.*$/, '')) === source)).map(([path]) => path);
    if (present && enabledIn.length === 0) {
      const disabledIn = [...files].find(([, text]) => edited(text, source, true) !== text);
      if (ppa && read(fileFact(ppa.keyFile)).type === 'absent') changes.push(ppaKeyChange(ppa, ctx.runId));
      if (disabledIn) changes.push(...write(disabledIn[0], edited(disabledIn[1], source, true), { path: disabledIn[0], type: 'file' }));
      else {
        const current = read(fileFact(target));
        const before = files.get(target) ?? '';
        changes.push(...write(target, `${before}${before && !before.endsWith('\n') ? '\n' : ''}${source}\n`, current));
      }
    }
    if (!present) {
      for (const [path, text] of files) {
        const after = edited(text, source, false);
        if (after === text) continue;
        if (after.trim() === '' && path !== '/etc/apt/sources.list') changes.push({ title: `remove ${path} (${source} was its only source)`, commands: [{ argv: ['rm', '-f', path] }] });
        else changes.push(...write(path, after, { path, type: 'file' }));
      }
    }
    if (changes.length === 0) return { changes, reason: present ? `${source} in ${enabledIn.join(', ')}` : `${source} in no sources file` };
    if (p.update_cache !== false) changes.push(withRetries(updateChange({}, `${present ? 'added' : 'removed'} ${source}`), p.update_cache_retries ?? 5, p.update_cache_retry_max_delay ?? 12));
    return { changes };
  },
};
