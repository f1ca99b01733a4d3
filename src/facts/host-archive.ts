import { quote } from '../argv.js';
import { normalizeMode, type FileState } from './file.js';
import { HTTP_FETCH, type HttpRequest } from './http-fetch.js';
import type { ScriptFact } from './types.js';

/** An archive already on the host (unarchive's remote_src), read where it is. */
export interface HostArchive {
  /** why it cannot be read (missing, no unzip, not an archive) */
  error?: string;
  kind?: 'zip' | 'tar';
  /** the uid the fact ran as (Ansible ignores tar's Uid/Gid differences unless root) */
  uid: number;
  /** the archive's members, relative to dest ("." for dest itself) */
  entries: string[];
  /** zip: members that differ from dest (type, content or link target) */
  differs: string[];
  /** tar: the lines of `tar --compare` run in dest */
  compare: string[];
  /** zip with keep_newer: members whose file under dest is newer than the archive's, left as they are */
  kept: string[];
  /** with attributes asked for: the state of each member under dest, and of each member's top folder */
  states: Map<string, FileState>;
}

/**
 * What dest holds of an archive on the host. A zip is unpacked into a temp dir (removed on exit)
 * and each member compared with dest's (cmp, readlink), as Ansible compares a zip member by
 * member; a tar is listed and checked with `tar --compare`. With `withStates`, each member's
 * mode, owner and group under dest (and its top folder's) follow, for owner/group/mode.
 */
/** How the task reads the archive: extra_opts (to unzip and tar), keep_newer, and tar's include/exclude (a zip's are applied to the fact's answer). */
export interface HostArchiveOptions {
  extraOpts: readonly string[];
  keepNewer: boolean;
  include: readonly string[];
  exclude: readonly string[];
  /** src is a URL: downloaded first (into a temp file removed on exit) with these request options, as Ansible's unarchive fetches it */
  download?: HttpRequest;
}

/** With `download`: the archive fetched into a temp file that then stands for src. */
const downloadLines = (request: HttpRequest | undefined) => (request === undefined ? [] : [
  'dl=$(mktemp) || exit 1',
  'trap \'rm -f "$dl"\' EXIT',
  'cfg=',
  HTTP_FETCH,
  `if ! e=$(fetch "$dl" "$src" ${request.args.map(quote).join(' ')} 2>&1); then echo "error=Failure downloading $src, $(printf %s "$e" | tail -n 1)"; exit 0; fi`,
  'src=$dl',
]);

const script = (o: HostArchiveOptions) => {
  const opts = o.extraOpts.map(quote).join(' ');
  const shown = o.extraOpts.length ? `--show-transformed-names ${opts}` : '';
  const select = [...o.exclude.map((e) => quote(`--exclude=${e.replace(/\/+$/, '')}`)), ...(o.include.length ? ['--wildcards'] : [])].join(' ');
  const members = ['-f "$src"', ...o.include.map(quote)].join(' ');
  return [
  'src=$1; dest=$2; states=$3; dl=',
  'echo "uid=$(id -u)"',
  ...downloadLines(o.download),
  'if [ ! -f "$src" ] || [ ! -r "$src" ]; then echo "error=Source \'$src\' does not exist or is not readable"; exit 0; fi',
  'if [ "$(head -c 2 -- "$src")" = PK ]; then',
  '  echo kind=zip',
  '  command -v unzip >/dev/null 2>&1 || { echo "error=unzip is not installed on the host: a zip archive needs it (the Debian package unzip)"; exit 0; }',
  '  t=$(mktemp -d) || exit 1',
  '  trap \'rm -rf "$t" ${dl:+"$dl"}\' EXIT; trap \'exit 1\' HUP INT TERM',
  `  out=$(unzip -qq -o ${opts} "$src" -d "$t" 2>&1) || { echo "error=unzip could not read $src: $(printf %s "$out" | tail -n 1)"; exit 0; }`,
  '  list=$(cd "$t" && find . -mindepth 1 | sed "s|^\\./||")',
  '  printf "%s\\n" "$list" | while IFS= read -r p; do',
  '    [ -n "$p" ] || continue',
  '    echo "entry=$p"; a=$t/$p; b=$dest/$p',
  '    if [ -L "$a" ]; then [ -L "$b" ] && [ "$(readlink -- "$a")" = "$(readlink -- "$b")" ] || echo "differs=$p"',
  '    elif [ -d "$a" ]; then [ -d "$b" ] && [ ! -L "$b" ] || echo "differs=$p"',
  ...(o.keepNewer ? ['    elif [ -f "$b" ] && [ ! -L "$b" ] && [ "$b" -nt "$a" ]; then echo "kept=$p"'] : []),
  '    else [ -f "$b" ] && [ ! -L "$b" ] && cmp -s -- "$a" "$b" || echo "differs=$p"; fi',
  '  done',
  'else',
  '  echo kind=tar',
  `  list=$(tar -t ${shown} ${select} ${members} 2>&1) || { echo "error=tar could not read $src: $(printf %s "$list" | tail -n 1)"; exit 0; }`,
  '  printf "%s\\n" "$list" | while IFS= read -r p; do [ -z "$p" ] || echo "entry=$p"; done',
  `  (cd "$dest" && tar --compare ${shown} ${o.keepNewer ? '--keep-newer-files' : ''} ${select} ${members} 2>&1) | while IFS= read -r l; do echo "compare=$l"; done`,
  'fi',
  '[ -n "$states" ] || exit 0',
  'printf "%s\\n" "$list" | while IFS= read -r p; do p=${p#/}; p=${p#./}; p=${p%/}; printf "%s\\n%s\\n" "${p:-.}" "${p%%/*}"; done | awk \'NF && !seen[$0]++\' |',
  '  while IFS= read -r p; do s=$(stat -c "%f:%a:%u:%g:%U:%G" -- "$dest/$p" 2>/dev/null) && printf "stat=%s:%s\\n" "$s" "$p"; done; :',
  ].join('\n');
};

const TYPES: Record<number, FileState['type']> = { 0o120000: 'link', 0o040000: 'directory', 0o100000: 'file' };

/** A member's name as a path under dest: no leading `/` (as Ansible strips it) or `./`, no trailing `/`; dest itself is ".". */
export const memberPath = (name: string) => name.replace(/^\/+/, '').replace(/^\.\//, '').replace(/\/+$/, '') || '.';

const NO_OPTIONS: HostArchiveOptions = { extraOpts: [], keepNewer: false, include: [], exclude: [] };

export function hostArchiveFact(src: string, dest: string, withStates: boolean, options: HostArchiveOptions = NO_OPTIONS): ScriptFact<HostArchive> {
  const optionsKey = JSON.stringify(options) === JSON.stringify(NO_OPTIONS) ? '' : `\0${JSON.stringify(options)}`;
  return {
    key: `host-archive:${withStates ? 'states:' : ''}${src}\0${dest}${optionsKey}`,
    script: `set -- ${quote(src)} ${quote(dest)} ${withStates ? '1' : "''"}\n${script(options)}`,
    parse(stdout) {
      const out: HostArchive = { uid: -1, entries: [], differs: [], compare: [], kept: [], states: new Map() };
      for (const line of stdout.split('\n')) {
        const at = line.indexOf('=');
        const [tag, value] = [line.slice(0, at), line.slice(at + 1)];
        if (tag === 'uid') out.uid = Number(value);
        else if (tag === 'error') out.error = value;
        else if (tag === 'kind') out.kind = value as HostArchive['kind'];
        else if (tag === 'entry') out.entries.push(value);
        else if (tag === 'differs') out.differs.push(value);
        else if (tag === 'compare') out.compare.push(value);
        else if (tag === 'kept') out.kept.push(value);
        else if (tag === 'stat') {
          const [raw, mode, uid, gid, owner, group, ...rest] = value.split(':');
          const path = rest.join(':');
          out.states.set(path, { path, type: TYPES[parseInt(raw!, 16) & 0o170000] ?? 'other', mode: normalizeMode(mode!), uid: Number(uid), gid: Number(gid), owner, group });
        }
      }
      return out;
    },
  };
}
