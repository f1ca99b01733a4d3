import { PORT_OPEN_FN, URL_STATUS_FN, portOpenFact, urlStatusFact } from '../facts/wait-for.js';
import type { Module } from './types.js';

export type WaitForParams = {
  port?: number;
  host?: string;
  url?: string;
  status?: number | number[];
  timeout?: number;
};

const statusesOf = (p: WaitForParams) => (p.status === undefined ? [200] : Array.isArray(p.status) ? p.status : [p.status]);

/**
 * The poll loop ends itself at its deadline; the command's own time limit (instead of the run's
 * --command-timeout) leaves room for the last check (curl at most 5 s, the port probe 3 s) and sleep.
 */
const LAST_CHECK_S = 10;

/** sh loop polling `check` (which sees the positional args) once a second until it succeeds or the deadline passes. */
function pollScript(functions: string, check: string, what: string, timeout: number): string {
  return `${functions}
deadline=$(( $(date +%s) + ${timeout} ))
while :; do
  if ${check}; then exit 0; fi
  if [ "$(date +%s)" -ge "$deadline" ]; then echo "timed out after ${timeout}s waiting for ${what}" >&2; exit 1; fi
  sleep 1
done`;
}

export const waitForModule: Module<WaitForParams> = {
  name: 'wait_for',
  params: {
    port: { type: 'integer', min: 1, max: 65535 },
    host: { type: 'string', default: '127.0.0.1', pattern: /^[A-Za-z0-9.:-]+$/, patternHint: 'a host name or IP address' },
    url: { type: 'string', pattern: /^https?:\/\/\S+$/, patternHint: 'an http(s) URL' },
    status: {
      type: 'oneOf',
      hint: 'an HTTP status or a list of them',
      alternatives: [{ type: 'integer', min: 100, max: 599 }, { type: 'list', minItems: 1, items: { type: 'integer', min: 100, max: 599 } }],
    },
    timeout: { type: 'integer', min: 1, default: 60, description: 'seconds' },
  },
  validate(p) {
    if ((p.port === undefined) === (p.url === undefined)) return [['port', 'give exactly one of port or url']];
    if (p.status !== undefined && p.url === undefined) return [['status', 'status is only used with url']];
    return [];
  },
  facts: (p) => [p.url !== undefined ? urlStatusFact(p.url) : portOpenFact(p.host ?? '127.0.0.1', p.port!)],
  plan(p, read) {
    const timeout = p.timeout ?? 60;
    if (p.url !== undefined) {
      const statuses = statusesOf(p);
      const now = read(urlStatusFact(p.url));
      if (statuses.includes(now)) return { changes: [], reason: `${p.url} answers ${now}` };
      const check = `case "$(url_status "$1")" in ${statuses.join('|')}) true ;; *) false ;; esac`;
      return {
        changes: [{
          title: `wait for ${p.url} to answer ${statuses.join(' or ')} (${now === 0 ? 'no answer' : `answers ${now}`} now)`,
          commands: [{ argv: ['sh', '-c', pollScript(URL_STATUS_FN, check, '$1', timeout), 'sh', p.url] }],
          timeout: timeout + LAST_CHECK_S,
        }],
      };
    }
    const host = p.host ?? '127.0.0.1';
    if (read(portOpenFact(host, p.port!))) return { changes: [], reason: `${host}:${p.port} open` };
    return {
      changes: [{
        title: `wait for ${host}:${p.port} (closed now)`,
        commands: [{ argv: ['sh', '-c', pollScript(PORT_OPEN_FN, 'port_open "$1" "$2"', '$1:$2', timeout), 'sh', host, String(p.port)] }],
        timeout: timeout + LAST_CHECK_S,
      }],
    };
  },
};
