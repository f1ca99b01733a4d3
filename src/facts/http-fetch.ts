import { createHash } from 'node:crypto';
import { quote } from '../argv.js';
import type { ScriptFact } from './types.js';

/**
 * One GET as Ansible's fetch_url makes it, for curl on the host: options for every request (on
 * curl's command line: no secrets there) and curl config lines (headers, the user and password),
 * each tagged with the requests it goes to: `f ` the first only, `s ` also after a redirect that
 * stays on the URL's scheme://host:port, `a ` every request.
 */
export interface HttpRequest {
  args: string[];
  /** tagged curl config lines, one per line; '' when there are none */
  config: string;
}

/**
 * Shell functions: `fetch OUT URL CURL-OPTION...` gets URL into OUT, following redirects itself
 * (at most 10, as Python's urllib), so each request gets only the config lines its tag allows:
 * Ansible's unredirected headers stay off a redirected request, credentials off another host.
 * The tagged config is in $cfg. Returns curl's exit code on failure.
 */
export const HTTP_FETCH = [
  "origin_of() { printf '%s\\n' \"$1\" | sed 's|^\\([A-Za-z][A-Za-z0-9+.-]*://[^/?#]*\\).*|\\1|' | tr A-Z a-z; }",
  'fetch() {',
  '  out=$1; u=$2; from=$2; shift 2; sel=\'s/^. //p\'; n=0; origin=$(origin_of "$u")',
  '  while :; do',
  '    if [ -n "$cfg" ]; then w=$(printf \'%s\\n\' "$cfg" | sed -n "$sel" | curl "$@" -K - -w \'%{http_code} %{redirect_url}\' -o "$out" -- "$u") || return',
  '    else w=$(curl "$@" -w \'%{http_code} %{redirect_url}\' -o "$out" -- "$u") || return; fi',
  '    next=${w#* }',
  '    case ${w%% *} in 301|302|303|307|308) [ -n "$next" ] || return 0 ;; *) return 0 ;; esac',
  '    n=$((n + 1)); [ "$n" -le 10 ] || { echo "more than 10 redirects from $from" >&2; return 47; }',
  '    if [ "$(origin_of "$next")" = "$origin" ]; then sel=\'s/^[as] //p\'; else sel=\'s/^a //p\'; fi',
  '    u=$next',
  '  done',
  '}',
].join('\n');

/** A here-document feeding `text` to $cfg inside a script (the batch goes to the host on stdin, never on a command line). */
function configAssignment(text: string): string {
  if (text === '') return 'cfg=';
  const end = `BOOTSTRAP_CURL_CONFIG_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
  return `cfg=$(cat <<'${end}'\n${text.replace(/\n$/, '')}\n${end}\n)`;
}

export interface UrlText {
  /** curl's exit code: 0 when `text` is the body */
  exitCode: number;
  /** the body, or curl's error message */
  text: string;
}

/**
 * A small text file fetched on the host (get_url's checksum file) with the task's request
 * options, as Ansible fetches it: its body, or curl's error. The key holds a digest of the
 * options, never the options themselves (they may hold a password).
 */
export function urlTextFact(url: string, request: HttpRequest): ScriptFact<UrlText> {
  const digest = createHash('sha256').update(JSON.stringify(request)).digest('hex').slice(0, 16);
  return {
    key: `url-text:${digest}:${url}`,
    script: [
      't=$(mktemp) || exit 1',
      'trap \'rm -f "$t"\' EXIT',
      configAssignment(request.config),
      HTTP_FETCH,
      `if e=$(fetch "$t" ${quote(url)} ${request.args.map(quote).join(' ')} 2>&1); then cat "$t"; else r=$?; printf '%s\\n' "$e"; exit "$r"; fi`,
    ].join('\n'),
    parse: (stdout, exitCode) => ({ exitCode, text: stdout }),
  };
}
