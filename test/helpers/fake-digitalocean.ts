/**
 * A local HTTP server for the Digital Ocean API v2 endpoints that `bootstrap cloud` uses, with
 * in-memory state. It is a stand-in for the provider's paid API (not for anything we deploy) and
 * follows the published OpenAPI description: github.com/digitalocean/openapi, branch main at
 * SPEC_COMMIT. SPEC_FILES lists the files read and, in our own words, what the server takes from each.
 *
 * Time is the injected `now` (tests pass a virtual clock): tags, activation, failed creates and
 * VPC membership all change with it. Faults can be injected: 429 with rate-limit headers, 500s
 * before or after processing, droplet creates that fail or end errored, and a hook that runs
 * just before a matching request (another client acting at the same time).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const SPEC_COMMIT = '7c1300c479fed9c353cda9fc21cd968619552304';

export const SPEC_FILES: Record<string, string> = {
  'specification/DigitalOcean-public.v2.yaml': 'bearer tokens; custom scopes named resource:verb; an operation lists the scopes it needs',
  'specification/resources/droplets/droplets_create.yml': 'name or up to ten names; 202 only means accepted, the create action says how it ended; needs droplet:create',
  'specification/resources/droplets/models/droplet_create.yml': 'tags are applied once the droplet exists; image, ssh_keys, tags and vpc_uuid each need a scope; no vpc_uuid means the region default VPC',
  'specification/resources/droplets/models/droplet_single_create.yml': 'the droplet name pattern and its 255-character limit',
  'specification/resources/droplets/models/droplet_multi_create.yml': 'the same pattern and limit for each of names',
  'specification/resources/droplets/responses/droplet_create.yml': 'droplets plus links.actions',
  'specification/resources/droplets/droplets_list.yml': 'filter by tag_name (also needs tag:read) or by name',
  'specification/resources/droplets/parameters.yml': 'name matches exactly, without regard to case, and cannot be combined with tag_name',
  'specification/resources/droplets/droplets_get.yml': 'one droplet, 404 once it is gone',
  'specification/resources/droplets/droplets_destroy.yml': 'delete one droplet: 204, droplet:delete',
  'specification/resources/droplets/droplets_destroy_byTag.yml': 'delete every droplet of a tag: 204 or 404; droplet:delete and tag:read',
  'specification/resources/droplets/dropletActions_list.yml': "a droplet's actions, its create action among them",
  'specification/resources/droplets/models/droplet.yml': 'status is new, active, off or archive; networks.v4 public and private; tags; vpc_uuid',
  'specification/resources/actions/models/action.yml': 'an action is in-progress, completed or errored',
  'specification/resources/ssh_keys/sshKeys_list.yml': 'ssh_key:read',
  'specification/resources/ssh_keys/sshKeys_create.yml': '201; ssh_key:create',
  'specification/resources/vpcs/vpcs_create.yml': 'the first VPC of a region becomes its default; vpc:create',
  'specification/resources/vpcs/vpcs_delete.yml': 'a default VPC, or one with members, answers 403; vpc:delete',
  'specification/resources/vpcs/vpcs_list.yml': 'vpc:read',
  'specification/resources/vpcs/vpcs_list_members.yml': 'members of a VPC by URN and name; vpc:read',
  'specification/resources/vpcs/models/vpc.yml': 'the VPC name pattern, unique names, a 255-character description, default cannot be unset',
  'specification/resources/vpcs/models/vpc_member.yml': 'urn, name, created_at',
  'specification/resources/tags/models/tags.yml': 'the tag pattern and 255 characters; the first capitalisation of a tag is canonical and requests must use it',
  'specification/resources/tags/tags_list.yml': 'tag:read',
  'specification/resources/sizes/sizes_list.yml': 'sizes:read and regions:read',
  'specification/shared/pages.yml': 'links.pages first/prev/next/last',
  'specification/shared/meta.yml': 'meta.total',
  'specification/shared/headers.yml': 'ratelimit-limit, ratelimit-remaining, ratelimit-reset (epoch seconds)',
  'specification/shared/models/error.yml': 'errors are {id, message, request_id}',
  'specification/shared/responses/forbidden.yml': '403 forbidden',
  'specification/shared/responses/not_found.yml': '404 not_found',
  'specification/shared/responses/conflict.yml': '409 conflict',
};

export interface RecordedRequest {
  method: string;
  /** pathname + query, as sent */
  path: string;
  body?: unknown;
}

export interface FakeSshKey { id: number; fingerprint: string; public_key: string; name: string }
export interface FakeVpc { id: string; urn: string; name: string; description: string; region: string; ip_range: string; default: boolean; created_at: string }
export interface FakeAction { id: number; status: 'in-progress' | 'completed' | 'errored'; type: 'create'; started_at: string; completed_at: string | null; resource_id: number; resource_type: 'droplet'; region_slug: string }
export type CreateFate = 'errored' | 'vanish';
export interface FakeDroplet {
  id: number;
  name: string;
  status: 'new' | 'active' | 'off' | 'archive';
  size_slug: string;
  region: string;
  image: string;
  /** tags applied so far (canonical spelling) */
  tags: string[];
  /** tags asked for at create, applied at tagsAtMs */
  pendingTags: string[];
  tagsAtMs: number;
  activeAtMs: number;
  /** a create that ends badly: the action errors at fateAtMs, and with 'vanish' the droplet is gone */
  fate?: { mode: CreateFate; atMs: number };
  vpc_uuid: string;
  publicIp: string;
  privateIp: string;
  created_at: string;
  action: FakeAction;
}
export interface FakeMember { vpcId: string; urn: string; name: string; created_at: string; untilMs?: number }
export interface FakeSize { slug: string; memory: number; vcpus: number; disk: number; transfer: number; price_monthly: number; price_hourly: number; regions: string[]; available: boolean; description: string }

export interface FakeOptions {
  /** a token with every scope */
  token: string;
  /** public IPv4 for every droplet (tests: 127.0.0.1, where a real sshd listens); default 203.0.113.x */
  publicIpv4?: string;
  /** largest per_page honoured (the API's maximum is 200); lower it to force pagination */
  perPageCap?: number;
  /** how long a new droplet stays "new" */
  activeAfterMs?: number;
  /** how long after a create its tags are applied */
  tagLagMs?: number;
  /** how long a deleted droplet is still listed as a member of its VPC (deletion is not instant) */
  memberLingerMs?: number;
  /** status for deleting a VPC that has members: 403 as the spec says, or 409 (conflict) */
  vpcBusyStatus?: 403 | 409;
  now?: () => number;
}

interface Fault {
  status: number;
  count: number;
  match?: Match;
  /** 500 after the request was processed: the response is "lost" */
  afterProcessing?: boolean;
  resetInSeconds?: number;
}
interface Match { method?: string; pathPrefix?: string }
interface Route { scopes: string[]; run: () => [number, unknown?] }

const REGIONS = ['ams3', 'blr1', 'fra1', 'lon1', 'nyc1', 'nyc3', 'sfo3', 'sgp1', 'syd1', 'tor1'];
const IMAGES: Record<string, { id: number; name: string; distribution: string }> = {
  'debian-12-x64': { id: 145000001, name: '12 x64', distribution: 'Debian' },
  'ubuntu-24-04-x64': { id: 145000002, name: '24.04 (LTS) x64', distribution: 'Ubuntu' },
};

export const FAKE_SIZES: FakeSize[] = [
  { slug: 's-1vcpu-1gb', memory: 1024, vcpus: 1, disk: 25, transfer: 1, price_monthly: 6, price_hourly: 0.00893, regions: REGIONS, available: true, description: 'Basic' },
  { slug: 's-1vcpu-2gb', memory: 2048, vcpus: 1, disk: 50, transfer: 2, price_monthly: 12, price_hourly: 0.01786, regions: REGIONS, available: true, description: 'Basic' },
  { slug: 's-2vcpu-2gb', memory: 2048, vcpus: 2, disk: 60, transfer: 3, price_monthly: 18, price_hourly: 0.02679, regions: REGIONS, available: true, description: 'Basic' },
  { slug: 's-2vcpu-4gb', memory: 4096, vcpus: 2, disk: 80, transfer: 4, price_monthly: 24, price_hourly: 0.03571, regions: REGIONS, available: true, description: 'Basic' },
];

/** The published patterns (see SPEC_FILES), written out here rather than imported from src/. */
const DROPLET_NAME = /^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$/;
const VPC_NAME = /^[a-zA-Z0-9\-.]+$/;
const TAG_NAME = /^[a-zA-Z0-9_\-:]+$/;

class HttpError extends Error {
  constructor(readonly status: number, readonly id: string, message: string) {
    super(message);
  }
}
const notFound = (): HttpError => new HttpError(404, 'not_found', 'The resource you were accessing could not be found.');
const invalid = (message: string): HttpError => new HttpError(422, 'unprocessable_entity', message);

export class FakeDigitalOcean {
  readonly requests: RecordedRequest[] = [];
  readonly sshKeys: FakeSshKey[] = [];
  readonly vpcs: FakeVpc[] = [];
  readonly droplets: FakeDroplet[] = [];
  /** every tag of the account, canonical spelling */
  readonly tags: string[] = [];
  readonly members: FakeMember[] = [];
  readonly sizes: FakeSize[] = FAKE_SIZES.map((s) => ({ ...s }));
  private readonly tokens = new Map<string, ReadonlySet<string> | 'all'>();
  private readonly faults: Fault[] = [];
  private readonly hooks: { match: Match; run: () => void }[] = [];
  private readonly fates = new Map<string, { mode: CreateFate; afterMs: number }>();
  private failCreatesOnceTotal?: number;
  private createdTotal = 0;
  private nextId = 300_000_000;
  private server?: Server;
  url = '';

  constructor(private readonly options: FakeOptions) {
    this.tokens.set(options.token, 'all');
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** A custom-scoped token: requests needing any other scope answer 403. */
  addToken(token: string, scopes: readonly string[]): void {
    this.tokens.set(token, new Set(scopes));
  }

  // ---- fault injection ----
  /** The next `count` matching requests get 429 with ratelimit-reset `resetInSeconds` from now. */
  rateLimitNext(count: number, resetInSeconds: number, match?: Match): void {
    this.faults.push({ status: 429, count, match, resetInSeconds });
  }
  /** The next `count` matching requests get 500 without being processed (or, afterProcessing, after). */
  serverErrorNext(count: number, match?: Match, afterProcessing = false): void {
    this.faults.push({ status: 500, count, match, afterProcessing });
  }
  /** Once `total` droplets were created, every droplet create answers 500 until cleared (undefined). */
  failDropletCreatesAfter(total: number | undefined): void {
    this.failCreatesOnceTotal = total;
  }
  /** The next droplet created with this name is accepted (202) but its create action errors after `afterMs`. */
  failCreate(name: string, mode: CreateFate, afterMs = 1000): void {
    this.fates.set(name, { mode, afterMs });
  }
  /** Run `fn` just before the next request matching `match` is handled. */
  beforeNext(match: Match, fn: () => void): void {
    this.hooks.push({ match, run: fn });
  }

  // ---- seeding the account ----
  seedVpc(name: string, region: string): FakeVpc {
    return this.addVpc(name, region, '');
  }
  /** Put a droplet in the account directly (other environments, hand-made ones), active and tagged. */
  seedDroplet(d: { name: string; tags: string[]; region?: string; size?: string; vpc_uuid?: string }): FakeDroplet {
    const region = d.region ?? 'fra1';
    const vpc = d.vpc_uuid ? this.vpcs.find((v) => v.id === d.vpc_uuid)! : this.defaultVpc(region);
    const droplet = this.newDroplet(d.name, region, d.size ?? 's-1vcpu-1gb', 'debian-12-x64', d.tags, vpc);
    droplet.tagsAtMs = droplet.activeAtMs = this.now();
    this.advance();
    return droplet;
  }
  /** Something else in a VPC: a load balancer, a database cluster (urn do:loadbalancer:..., do:dbaas:...). */
  seedMember(vpcId: string, urn: string, name: string): void {
    this.members.push({ vpcId, urn, name, created_at: new Date(this.now()).toISOString() });
  }

  mutatingRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  // ---- time ----
  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Apply what time has brought: tags, activation, failed creates, members that are finally gone. */
  private advance(): void {
    const now = this.now();
    for (const d of [...this.droplets]) {
      if (d.pendingTags.length > 0 && now >= d.tagsAtMs) {
        for (const t of d.pendingTags) {
          const tag = this.canonicalTag(t);
          if (!d.tags.includes(tag)) d.tags.push(tag);
        }
        d.pendingTags = [];
      }
      if (d.action.status !== 'in-progress') continue;
      if (d.fate && now >= d.fate.atMs) {
        d.action.status = 'errored';
        d.action.completed_at = new Date(now).toISOString();
        if (d.fate.mode === 'vanish') this.droplets.splice(this.droplets.indexOf(d), 1);
      } else if (!d.fate && now >= d.activeAtMs) {
        d.status = 'active';
        d.action.status = 'completed';
        d.action.completed_at = new Date(now).toISOString();
      }
    }
    for (const m of [...this.members]) if (m.untilMs !== undefined && now >= m.untilMs) this.members.splice(this.members.indexOf(m), 1);
  }

  /** tags.yml: a tag keeps the capitalisation it was first created with. */
  private canonicalTag(tag: string): string {
    const existing = this.tags.find((t) => t.toLowerCase() === tag.toLowerCase());
    if (existing) return existing;
    this.tags.push(tag);
    return tag;
  }

  // ---- HTTP ----
  private rateHeaders(remaining = 4999): Record<string, string> {
    return {
      'ratelimit-limit': '5000',
      'ratelimit-remaining': String(remaining),
      'ratelimit-reset': String(Math.floor(this.now() / 1000) + 60),
    };
  }

  private send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = this.rateHeaders()): void {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      ...headers,
      'x-request-id': randomUUID(),
      ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}),
    });
    res.end(text);
  }

  private sendError(res: ServerResponse, err: HttpError, headers?: Record<string, string>): void {
    this.send(res, err.status, { id: err.id, message: err.message, request_id: randomUUID() }, headers);
  }

  private matches(m: Match | undefined, method: string, path: string): boolean {
    return (!m?.method || m.method === method) && (!m?.pathPrefix || path.startsWith(m.pathPrefix));
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const fault = this.faults.find((f) => f.count > 0 && this.matches(f.match, method, path));
    if (fault) fault.count--;
    return fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      this.requests.push({ method, path, body: raw });
      return this.sendError(res, new HttpError(400, 'bad_request', 'request body is not valid JSON'));
    }
    this.requests.push({ method, path, ...(body === undefined ? {} : { body }) });

    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const scopes = token === undefined ? undefined : this.tokens.get(token);
    if (scopes === undefined) return this.sendError(res, new HttpError(401, 'unauthorized', 'Unable to authenticate you'));
    const hook = this.hooks.findIndex((h) => this.matches(h.match, method, path));
    if (hook >= 0) this.hooks.splice(hook, 1)[0]!.run();
    const fault = this.takeFault(method, path);
    if (fault?.status === 429) {
      return this.sendError(res, new HttpError(429, 'too_many_requests', 'API Rate limit exceeded.'), {
        'ratelimit-limit': '5000',
        'ratelimit-remaining': '0',
        'ratelimit-reset': String(Math.floor(this.now() / 1000) + (fault.resetInSeconds ?? 30)),
      });
    }
    if (fault && !fault.afterProcessing) return this.sendError(res, new HttpError(fault.status, 'server_error', 'Unexpected server-side error'));
    try {
      this.advance();
      const route = this.route(method, new URL(path, this.url), body);
      // The real API's 403 does not say which scope is missing either.
      if (scopes !== 'all' && route.scopes.some((s) => !scopes.has(s))) throw new HttpError(403, 'forbidden', 'You are not authorized to perform this operation');
      const [status, out] = route.run();
      if (fault) return this.sendError(res, new HttpError(fault.status, 'server_error', 'Unexpected server-side error'));
      this.send(res, status, out);
    } catch (err) {
      if (err instanceof HttpError) return this.sendError(res, err);
      this.sendError(res, new HttpError(500, 'server_error', String(err)));
    }
  }

  private route(method: string, url: URL, body: unknown): Route {
    const p = url.pathname;
    const q = url.searchParams;
    const r = (scopes: string[], run: Route['run']): Route => ({ scopes, run });
    if (p === '/v2/account/keys' && method === 'GET') return r(['ssh_key:read'], () => [200, this.page(url, 'ssh_keys', this.sshKeys)]);
    if (p === '/v2/account/keys' && method === 'POST') return r(['ssh_key:create'], () => [201, { ssh_key: this.createKey(body) }]);
    if (p === '/v2/tags' && method === 'GET') return r(['tag:read'], () => [200, this.page(url, 'tags', this.tags.map((name) => this.renderTag(name)))]);
    if (p === '/v2/vpcs' && method === 'GET') return r(['vpc:read'], () => [200, this.page(url, 'vpcs', this.vpcs)]);
    if (p === '/v2/vpcs' && method === 'POST') return r(['vpc:create'], () => [201, { vpc: this.createVpc(body) }]);
    const vpcMatch = /^\/v2\/vpcs\/([^/]+)(\/members)?$/.exec(p);
    if (vpcMatch && !vpcMatch[2] && method === 'DELETE') return r(['vpc:delete'], () => this.deleteVpc(decodeURIComponent(vpcMatch[1]!)));
    if (vpcMatch && vpcMatch[2] && method === 'GET') {
      return r(['vpc:read'], () => {
        const vpc = this.vpcs.find((v) => v.id === decodeURIComponent(vpcMatch[1]!));
        if (!vpc) throw notFound();
        return [200, this.page(url, 'members', this.membersOf(vpc.id))];
      });
    }
    if (p === '/v2/droplets' && method === 'GET') {
      const tag = q.get('tag_name');
      const name = q.get('name');
      if (tag !== null && name !== null) throw new HttpError(400, 'bad_request', 'tag_name cannot be combined with name');
      return r(tag !== null ? ['droplet:read', 'tag:read'] : ['droplet:read'], () => {
        // tags.yml: requests use the canonical capitalisation; the name filter ignores case.
        const list = this.droplets.filter((d) => (tag === null || d.tags.includes(tag)) && (name === null || d.name.toLowerCase() === name.toLowerCase()));
        return [200, this.page(url, 'droplets', list.map((d) => this.render(d)))];
      });
    }
    if (p === '/v2/droplets' && method === 'POST') return r(this.createScopes(body), () => [202, this.createDroplets(body)]);
    if (p === '/v2/droplets' && method === 'DELETE') {
      const tag = q.get('tag_name');
      if (!tag) throw invalid('tag_name is required');
      return r(['droplet:delete', 'tag:read'], () => {
        const tagged = this.droplets.filter((x) => x.tags.includes(tag));
        if (tagged.length === 0) throw notFound();
        for (const d of tagged) this.removeDroplet(d);
        return [204];
      });
    }
    const dropletMatch = /^\/v2\/droplets\/([0-9]+)(\/actions)?$/.exec(p);
    if (dropletMatch) {
      const find = (): FakeDroplet => this.droplets.find((x) => x.id === Number(dropletMatch[1])) ?? (() => { throw notFound(); })();
      if (dropletMatch[2] && method === 'GET') return r(['droplet:read'], () => [200, this.page(url, 'actions', [find().action])]);
      if (!dropletMatch[2] && method === 'GET') return r(['droplet:read'], () => [200, { droplet: this.render(find()) }]);
      if (!dropletMatch[2] && method === 'DELETE') return r(['droplet:delete'], () => (this.removeDroplet(find()), [204]));
    }
    if (p === '/v2/sizes' && method === 'GET') return r(['sizes:read', 'regions:read'], () => [200, this.page(url, 'sizes', this.sizes)]);
    throw notFound();
  }

  /** pages.yml links (first/prev/next/last, absent when not applicable) and meta.yml total. */
  private page<T>(url: URL, key: string, items: T[]): Record<string, unknown> {
    const perPage = Math.min(this.options.perPageCap ?? 200, 200, Math.max(1, Number(url.searchParams.get('per_page') ?? 20) || 20));
    const pageNo = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (n: number): string => {
      const u = new URL(url.pathname + url.search, this.url);
      u.searchParams.set('page', String(n));
      u.searchParams.set('per_page', String(perPage));
      return u.toString();
    };
    const pages: Record<string, string> = {};
    if (pageNo > 1) Object.assign(pages, { first: link(1), prev: link(pageNo - 1) });
    if (pageNo < last) Object.assign(pages, { last: link(last), next: link(pageNo + 1) });
    return {
      [key]: items.slice((pageNo - 1) * perPage, pageNo * perPage),
      links: Object.keys(pages).length > 0 ? { pages } : {},
      meta: { total: items.length },
    };
  }

  private createKey(body: unknown): FakeSshKey {
    const b = asObject(body);
    if (typeof b.name !== 'string' || b.name === '') throw invalid('Name is required');
    if (typeof b.public_key !== 'string') throw invalid('Public key is required');
    const m = /^(\S+)\s+([A-Za-z0-9+/]+={0,3})(\s.*)?$/.exec(b.public_key.trim());
    if (!m) throw invalid("Key invalid type, we support 'ssh-rsa', 'ssh-dss', 'ecdsa-sha2-nistp', or 'ssh-ed25519'");
    const fingerprint = createHash('md5').update(Buffer.from(m[2]!, 'base64')).digest('hex').match(/../g)!.join(':');
    if (this.sshKeys.some((k) => k.fingerprint === fingerprint)) throw invalid('SSH Key is already in use on your account');
    const key = { id: this.nextId++, fingerprint, public_key: b.public_key, name: b.name };
    this.sshKeys.push(key);
    return key;
  }

  /** Where a droplet without vpc_uuid goes; like the control panel, the fake makes one if the region has none. */
  private defaultVpc(region: string): FakeVpc {
    return this.vpcs.find((v) => v.default && v.region === region) ?? this.addVpc(`default-${region}`, region, '');
  }

  /** vpcs_create.yml: the first VPC of a region becomes its default. */
  private addVpc(name: string, region: string, description: string): FakeVpc {
    const id = randomUUID();
    const vpc: FakeVpc = {
      id,
      urn: `do:vpc:${id}`,
      name,
      description,
      region,
      ip_range: `10.${100 + this.vpcs.length}.0.0/20`,
      default: !this.vpcs.some((v) => v.region === region),
      created_at: new Date(this.now()).toISOString(),
    };
    this.vpcs.push(vpc);
    return vpc;
  }

  private createVpc(body: unknown): FakeVpc {
    const b = asObject(body);
    if (typeof b.name !== 'string' || !VPC_NAME.test(b.name)) throw invalid('name must contain only alphanumeric characters, dashes, and periods');
    if (typeof b.region !== 'string' || !REGIONS.includes(b.region)) throw invalid('region is invalid');
    if (b.description !== undefined && (typeof b.description !== 'string' || b.description.length > 255)) throw invalid('description is invalid');
    if (this.vpcs.some((v) => v.name.toLowerCase() === (b.name as string).toLowerCase())) throw invalid('name is already in use');
    return this.addVpc(b.name, b.region, (b.description as string | undefined) ?? '');
  }

  private membersOf(vpcId: string): { urn: string; name: string; created_at: string }[] {
    return [
      ...this.droplets.filter((d) => d.vpc_uuid === vpcId).map((d) => ({ urn: `do:droplet:${d.id}`, name: d.name, created_at: d.created_at })),
      ...this.members.filter((m) => m.vpcId === vpcId).map(({ urn, name, created_at }) => ({ urn, name, created_at })),
    ];
  }

  private deleteVpc(id: string): [number] {
    const vpc = this.vpcs.find((v) => v.id === id);
    if (!vpc) throw notFound();
    if (vpc.default) throw new HttpError(403, 'forbidden', 'A default VPC cannot be deleted');
    if (this.membersOf(id).length > 0) {
      const status = this.options.vpcBusyStatus ?? 403;
      throw new HttpError(status, status === 409 ? 'conflict' : 'forbidden', 'The VPC still has members');
    }
    this.vpcs.splice(this.vpcs.indexOf(vpc), 1);
    return [204];
  }

  /** droplet_create.yml: each of image, ssh_keys, tags and vpc_uuid adds the scope needed to use it. */
  private createScopes(body: unknown): string[] {
    const b = asObject(body);
    const scopes = ['droplet:create', 'image:read'];
    if (Array.isArray(b.ssh_keys) && b.ssh_keys.length > 0) scopes.push('ssh_key:read');
    if (Array.isArray(b.tags) && b.tags.length > 0) scopes.push('tag:create');
    if (b.vpc_uuid !== undefined) scopes.push('vpc:read');
    return scopes;
  }

  private createDroplets(body: unknown): Record<string, unknown> {
    const b = asObject(body);
    const single = b.name !== undefined;
    if (single === (b.names !== undefined)) throw invalid('send either name or names');
    const names = single ? [b.name] : b.names;
    if (!Array.isArray(names) || names.length === 0 || names.length > 10) throw invalid('names must hold 1 to 10 names');
    for (const n of names) if (typeof n !== 'string' || n.length > 255 || !DROPLET_NAME.test(n)) throw invalid(`Name is invalid: ${String(n)}`);
    if (typeof b.region !== 'string' || !REGIONS.includes(b.region)) throw invalid('You specified an invalid region for Droplet creation.');
    const size = this.sizes.find((s) => s.slug === b.size);
    if (!size) throw invalid('You specified an invalid size for Droplet creation.');
    if (typeof b.image !== 'string' || !IMAGES[b.image]) throw invalid('You specified an invalid image for Droplet creation.');
    const sshKeys = (b.ssh_keys ?? []) as unknown[];
    if (!Array.isArray(sshKeys)) throw invalid('ssh_keys must be an array');
    for (const k of sshKeys) if (!this.sshKeys.some((key) => key.id === k || key.fingerprint === k)) throw invalid(`SSH key ${String(k)} not found`);
    const tags = (b.tags ?? []) as unknown[];
    if (!Array.isArray(tags)) throw invalid('tags must be an array');
    for (const t of tags) if (typeof t !== 'string' || t.length > 255 || !TAG_NAME.test(t)) throw invalid(`invalid tag name ${JSON.stringify(t)}`);
    let vpc: FakeVpc | undefined;
    if (b.vpc_uuid !== undefined) {
      vpc = this.vpcs.find((v) => v.id === b.vpc_uuid);
      if (!vpc || vpc.region !== b.region) throw invalid('vpc_uuid is invalid for this region');
    }
    if (this.failCreatesOnceTotal !== undefined && this.createdTotal >= this.failCreatesOnceTotal) {
      throw new HttpError(500, 'server_error', 'Unexpected server-side error');
    }
    const created = (names as string[]).map((n) => this.newDroplet(n, b.region as string, size.slug, b.image as string, tags as string[], vpc ?? this.defaultVpc(b.region as string)));
    this.createdTotal += created.length;
    const links = { actions: created.map((d) => ({ id: d.action.id, rel: 'create', href: `${this.url}/v2/actions/${d.action.id}` })) };
    return single ? { droplet: this.render(created[0]!), links } : { droplets: created.map((d) => this.render(d)), links };
  }

  private newDroplet(name: string, region: string, size: string, image: string, tags: string[], vpc: FakeVpc): FakeDroplet {
    const n = this.droplets.length + 2;
    const now = this.now();
    const fate = this.fates.get(name);
    this.fates.delete(name);
    const id = this.nextId++;
    const created_at = new Date(now).toISOString();
    const droplet: FakeDroplet = {
      id,
      name,
      status: 'new',
      size_slug: size,
      region,
      image,
      tags: [],
      pendingTags: [...new Set(tags)],
      tagsAtMs: now + (this.options.tagLagMs ?? 10_000),
      activeAtMs: now + (this.options.activeAfterMs ?? 5000),
      fate: fate ? { mode: fate.mode, atMs: now + fate.afterMs } : undefined,
      vpc_uuid: vpc.id,
      publicIp: this.options.publicIpv4 ?? `203.0.113.${n}`,
      privateIp: vpc.ip_range.replace(/\.0\.0\/\d+$/, `.0.${n}`),
      created_at,
      action: { id: this.nextId++, status: 'in-progress', type: 'create', started_at: created_at, completed_at: null, resource_id: id, resource_type: 'droplet', region_slug: region },
    };
    this.droplets.push(droplet);
    return droplet;
  }

  /** A deleted droplet stays listed as a member of its VPC for memberLingerMs. */
  private removeDroplet(d: FakeDroplet): void {
    this.droplets.splice(this.droplets.indexOf(d), 1);
    const linger = this.options.memberLingerMs ?? 3000;
    if (linger > 0) this.members.push({ vpcId: d.vpc_uuid, urn: `do:droplet:${d.id}`, name: d.name, created_at: d.created_at, untilMs: this.now() + linger });
  }

  private renderTag(name: string): Record<string, unknown> {
    const count = this.droplets.filter((d) => d.tags.includes(name)).length;
    return { name, resources: { count, droplets: { count } } };
  }

  /** droplet.yml: networks are filled in once the droplet is up; tags only once applied. */
  private render(d: FakeDroplet): Record<string, unknown> {
    const size = this.sizes.find((s) => s.slug === d.size_slug)!;
    const image = IMAGES[d.image]!;
    const up = d.status === 'active';
    return {
      id: d.id,
      name: d.name,
      memory: size.memory,
      vcpus: size.vcpus,
      disk: size.disk,
      locked: false,
      status: d.status,
      kernel: null,
      created_at: d.created_at,
      features: ['droplet_agent', 'private_networking'],
      backup_ids: [],
      next_backup_window: null,
      snapshot_ids: [],
      image: { id: image.id, name: image.name, distribution: image.distribution, slug: d.image, public: true, regions: REGIONS, type: 'base', min_disk_size: 10, size_gigabytes: 1, status: 'available' },
      volume_ids: [],
      size,
      size_slug: d.size_slug,
      networks: {
        v4: up
          ? [
              { ip_address: d.privateIp, netmask: '255.255.240.0', gateway: '', type: 'private' },
              { ip_address: d.publicIp, netmask: '255.255.240.0', gateway: d.publicIp.replace(/\.\d+$/, '.1'), type: 'public' },
            ]
          : [],
        v6: [],
      },
      region: { name: d.region, slug: d.region, features: ['backups', 'ipv6', 'metadata'], available: true, sizes: this.sizes.map((s) => s.slug) },
      tags: [...d.tags],
      vpc_uuid: d.vpc_uuid,
    };
  }
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'bad_request', 'expected a JSON object');
  return body as Record<string, unknown>;
}
