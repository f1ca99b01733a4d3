import type { HttpRequest } from '../facts/http-fetch.js';

/** The request options of Ansible's url_argument_spec (and get_url's own), as a task gives them. */
export interface HttpOptions {
  timeout?: number;
  validate_certs?: boolean;
  headers?: Record<string, string>;
  url_username?: string;
  url_password?: string;
  force_basic_auth?: boolean;
  http_agent?: string;
  use_proxy?: boolean;
  use_netrc?: boolean;
  client_cert?: string;
  client_key?: string;
  ciphers?: string[];
  unredirected_headers?: string[];
}

/** A string in curl's config syntax: double quotes, with backslash and quote escaped (line breaks are refused offline). */
const curlString = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * What may hold a secret (headers, the user and password) as tagged curl config lines (see
 * HttpRequest), as Ansible's fetch_url sends them: a header named in unredirected_headers on the
 * first request only, the others on every request; forced basic auth is an Authorization header
 * like them; otherwise the credentials answer a challenge from the URL's own host only.
 */
function taggedConfig(p: HttpOptions): string {
  const unredirected = new Set((p.unredirected_headers ?? []).map((h) => h.toLowerCase()));
  const tag = (name: string) => (unredirected.has(name.toLowerCase()) ? 'f' : 'a');
  const lines = Object.entries(p.headers ?? {}).map(([k, v]) => `${tag(k)} header = ${curlString(`${k}: ${v}`)}`);
  if (p.url_username !== undefined || p.url_password !== undefined) {
    lines.push(`${p.force_basic_auth ? tag('Authorization') : 's'} user = ${curlString(`${p.url_username ?? ''}:${p.url_password ?? ''}`)}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/**
 * curl's options for the rest, as fetch_url takes them: fail on an HTTP error, 3 retries, the
 * timeout to connect, certificates checked unless validate_certs is false, its User-Agent,
 * proxies, ~/.netrc, a client certificate, basic auth only when challenged unless forced, and
 * the TLS ciphers (joined with ":" as Ansible joins them; curl's --ciphers, like Python's
 * set_ciphers, sets those of TLS 1.2 and older).
 */
export function httpRequest(p: HttpOptions): HttpRequest {
  const args = [
    '-fsS', '--retry', '3', '--connect-timeout', String(p.timeout ?? 10),
    ...(p.validate_certs === false ? ['-k'] : []),
    '-A', p.http_agent ?? 'ansible-httpget',
    ...(p.use_proxy === false ? ['--noproxy', '*'] : []),
    ...(p.use_netrc === false ? [] : ['--netrc-optional']),
    ...(p.client_cert !== undefined ? ['--cert', p.client_cert] : []),
    ...(p.client_key !== undefined ? ['--key', p.client_key] : []),
    ...(p.url_username !== undefined || p.url_password !== undefined ? [p.force_basic_auth ? '--basic' : '--anyauth'] : []),
    ...(p.ciphers?.length ? ['--ciphers', p.ciphers.join(':')] : []),
  ];
  return { args, config: taggedConfig(p) };
}
