import { sh, type ArgvCommand } from '../argv.js';
import type { PackageState } from '../facts/packages.js';
import { aptListsAgeFact, packagesFact } from '../facts/packages.js';
import { APT_TIMEOUT, aptGet, installCommands, TRY_TIMEOUT, updateChange } from './apt-get.js';
import type { Change, Module, Plan } from './types.js';

export type PackageParams = {
  name: string | string[];
  state?: 'present' | 'absent' | 'latest';
  proxy?: string;
  cache_valid_time?: number;
  policy_rc_d?: number;
  timeout?: number;
  update_cache_retries?: number;
  update_cache_retry_max_delay?: number;
};

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?(=[A-Za-z0-9.+~:-]+)?$/;

function namesOf(p: PackageParams): string[] {
  return typeof p.name === 'string' ? [p.name] : [...p.name];
}

/** name without =version / :arch, as dpkg-query and apt-cache report it */
function baseName(spec: string): string {
  return spec.split('=')[0]!.split(':')[0]!;
}

/*
 * As Ansible's apt `policy_rc_d`: while apt runs, /usr/sbin/policy-rc.d answers this exit code to the
 * packages' maintainer scripts (101: "do not start services"), so a package does not start its
 * service with the distribution's configuration (e.g. on a port another program holds). An
 * existing policy-rc.d is put back afterwards.
 */
const POLICY_RC_D_SCRIPT = [
  'p=/usr/sbin/policy-rc.d; code=$1; saved=$p.bootstrap-saved-$2; shift 2',
  'if [ -e "$p" ]; then mv "$p" "$saved"; fi',
  `printf '#!/bin/sh\nexit %s\n' "$code" > "$p" && chmod 0755 "$p"`,
  '"$@"; rc=$?',
  'rm -f "$p"; if [ -e "$saved" ]; then mv "$saved" "$p"; fi',
  'exit $rc',
].join('\n');

function withPolicy(p: PackageParams, command: ArgvCommand, runId: string): ArgvCommand {
  if (p.policy_rc_d === undefined) return command;
  return { ...command, argv: [...sh(POLICY_RC_D_SCRIPT), 'sh', String(p.policy_rc_d), runId, ...command.argv] };
}

function installed(s: PackageState | undefined): s is PackageState & { version: string } {
  return s?.installed === true && s.version !== null;
}

/** `runId` (ModuleContext.runId) names the saved policy-rc.d of this run. */
export function planPackages(p: PackageParams, states: Map<string, PackageState>, listsAge: number | null, runId: string): Plan {
  const specs = namesOf(p);
  const state = p.state ?? 'present';
  const cacheValid = p.cache_valid_time ?? 3600;
  const stateOf = (spec: string) => states.get(baseName(spec));

  if (state === 'absent') {
    const remove = specs.filter((spec) => installed(stateOf(spec)));
    if (!remove.length) return { changes: [], reason: `${specs.join(', ')} not installed` };
    return { changes: [{ title: `remove ${remove.join(' ')} (installed)`, commands: [withPolicy(p, aptGet(p, 'remove', ...remove), runId)], timeout: p.timeout ?? APT_TIMEOUT }] };
  }

  const listsStale = listsAge === null || listsAge > cacheValid;
  const staleWhy = listsAge === null ? 'no apt lists yet' : `apt lists ${listsAge}s old, cache_valid_time ${cacheValid}s`;
  const pinned = (spec: string) => spec.split('=')[1];
  const satisfied = (spec: string) => { const s = stateOf(spec); return installed(s) && (pinned(spec) === undefined || pinned(spec) === s.version); };
  const missing = specs.filter((spec) => !satisfied(spec));
  const outdated = state === 'latest'
    ? specs.filter((spec) => { const s = stateOf(spec); return satisfied(spec) && pinned(spec) === undefined && s!.candidate !== null && s!.candidate !== s!.version; })
    : [];
  // state=latest can only tell what is newest from fresh lists
  const needsFreshLists = missing.length > 0 || (state === 'latest' && listsStale);
  if (!needsFreshLists && !outdated.length) {
    return { changes: [], reason: specs.map((spec) => `${baseName(spec)} ${stateOf(spec)!.version}`).join(', ') + (state === 'latest' ? ' (latest)' : '') + ' installed' };
  }

  const changes: Change[] = [];
  const unknown = missing.filter((spec) => stateOf(spec)?.candidate == null);
  const update = (why: string) => updateChange(p, why, { retries: p.update_cache_retries, maxDelay: p.update_cache_retry_max_delay });
  if (unknown.length) changes.push(update(`${unknown.map(baseName).join(', ')} not in the apt cache`));
  else if (listsStale) changes.push(update(staleWhy));

  const refreshed = changes.length > 0;
  const install = state === 'latest' && refreshed ? specs : [...missing, ...outdated];
  const why = (spec: string) => {
    const s = stateOf(spec);
    if (!installed(s)) return 'not installed';
    if (!satisfied(spec)) return `${s.version} installed`;
    if (s.candidate !== null && s.candidate !== s.version) return `${s.version} -> ${s.candidate}`;
    return 'lists refreshed';
  };
  const title = `${missing.length === install.length ? 'install' : 'install/upgrade'} ${install.map((spec) => `${spec} (${why(spec)})`).join(', ')}`;
  changes.push({ title, ...installCommands(p, install, (command) => withPolicy(p, command, runId)) });
  return { changes };
}

/** Candidates matter for packages not installed (the fact looks those up itself), pinned ones and state=latest. */
function statesFact(p: PackageParams) {
  const specs = namesOf(p);
  const candidates = p.state === 'latest' ? specs : specs.filter((spec) => spec.includes('='));
  return packagesFact(specs.map(baseName), candidates.map(baseName));
}

export const packageModule: Module<PackageParams> = {
  name: 'package',
  params: {
    name: {
      type: 'oneOf',
      hint: 'a package name or a list of them',
      alternatives: [
        { type: 'string', pattern: PACKAGE_NAME, patternHint: 'a Debian package name (name[:arch][=version])' },
        { type: 'list', minItems: 1, items: { type: 'string', pattern: PACKAGE_NAME, patternHint: 'a Debian package name (name[:arch][=version])' } },
      ],
      required: true,
    },
    state: { type: 'string', enum: ['present', 'absent', 'latest'], default: 'present' },
    proxy: { type: 'string', pattern: /^(https?:\/\/\S+)?$/, patternHint: 'an http(s) URL or empty', description: 'apt HTTP proxy' },
    cache_valid_time: { type: 'integer', min: 0, default: 3600, description: 'seconds the apt lists stay fresh' },
    policy_rc_d: { type: 'integer', min: 0, max: 255, description: 'exit code of /usr/sbin/policy-rc.d while apt runs (101: installed packages start no service)' },
    timeout: { type: 'integer', min: 1, description: `seconds each apt-get run may take, instead of --command-timeout (default ${APT_TIMEOUT} for an install or removal, ${TRY_TIMEOUT} for each try of apt-get update or of an install's download)` },
    update_cache_retries: { type: 'integer', min: 1, default: 5, description: 'times apt-get update is tried' },
    update_cache_retry_max_delay: { type: 'integer', min: 0, default: 12, description: 'the longest wait in seconds between tries (1, 2, 4, ... seconds)' },
  },
  facts: (p) => [statesFact(p), aptListsAgeFact],
  plan: (p, read, ctx) => planPackages(p, read(statesFact(p)), read(aptListsAgeFact), ctx.runId),
};
