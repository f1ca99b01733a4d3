import { quote } from '../argv.js';
import { aptSourcesFact, SOURCES_DIR } from '../facts/apt-sources.js';
import { leftoversFact, tempPathFor } from '../facts/leftovers.js';
import { fileFact, type FileState } from '../facts/file.js';
import { modeParam } from './params.js';
import { updateChange } from './apt-get.js';
import { expandPpa, isPpa, PPA, ppaHostProblem, ppaKeyChange, type PpaPlan } from './ppa.js';
import type { FactReader } from '../facts/types.js';
import type { Change, Module, ModuleContext, Plan } from './types.js';
import { planFileWrite, withLeftoverRemoval } from './write-file.js';

export type AptRepositoryParams = {
  repo: string; state?: 'present' | 'absent'; filename?: string; update_cache?: boolean; mode?: string; codename?: string;
  update_cache_retries?: number; update_cache_retry_max_delay?: number; validate_certs?: boolean; install_python_apt?: boolean;
};

/** A sources file the task writes or removes, and whether it existed before. */
interface Touched { path: string; existed: boolean }

/** Where the touched files' former content waits, as one tar, while apt-get update runs (outside sources.list.d; a later run removes it if this one died). */
const KEPT = '/etc/apt/sources-before.tar';

/**
 * apt-get update retried (apt-get.ts); when every try failed, the sources files are put back
 * as they were (those it created removed, the others restored from the copy kept before the
 * change), as Ansible's revert_sources_list does, and the task fails.
 */
function retriedUpdate(why: string, p: AptRepositoryParams, touched: Touched[], runId: string): Change {
  const kept = quote(tempPathFor(KEPT, runId));
  const created = touched.filter((t) => !t.existed).map((t) => quote(t.path));
  const restore = [...(touched.some((t) => t.existed) ? [`tar -xpf ${kept} -C /`] : []), ...(created.length ? [`rm -f -- ${created.join(' ')}`] : [])];
  const tries = { retries: p.update_cache_retries, maxDelay: p.update_cache_retry_max_delay, onSuccess: [`rm -f -- ${kept}`], onGiveUp: [...restore, `rm -f -- ${kept}`] };
  return updateChange({}, why, tries, 'the sources files were put back as they were');
}

/** The copy retriedUpdate restores from, made first (tar keeps mode and owner), as part of the first change. */
function keepingCopy(changes: Change[], touched: Touched[], runId: string): Change[] {
  const existed = touched.filter((t) => t.existed).map((t) => t.path.replace(/^\/+/, ''));
  if (existed.length === 0) return changes;
  const [first, ...rest] = changes;
  return [{ ...first!, commands: [{ argv: ['tar', '-cf', tempPathFor(KEPT, runId), '-C', '/', '--', ...existed] }, ...first!.commands] }, ...rest];
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
 * fetched on the host first unless its key file is there. When apt-get update still fails after
 * its retries, the sources files are put back as they were and the task fails, as in Ansible.
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
    validate_certs: { type: 'boolean', default: true, description: "false: accept any certificate from Launchpad's API when a PPA's signing key is looked up (curl -k), the one request it covers in Ansible" },
    install_python_apt: { type: 'boolean', default: true, description: 'accepted for Ansible, which needs the python3-apt library on the host; bootstrap edits the sources files itself and installs nothing either way' },
  },
  facts(p, ctx) {
    const ppa = ppaOf(p, ctx);
    const { target } = sourceAndTarget(p, ppa);
    return [aptSourcesFact(), fileFact(target), ...(ppa && p.state !== 'absent' ? [fileFact(ppa.keyFile)] : []), leftoversFact(KEPT, ctx)];
  },
  plan(p, read, ctx) {
    return withLeftoverRemoval(planSources(p, read, ctx), KEPT, read(leftoversFact(KEPT, ctx)));
  },
};

function planSources(p: AptRepositoryParams, read: FactReader, ctx: ModuleContext): Plan {
  const problem = isPpa(p.repo) ? ppaHostProblem(p.repo, p.codename, ctx.facts.os) : undefined;
  if (problem) throw new Error(problem);
  const files = read(aptSourcesFact());
  const ppa = ppaOf(p, ctx);
  const { source, target } = sourceAndTarget(p, ppa);
  const present = p.state !== 'absent';
  const changes: Change[] = [];
  const touched: Touched[] = [];
  const write = (path: string, content: string, state: FileState) => {
    touched.push({ path, existed: state.type !== 'absent' });
    return planFileWrite({ path, content, mode: p.mode ?? (state.type === 'absent' ? '0644' : undefined), runId: ctx.runId }, state);
  };
  const enabledIn = [...files].filter(([, text]) => text.split('\n').some((l) => normal(l.replace(/#.*$/, '')) === source)).map(([path]) => path);
  if (present && enabledIn.length === 0) {
    const disabledIn = [...files].find(([, text]) => edited(text, source, true) !== text);
    if (ppa && read(fileFact(ppa.keyFile)).type === 'absent') changes.push(ppaKeyChange(ppa, ctx.runId, undefined, p.validate_certs !== false));
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
      if (after.trim() === '' && path !== '/etc/apt/sources.list') {
        touched.push({ path, existed: true });
        changes.push({ title: `remove ${path} (${source} was its only source)`, commands: [{ argv: ['rm', '-f', path] }] });
      }
      else changes.push(...write(path, after, { path, type: 'file' }));
    }
  }
  if (changes.length === 0) return { changes, reason: present ? `${source} in ${enabledIn.join(', ')}` : `${source} in no sources file` };
  if (p.update_cache === false) return { changes };
  const update = retriedUpdate(`${present ? 'added' : 'removed'} ${source}`, p, touched, ctx.runId);
  return { changes: [...keepingCopy(changes, touched, ctx.runId), update] };
}
