/**
 * Steady HTTP(S) load spread over several LB addresses, failing over as a DNS round-robin client
 * does: a request that cannot connect to one address (refused, unreachable, no connect within 1 s)
 * goes to the next. A request that connected and then got no 2xx answer counts as failed.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { loadPause, trackLoad } from './running-loads.js';

export interface LoadResult {
  total: number;
  /** why each failed request failed */
  failed: string[];
  /** requests that needed another address than their first */
  failovers: number;
}

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNTIMEOUT']);

function once(address: string, host: string, tls: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = (tls ? httpsRequest : httpRequest)(
      { host: address, port: tls ? 443 : 80, path: '/', headers: { Host: host }, servername: tls ? host : undefined, rejectUnauthorized: false, agent: false, timeout: 5000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('socket', (socket) => {
      const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no connection to ${address} within 1 s`), { code: 'ECONNTIMEOUT' })), 1000);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${address} within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

export function steadyLoad(opts: { addresses: string[]; host: string; concurrency: number; tls?: boolean }): { stop: () => Promise<LoadResult> } {
  let running = true;
  const untrack = trackLoad(() => (running = false));
  let total = 0;
  let failovers = 0;
  const failed: string[] = [];
  const worker = async (w: number) => {
    for (let n = w; running; n += opts.concurrency) {
      total++;
      const order = opts.addresses.map((_, i) => opts.addresses[(n + i) % opts.addresses.length]!);
      for (const [i, address] of order.entries()) {
        try {
          const status = await once(address, opts.host, Boolean(opts.tls));
          if (status < 200 || status > 299) failed.push(`${address}: HTTP ${status}`);
          else await loadPause();
          if (i > 0) failovers++;
          break;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code ?? '';
          if (CONNECT_ERRORS.has(code) && i < order.length - 1) continue;
          failed.push(`${address}: ${(error as Error).message}`);
          break;
        }
      }
    }
  };
  const workers = Array.from({ length: opts.concurrency }, (_, w) => worker(w));
  return {
    stop: async () => {
      running = false;
      untrack();
      await Promise.all(workers);
      return { total, failed, failovers };
    },
  };
}

/** GET / on one address every `everyMs` (timeout 500 ms); the longest time without a 2xx answer. */
export function prober(address: string, host: string, everyMs = 100): { stop: () => { probes: number; longestGapMs: number; failures: number } } {
  let running = true;
  const untrack = trackLoad(() => (running = false));
  let lastOk = Date.now();
  let longestGapMs = 0;
  let probes = 0;
  let failures = 0;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      probes++;
      const ok = await Promise.race([
        once(address, host, false).then((s) => s >= 200 && s < 300, () => false),
        new Promise<boolean>((r) => setTimeout(() => r(false), 500)),
      ]);
      const now = Date.now();
      if (ok) {
        longestGapMs = Math.max(longestGapMs, now - lastOk);
        lastOk = now;
      } else failures++;
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (now - started))));
    }
  })();
  return {
    stop: () => {
      running = false;
      untrack();
      void loop;
      return { probes, longestGapMs: Math.max(longestGapMs, Date.now() - lastOk), failures };
    },
  };
}
