import { quote } from '../argv.js';
import type { Fact } from './types.js';

/**
 * sh functions shared by the facts (is it up now?) and the wait_for change (poll until up).
 * port_open uses bash's /dev/tcp (bash is Essential on Debian) and falls back to curl's
 * telnet:// (a non-zero connect time means the TCP handshake succeeded).
 */
export const PORT_OPEN_FN = `port_open() {
  if command -v bash >/dev/null 2>&1; then
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
  else
    t=$(curl -s -o /dev/null -w '%{time_connect}' --connect-timeout 3 -m 2 "telnet://$1:$2" </dev/null 2>/dev/null)
    case "$t" in *[1-9]*) true ;; *) false ;; esac
  fi
}`;

export const URL_STATUS_FN = `url_status() {
  curl -s -o /dev/null -w '%{http_code}' --connect-timeout 3 --max-time 5 "$1" 2>/dev/null
}`;

export function portOpenFact(host: string, port: number): Fact<boolean> {
  return {
    key: `port-open:${host}:${port}`,
    script: `${PORT_OPEN_FN}
if port_open ${quote(host)} ${port}; then echo open; else echo closed; fi`,
    parse: (stdout) => stdout.trim() === 'open',
  };
}

/** HTTP status of a GET to url now; 0 when nothing answered. */
export function urlStatusFact(url: string): Fact<number> {
  return {
    key: `url-status:${url}`,
    script: `${URL_STATUS_FN}
url_status ${quote(url)}`,
    parse: (stdout) => Number(stdout.trim()) || 0,
  };
}
