import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { onNode } from './lab.js';
import { loadPause, trackLoad } from './running-loads.js';

/** HTTP(S) from the test machine to a lab LB: requests, waits and steady load for the e2e suites. */

export const LB_PUBLIC = '172.30.10.11';

export interface Answer {
  status: number;
  body: string;
  location?: string;
  headers: IncomingHttpHeaders;
}

/** GET through the LB with this Host (and SNI, for tls); `sni` sends another TLS server name. */
export function get(host: string, opts: { tls?: boolean; path?: string; sni?: string; address?: string; timeoutMs?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = (opts.tls ? httpsRequest : httpRequest)(
      {
        host: opts.address ?? LB_PUBLIC,
        port: opts.tls ? 443 : 80,
        path: opts.path ?? '/',
        headers: { Host: host },
        servername: opts.tls ? (opts.sni ?? host) : undefined,
        rejectUnauthorized: false,
        agent: false,
        timeout: opts.timeoutMs ?? 5000,
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, location: res.headers.location, headers: res.headers }));
        // a connection closed in the middle of the answer (a server stopped hard) ends in 'close' without 'end'
        res.on('error', reject);
        res.on('close', () => (res.complete ? undefined : reject(new Error(`answer cut off (HTTP ${res.statusCode})`))));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `probe` every 250 ms until `ok`, failing the test after `timeoutMs`; returns the value and how long it took. */
export async function waitFor<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  let value = await probe();
  while (!ok(value)) {
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
    value = await probe();
  }
  return { value, ms: Date.now() - start };
}

/** Backends in an app's rendered nginx upstream on an LB node (the placeholder excluded). */
export async function upstream(app: string, lb = 'lb1'): Promise<string[]> {
  const conf = await onNode(lb, `cat /etc/nginx/conf.d/${app}.conf`);
  return [...conf.matchAll(/^\s*server (\S+) max_fails/gm)].map((m) => m[1]!).filter((s) => s !== '127.0.0.1:65535').sort();
}

export function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 2000 });
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
    s.on('timeout', () => (s.destroy(), resolve(false)));
  });
}

export interface LoadResult {
  total: number;
  failed: string[];
  /** the longest time from the last answered request before a failure to the next answered one (0: none failed) */
  longestOutageMs: number;
}

/** Requests through the LB, `concurrency` at a time, until stopped; counts answers that are not 2xx. */
export function steadyLoad(host: string, concurrency: number, opts: { tls?: boolean; timeoutMs?: number } = {}): { stop: () => Promise<LoadResult> } {
  let running = true;
  const untrack = trackLoad(() => (running = false));
  let total = 0;
  const failed: string[] = [];
  let lastOk = Date.now();
  let outageFrom: number | undefined;
  let longestOutageMs = 0;
  const worker = async () => {
    while (running) {
      total++;
      let ok = false;
      try {
        const a = await get(host, opts);
        ok = a.status >= 200 && a.status <= 299;
        if (!ok) failed.push(`HTTP ${a.status}`);
      } catch (error) {
        failed.push((error as Error).message);
      }
      const now = Date.now();
      if (ok) {
        if (outageFrom !== undefined) longestOutageMs = Math.max(longestOutageMs, now - outageFrom);
        outageFrom = undefined;
        lastOk = now;
      } else {
        outageFrom ??= lastOk;
        await new Promise((r) => setTimeout(r, 10)); // a refused connection fails at once: do not spin
      }
      if (ok) await loadPause();
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    stop: async () => {
      running = false;
      untrack();
      await Promise.all(workers);
      if (outageFrom !== undefined) longestOutageMs = Math.max(longestOutageMs, Date.now() - outageFrom);
      return { total, failed, longestOutageMs };
    },
  };
}
