import { backoffMs, realClock, type Clock } from './clock.js';
import { CloudApiError } from './errors.js';

export interface ApiOptions {
  /** e.g. https://api.digitalocean.com (no trailing /v2) */
  baseUrl: string;
  token: string;
  clock?: Clock;
  /** attempts per request for 5xx / network errors (idempotent requests only) and for 429 */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** never wait longer than this for a rate limit to reset */
  maxRateLimitWaitMs?: number;
  /** progress notes (retries, waits); never given the token */
  onNote?: (note: string) => void;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
}

export interface RequestOptions {
  /** Safe to resend after a 5xx or a network error. Default: true for GET, DELETE, PUT. */
  idempotent?: boolean;
  /** the token scopes the endpoint needs (scopes.ts), named when the API answers 403 */
  scopes?: readonly string[];
}

interface ErrorBody {
  id?: string;
  message?: string;
  request_id?: string;
}

interface PagedBody {
  links?: { pages?: { next?: string } };
}

const PAGE_SIZE = 200;

/** Digital Ocean API v2 over fetch: bearer auth, JSON, retries with backoff, rate-limit waits. */
export class DoApi {
  private readonly clock: Clock;
  private readonly maxAttempts: number;
  private readonly backoffBaseMs: number;
  private readonly backoffCapMs: number;
  private readonly maxRateLimitWaitMs: number;
  readonly baseUrl: string;

  constructor(private readonly options: ApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.clock = options.clock ?? realClock;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.backoffBaseMs = options.backoffBaseMs ?? 1000;
    this.backoffCapMs = options.backoffCapMs ?? 30_000;
    this.maxRateLimitWaitMs = options.maxRateLimitWaitMs ?? 120_000;
  }

  url(pathAndQuery: string): string {
    return `${this.baseUrl}${pathAndQuery}`;
  }

  async request<T>(method: string, pathAndQuery: string, body?: unknown, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
    const idempotent = opts.idempotent ?? ['GET', 'DELETE', 'PUT', 'HEAD'].includes(method);
    const what = `${method} ${pathAndQuery}`;
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= this.maxAttempts;
      let res: Response;
      try {
        res = await fetch(this.url(pathAndQuery), {
          method,
          headers: {
            Authorization: `Bearer ${this.options.token}`,
            Accept: 'application/json',
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (err) {
        const reason = networkReason(err);
        if (idempotent && !last) {
          await this.backoff(attempt, `${what}: ${reason}`);
          continue;
        }
        throw new CloudApiError(`DigitalOcean API ${what} failed: ${reason}`, undefined, undefined, undefined, undefined, true);
      }

      if (res.status === 429 && !last) {
        await this.waitForRateLimit(res, what);
        continue;
      }
      if (res.status >= 500 && idempotent && !last) {
        await res.arrayBuffer().catch(() => undefined);
        await this.backoff(attempt, `${what}: HTTP ${res.status}`);
        continue;
      }
      const text = await res.text();
      if (!res.ok) throw apiError(what, res.status, text, opts.scopes);
      if (text === '') return { status: res.status, body: undefined as T };
      try {
        return { status: res.status, body: JSON.parse(text) as T };
      } catch {
        throw new CloudApiError(`DigitalOcean API ${what}: HTTP ${res.status} with a body that is not JSON`, res.status);
      }
    }
  }

  /** GET every page of a list, following links.pages.next (always against our own base URL). */
  async listAll<T>(path: string, key: string, scopes?: readonly string[]): Promise<T[]> {
    const items: T[] = [];
    const sep = path.includes('?') ? '&' : '?';
    let next: string | undefined = `${path}${sep}per_page=${PAGE_SIZE}`;
    for (let pages = 0; next !== undefined; pages++) {
      if (pages > 1000) throw new CloudApiError(`DigitalOcean API GET ${path}: more than 1000 pages, giving up`);
      const res: ApiResponse<Record<string, unknown> & PagedBody> = await this.request('GET', next, undefined, { scopes });
      const page = res.body[key];
      if (!Array.isArray(page)) throw new CloudApiError(`DigitalOcean API GET ${next}: response has no "${key}" array`, res.status);
      items.push(...(page as T[]));
      const nextLink = res.body.links?.pages?.next;
      // The token goes only to the configured API: keep the link's path and query, not its host.
      next = nextLink ? pathAndQueryOf(nextLink) : undefined;
    }
    return items;
  }

  private async backoff(attempt: number, why: string): Promise<void> {
    const ms = backoffMs(attempt - 1, this.backoffBaseMs, this.backoffCapMs);
    this.options.onNote?.(`retrying in ${Math.round(ms / 100) / 10}s after ${why}`);
    await this.clock.sleep(ms);
  }

  private async waitForRateLimit(res: Response, what: string): Promise<void> {
    await res.arrayBuffer().catch(() => undefined);
    const ms = Math.max(1000, Math.min(this.maxRateLimitWaitMs, rateLimitWaitMs(res.headers, this.clock.now())));
    this.options.onNote?.(`rate limited on ${what}: waiting ${Math.ceil(ms / 1000)}s (ratelimit-reset ${res.headers.get('ratelimit-reset') ?? 'absent'})`);
    await this.clock.sleep(ms);
  }
}

/** How long a 429 asks us to wait: Retry-After (seconds) if sent, else until ratelimit-reset (epoch seconds). */
export function rateLimitWaitMs(headers: Headers, nowMs: number): number {
  const retryAfter = Number(headers.get('retry-after'));
  if (headers.get('retry-after') !== null && Number.isFinite(retryAfter)) return retryAfter * 1000;
  const reset = Number(headers.get('ratelimit-reset'));
  if (headers.get('ratelimit-reset') !== null && Number.isFinite(reset)) return reset * 1000 - nowMs;
  return 60_000;
}

function apiError(what: string, status: number, text: string, scopes?: readonly string[]): CloudApiError {
  let parsed: ErrorBody = {};
  try {
    parsed = JSON.parse(text) as ErrorBody;
  } catch {
    /* not the documented error shape; fall back to the raw text */
  }
  const id = typeof parsed.id === 'string' ? parsed.id : undefined;
  const message = typeof parsed.message === 'string' ? parsed.message : text.trim().slice(0, 200);
  const requestId = typeof parsed.request_id === 'string' ? parsed.request_id : undefined;
  const detail = [`HTTP ${status}`, id, message].filter(Boolean).join(' ');
  // A 403 does not say which permission is missing: name the scopes this endpoint is documented to need.
  const scopeHint = status === 403 && scopes?.length ? `; this request needs the token scope${scopes.length > 1 ? 's' : ''} ${scopes.join(', ')}` : '';
  return new CloudApiError(
    `DigitalOcean API ${what} failed: ${detail}${requestId ? ` (request_id ${requestId})` : ''}${scopeHint}`,
    status,
    id,
    message,
    requestId,
    status >= 500,
    status === 403 ? scopes : undefined,
  );
}

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

function pathAndQueryOf(link: string): string {
  const u = new URL(link, 'http://placeholder');
  return `${u.pathname}${u.search}`;
}
