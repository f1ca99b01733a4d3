import { SOURCES_DIR } from '../facts/apt-sources.js';
import { fileFact } from '../facts/file.js';
import { modeParam } from './params.js';
import type { Module, ParamSpec } from './types.js';
import { leftoversFact } from '../facts/leftovers.js';
import { planFileWrite, withLeftoverRemoval } from './write-file.js';

type Value = string | string[] | boolean | number;
export type Deb822RepositoryParams = { name: string; state?: 'present' | 'absent'; mode?: string } & Record<string, Value | undefined>;

const list: ParamSpec = { type: 'oneOf', alternatives: [{ type: 'string' }, { type: 'list', items: { type: 'string' } }], hint: 'a string or a list of strings' };
const flag: ParamSpec = { type: 'boolean' };

/** The deb822 fields, by Ansible's parameter names (types defaults to deb). */
const FIELDS: Record<string, ParamSpec> = {
  allow_downgrade_to_insecure: flag, allow_insecure: flag, allow_weak: flag, architectures: list, by_hash: flag,
  check_date: flag, check_valid_until: flag, components: list, date_max_future: { type: 'integer', min: 0 },
  enabled: flag, inrelease_path: { type: 'string' }, languages: list, pdiffs: flag,
  signed_by: { type: 'string', description: 'a keyring path on the host, or key fingerprints' },
  suites: list, targets: list, trusted: flag, types: list, uris: list,
};

/** Ansible's file name for a repo name: lower case, spaces and _ as -, other characters dropped. */
export function repoSlug(name: string): string {
  return name.toLowerCase().replace(/[_\s]+/g, '-').replace(/[^a-z0-9-]+/g, '');
}

const fieldName = (key: string) => (key === 'name' ? 'X-Repolib-Name' : key === 'uris' ? 'URIs' : key.replace(/_/g, '-').replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase()));
const text = (v: Value) => (typeof v === 'boolean' ? (v ? 'yes' : 'no') : Array.isArray(v) ? v.join(' ') : String(v));

/** The .sources file Ansible writes: its fields in the order of the parameter names, sorted. */
export function deb822Text(p: Deb822RepositoryParams): string {
  const fields: Record<string, Value | undefined> = { types: 'deb', ...p, state: undefined, mode: undefined };
  return Object.keys(fields).sort().filter((k) => fields[k] !== undefined).map((k) => `${fieldName(k)}: ${text(fields[k]!)}\n`).join('');
}

/** As Ansible's deb822_repository: /etc/apt/sources.list.d/<name>.sources with the given fields, or removed. */
export const deb822RepositoryModule: Module<Deb822RepositoryParams> = {
  name: 'deb822_repository',
  params: {
    name: { type: 'string', required: true },
    state: { type: 'string', enum: ['present', 'absent'], default: 'present' },
    mode: modeParam,
    ...FIELDS,
  },
  validate: (p) => ((p.state ?? 'present') === 'present' && (p.uris === undefined || p.suites === undefined) ? [['uris', 'state present needs uris and suites']] : []),
  facts: (p, ctx) => [fileFact(`${SOURCES_DIR}/${repoSlug(p.name)}.sources`), leftoversFact(`${SOURCES_DIR}/${repoSlug(p.name)}.sources`, ctx)],
  plan(p, read, ctx) {
    const path = `${SOURCES_DIR}/${repoSlug(p.name)}.sources`;
    const current = read(fileFact(path));
    if (p.state === 'absent') {
      if (current.type === 'absent') return { changes: [], reason: `${path} absent` };
      return { changes: [{ title: `remove ${path}`, commands: [{ argv: ['rm', '-f', path] }] }] };
    }
    const changes = planFileWrite({ path, content: deb822Text(p), mode: p.mode ?? '0644', runId: ctx.runId }, current);
    return withLeftoverRemoval(changes.length ? { changes } : { changes, reason: `${path} up to date` }, path, read(leftoversFact(path, ctx)));
  },
};
