/**
 * A local HTTP server implementing the Digital Ocean API v2 endpoints that `bootstrap cloud`
 * uses, with in-memory state, following DO's published OpenAPI specification
 * (github.com/digitalocean/openapi, specification/; see SPEC_FILES below for the files and
 * commits read). It is a test double of the provider's API, not of anything we deploy.
 *
 * Faults can be injected: 429 with rate-limit headers, 500s before or after processing,
 * and droplet creation failing once N droplets exist.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The specification files this server follows, with the commit of each file that was read. */
export const SPEC_FILES: Record<string, string> = {
  'specification/DigitalOcean-public.v2.yaml': '0001ccfee2c62fc5d9603a4a8e3069366150c43c',
  'specification/resources/droplets/droplets_create.yml': '742c2284a60fdd76f3b141cfd248c1f737bb216a',
  'specification/resources/droplets/models/droplet_create.yml': '0195c6b3b52d3c1eff8e13a223fa1fc32f43f12e',
  'specification/resources/droplets/models/droplet_single_create.yml': 'ea8b3a508cc0091c7b0731534a899245765e6b14',
  'specification/resources/droplets/models/droplet_multi_create.yml': 'ea8b3a508cc0091c7b0731534a899245765e6b14',
  'specification/resources/droplets/responses/droplet_create.yml': '083113b189f3fe5b29da1f45fbb56ad83d410db0',
  'specification/resources/droplets/droplets_list.yml': '0b83755670a7b3d68d26be55a32b73d9fd58069e',
  'specification/resources/droplets/responses/all_droplets.yml': '4b86da33b0093abb277233ca5dc86e8fe674d7c7',
  'specification/resources/droplets/droplets_destroy_byTag.yml': 'b09eb8e507d9e303b99dbc222ef2115ac98559af',
  'specification/resources/droplets/droplets_destroy.yml': '0b83755670a7b3d68d26be55a32b73d9fd58069e',
  'specification/resources/droplets/droplets_get.yml': '742c2284a60fdd76f3b141cfd248c1f737bb216a',
  'specification/resources/droplets/parameters.yml': '30e3cbe62a15c71c39f7bb86abc11ac0c350d38e',
  'specification/resources/droplets/models/droplet.yml': '110a876e0b5184baa149cc18eaab8ecf377420cf',
  'specification/resources/ssh_keys/create_ssh_key.yml': '3437d01c8eeeb3df31369ce83e876d5ca2896682',
  'specification/resources/ssh_keys/models/ssh_key.yml': '75ce9f86fb3956a0b6438752f96ac79fa02808e1',
  'specification/resources/ssh_keys/responses/all_keys.yml': '0c76d5f48ec9863ff96b3310a42c71a64524697e',
  'specification/resources/ssh_keys/responses/key_created.yml': '75ce9f86fb3956a0b6438752f96ac79fa02808e1',
  'specification/resources/vpcs/models/vpc.yml': '26b12636c6da14ac44ba1d01aff5313fef5fc497',
  'specification/resources/vpcs/create_vpc.yml': '3437d01c8eeeb3df31369ce83e876d5ca2896682',
  'specification/resources/vpcs/delete_vpc.yml': '56e653edbc140882ffa8a60d798b030bfca9c1c6',
  'specification/resources/vpcs/list_vpcs.yml': '083113b189f3fe5b29da1f45fbb56ad83d410db0',
  'specification/resources/vpcs/responses/all_vpcs.yml': '01ae2bbe9b1e349c5de7c304e89c8e55eedb99f8',
  'specification/resources/sizes/models/size.yml': '38e017d24efcf884f8fb777d687cc6e92aec7238',
  'specification/resources/sizes/responses/all_sizes.yml': '083113b189f3fe5b29da1f45fbb56ad83d410db0',
  'specification/resources/tags/models/tag.yml': '624e59fe424791fe4c37d3b76a7f5cef2a71290d',
  'specification/shared/headers.yml': '4b86da33b0093abb277233ca5dc86e8fe674d7c7',
  'specification/shared/pages.yml': 'e8a8b1b8c2f87e7490097f2be0e9946f42e5688d',
  'specification/shared/meta.yml': '4b86da33b0093abb277233ca5dc86e8fe674d7c7',
  'specification/shared/parameters.yml': '11c9f545c987eaa4c670cd9e2ffcb4501ce0bb21',
  'specification/shared/responses/unexpected_error.yml': '4b86da33b0093abb277233ca5dc86e8fe674d7c7',
};

export interface RecordedRequest {
  method: string;
  /** pathname + query, as sent */
  path: string;
  body?: unknown;
}

export interface FakeSshKey { id: number; fingerprint: string; public_key: string; name: string }
export interface FakeVpc { id: string; urn: string; name: string; description: string; region: string; ip_range: string; default: boolean; created_at: string }
export interface FakeDroplet {
  id: number;
  name: string;
  status: 'new' | 'active' | 'off' | 'archive';
  size_slug: string;
  region: string;
  image: string;
  tags: string[];
  vpc_uuid: string;
  publicIp: string;
  privateIp: string;
  created_at: string;
  /** list/get polls left before it turns active */
  pollsUntilActive: number;
}
export interface FakeSize { slug: string; memory: number; vcpus: number; disk: number; transfer: number; price_monthly: number; price_hourly: number; regions: string[]; available: boolean; description: string }

export interface FakeOptions {
  token: string;
  /** public IPv4 for every droplet (tests: 127.0.0.1, where a real sshd listens); default 203.0.113.x */
  publicIpv4?: string;
  /** largest per_page honoured (the API's maximum is 200); lower it to force pagination */
  perPageCap?: number;
  /** list/get polls a new droplet stays "new" */
  activateAfterPolls?: number;
  /** VPC delete attempts still answered 403 after its droplets were deleted (membership is released lazily) */
  vpcMembershipLingers?: number;
  now?: () => number;
}

interface Fault {
  status: number;
  count: number;
  match?: { method?: string; pathPrefix?: string };
  /** 500 after the request was processed: the response is "lost" */
  afterProcessing?: boolean;
  resetInSeconds?: number;
}

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

const DROPLET_NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
/** vpc.yml vpc_updatable.name pattern, as published (note: it has no 0) */
const VPC_NAME = /^[a-zA-Z1-9\-.]+$/;
/** tag.yml name pattern ^[\w-:]+$ and its 255-character limit */
const TAG_NAME = /^[\w\-:]{1,255}$/;

class HttpError extends Error {
  constructor(readonly status: number, readonly id: string, message: string) {
    super(message);
  }
}

export class FakeDigitalOcean {
  readonly requests: RecordedRequest[] = [];
  readonly sshKeys: FakeSshKey[] = [];
  readonly vpcs: FakeVpc[] = [];
  readonly droplets: FakeDroplet[] = [];
  readonly sizes: FakeSize[] = FAKE_SIZES.map((s) => ({ ...s }));
  private readonly faults: Fault[] = [];
  private failCreatesOnceTotal?: number;
  private createdTotal = 0;
  private nextId = 300_000_000;
  private readonly lingering = new Map<string, number>();
  private server?: Server;
  url = '';

  constructor(private readonly options: FakeOptions) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  // ---- fault injection ----
  /** The next `count` matching requests get 429 with ratelimit-reset `resetInSeconds` from now. */
  rateLimitNext(count: number, resetInSeconds: number, match?: Fault['match']): void {
    this.faults.push({ status: 429, count, match, resetInSeconds });
  }
  /** The next `count` matching requests get 500 without being processed (or, afterProcessing, after). */
  serverErrorNext(count: number, match?: Fault['match'], afterProcessing = false): void {
    this.faults.push({ status: 500, count, match, afterProcessing });
  }
  /** Once `total` droplets were created, every droplet create answers 500 until cleared (undefined). */
  failDropletCreatesAfter(total: number | undefined): void {
    this.failCreatesOnceTotal = total;
  }

  /** Put a droplet in the account directly (other environments, hand-made ones). */
  seedDroplet(d: { name: string; tags: string[]; region?: string; size?: string; vpc_uuid?: string }): FakeDroplet {
    const vpc = d.vpc_uuid ? this.vpcs.find((v) => v.id === d.vpc_uuid) : this.defaultVpc(d.region ?? 'fra1');
    const droplet = this.newDroplet(d.name, d.region ?? 'fra1', d.size ?? 's-1vcpu-1gb', 'debian-12-x64', d.tags, vpc!);
    droplet.status = 'active';
    droplet.pollsUntilActive = 0;
    return droplet;
  }

  mutatingRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  // ---- HTTP ----
  private now(): number {
    return (this.options.now ?? Date.now)();
  }

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

  private takeFault(method: string, path: string): Fault | undefined {
    const fault = this.faults.find(
      (f) => f.count > 0 && (!f.match?.method || f.match.method === method) && (!f.match?.pathPrefix || path.startsWith(f.match.pathPrefix)),
    );
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

    if (req.headers.authorization !== `Bearer ${this.options.token}`) {
      return this.sendError(res, new HttpError(401, 'unauthorized', 'Unable to authenticate you'));
    }
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
      const [status, out] = this.route(method, new URL(path, this.url), body);
      if (fault) return this.sendError(res, new HttpError(fault.status, 'server_error', 'Unexpected server-side error'));
      this.send(res, status, out);
    } catch (err) {
      if (err instanceof HttpError) return this.sendError(res, err);
      this.sendError(res, new HttpError(500, 'server_error', String(err)));
    }
  }

  private route(method: string, url: URL, body: unknown): [number, unknown?] {
    const p = url.pathname;
    const q = url.searchParams;
    if (p === '/v2/account/keys' && method === 'GET') return [200, this.page(url, 'ssh_keys', this.sshKeys)];
    if (p === '/v2/account/keys' && method === 'POST') return [201, { ssh_key: this.createKey(body) }];
    if (p === '/v2/vpcs' && method === 'GET') return [200, this.page(url, 'vpcs', this.vpcs)];
    if (p === '/v2/vpcs' && method === 'POST') return [201, { vpc: this.createVpc(body) }];
    const vpcMatch = /^\/v2\/vpcs\/([^/]+)$/.exec(p);
    if (vpcMatch && method === 'DELETE') return this.deleteVpc(decodeURIComponent(vpcMatch[1]!));
    if (p === '/v2/droplets' && method === 'GET') {
      const tag = q.get('tag_name');
      const list = this.droplets.filter((d) => tag === null || d.tags.includes(tag));
      list.forEach((d) => this.tick(d));
      return [200, this.page(url, 'droplets', list.map((d) => this.render(d)))];
    }
    if (p === '/v2/droplets' && method === 'POST') return [202, this.createDroplets(body)];
    if (p === '/v2/droplets' && method === 'DELETE') {
      const tag = q.get('tag_name');
      if (!tag) throw new HttpError(422, 'unprocessable_entity', 'tag_name is required');
      for (const d of this.droplets.filter((x) => x.tags.includes(tag))) this.removeDroplet(d);
      return [204];
    }
    const dropletMatch = /^\/v2\/droplets\/([0-9]+)$/.exec(p);
    if (dropletMatch) {
      const d = this.droplets.find((x) => x.id === Number(dropletMatch[1]));
      if (!d) throw new HttpError(404, 'not_found', 'The resource you were accessing could not be found.');
      if (method === 'GET') {
        this.tick(d);
        return [200, { droplet: this.render(d) }];
      }
      if (method === 'DELETE') {
        this.removeDroplet(d);
        return [204];
      }
    }
    if (p === '/v2/sizes' && method === 'GET') return [200, this.page(url, 'sizes', this.sizes)];
    throw new HttpError(404, 'not_found', 'The resource you were accessing could not be found.');
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
    if (typeof b.name !== 'string' || b.name === '') throw new HttpError(422, 'unprocessable_entity', 'Name is required');
    if (typeof b.public_key !== 'string') throw new HttpError(422, 'unprocessable_entity', 'Public key is required');
    const m = /^(\S+)\s+([A-Za-z0-9+/]+={0,3})(\s.*)?$/.exec(b.public_key.trim());
    if (!m) throw new HttpError(422, 'unprocessable_entity', 'Key invalid type, we support \'ssh-rsa\', \'ssh-dss\', \'ecdsa-sha2-nistp\', or \'ssh-ed25519\'');
    const fingerprint = createHash('md5').update(Buffer.from(m[2]!, 'base64')).digest('hex').match(/../g)!.join(':');
    if (this.sshKeys.some((k) => k.fingerprint === fingerprint)) throw new HttpError(422, 'unprocessable_entity', 'SSH Key is already in use on your account');
    const key = { id: this.nextId++, fingerprint, public_key: b.public_key, name: b.name };
    this.sshKeys.push(key);
    return key;
  }

  private defaultVpc(region: string): FakeVpc {
    return this.vpcs.find((v) => v.default && v.region === region) ?? this.addVpc(`default-${region}`, region, true);
  }

  private addVpc(name: string, region: string, isDefault: boolean, description = ''): FakeVpc {
    const id = randomUUID();
    const vpc = {
      id,
      urn: `do:vpc:${id}`,
      name,
      description,
      region,
      ip_range: `10.${100 + this.vpcs.length}.0.0/20`,
      default: isDefault,
      created_at: new Date(this.now()).toISOString(),
    };
    this.vpcs.push(vpc);
    return vpc;
  }

  private createVpc(body: unknown): FakeVpc {
    const b = asObject(body);
    if (typeof b.name !== 'string' || !VPC_NAME.test(b.name)) throw new HttpError(422, 'unprocessable_entity', 'name must contain only alphanumeric characters, dashes, and periods');
    if (typeof b.region !== 'string' || !REGIONS.includes(b.region)) throw new HttpError(422, 'unprocessable_entity', 'region is invalid');
    if (b.description !== undefined && (typeof b.description !== 'string' || b.description.length > 255)) throw new HttpError(422, 'unprocessable_entity', 'description is invalid');
    if (this.vpcs.some((v) => v.name === b.name)) throw new HttpError(422, 'unprocessable_entity', 'name is already in use');
    if (!this.vpcs.some((v) => v.region === b.region)) this.defaultVpc(b.region);
    return this.addVpc(b.name, b.region, false, (b.description as string | undefined) ?? '');
  }

  private deleteVpc(id: string): [number] {
    const vpc = this.vpcs.find((v) => v.id === id);
    if (!vpc) throw new HttpError(404, 'not_found', 'The resource you were accessing could not be found.');
    if (vpc.default) throw new HttpError(403, 'forbidden', 'Cannot delete the default VPC for a region');
    const lingering = this.lingering.get(id) ?? 0;
    if (this.droplets.some((d) => d.vpc_uuid === id) || lingering > 0) {
      if (lingering > 0) this.lingering.set(id, lingering - 1);
      throw new HttpError(403, 'forbidden', 'Can not delete VPC with members');
    }
    this.vpcs.splice(this.vpcs.indexOf(vpc), 1);
    return [204];
  }

  private createDroplets(body: unknown): Record<string, unknown> {
    const b = asObject(body);
    const single = b.name !== undefined;
    if (single === (b.names !== undefined)) throw new HttpError(422, 'unprocessable_entity', 'send either name or names');
    const names = single ? [b.name] : b.names;
    if (!Array.isArray(names) || names.length === 0 || names.length > 10) throw new HttpError(422, 'unprocessable_entity', 'names must hold 1 to 10 names');
    for (const n of names) if (typeof n !== 'string' || !DROPLET_NAME.test(n)) throw new HttpError(422, 'unprocessable_entity', `Name is invalid: ${String(n)}`);
    if (typeof b.region !== 'string' || !REGIONS.includes(b.region)) throw new HttpError(422, 'unprocessable_entity', 'You specified an invalid region for Droplet creation.');
    const size = this.sizes.find((s) => s.slug === b.size);
    if (!size) throw new HttpError(422, 'unprocessable_entity', 'You specified an invalid size for Droplet creation.');
    if (typeof b.image !== 'string' || !IMAGES[b.image]) throw new HttpError(422, 'unprocessable_entity', 'You specified an invalid image for Droplet creation.');
    const sshKeys = (b.ssh_keys ?? []) as unknown[];
    if (!Array.isArray(sshKeys)) throw new HttpError(422, 'unprocessable_entity', 'ssh_keys must be an array');
    for (const k of sshKeys) {
      if (!this.sshKeys.some((key) => key.id === k || key.fingerprint === k)) throw new HttpError(422, 'unprocessable_entity', `SSH key ${String(k)} not found`);
    }
    const tags = (b.tags ?? []) as unknown[];
    if (tags !== null && !Array.isArray(tags)) throw new HttpError(422, 'unprocessable_entity', 'tags must be an array');
    for (const t of tags ?? []) if (typeof t !== 'string' || !TAG_NAME.test(t)) throw new HttpError(422, 'unprocessable_entity', `invalid tag name ${JSON.stringify(t)}`);
    let vpc = this.defaultVpc(b.region);
    if (b.vpc_uuid !== undefined) {
      const found = this.vpcs.find((v) => v.id === b.vpc_uuid);
      if (!found || found.region !== b.region) throw new HttpError(422, 'unprocessable_entity', 'vpc_uuid is invalid for this region');
      vpc = found;
    }
    if (this.failCreatesOnceTotal !== undefined && this.createdTotal >= this.failCreatesOnceTotal) {
      throw new HttpError(500, 'server_error', 'Unexpected server-side error');
    }
    const created = (names as string[]).map((n) => this.newDroplet(n, b.region as string, size.slug, b.image as string, (tags ?? []) as string[], vpc));
    this.createdTotal += created.length;
    const links = { actions: created.map((d) => ({ id: this.nextId++, rel: 'create', href: `${this.url}/v2/actions/${d.id}` })) };
    return single ? { droplet: this.render(created[0]!), links } : { droplets: created.map((d) => this.render(d)), links };
  }

  private newDroplet(name: string, region: string, size: string, image: string, tags: string[], vpc: FakeVpc): FakeDroplet {
    const n = this.droplets.length + 2;
    const droplet: FakeDroplet = {
      id: this.nextId++,
      name,
      status: 'new',
      size_slug: size,
      region,
      image,
      tags: [...new Set(tags)],
      vpc_uuid: vpc.id,
      publicIp: this.options.publicIpv4 ?? `203.0.113.${n}`,
      privateIp: vpc.ip_range.replace(/\.0\.0\/\d+$/, `.0.${n}`),
      created_at: new Date(this.now()).toISOString(),
      pollsUntilActive: this.options.activateAfterPolls ?? 2,
    };
    this.droplets.push(droplet);
    return droplet;
  }

  private removeDroplet(d: FakeDroplet): void {
    this.droplets.splice(this.droplets.indexOf(d), 1);
    if (!this.droplets.some((x) => x.vpc_uuid === d.vpc_uuid)) this.lingering.set(d.vpc_uuid, this.options.vpcMembershipLingers ?? 1);
  }

  private tick(d: FakeDroplet): void {
    if (d.status !== 'new') return;
    if (d.pollsUntilActive > 0) d.pollsUntilActive--;
    else d.status = 'active';
  }

  /** droplet.yml: networks are filled in once the droplet is up. */
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
      tags: d.tags,
      vpc_uuid: d.vpc_uuid,
    };
  }
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'bad_request', 'expected a JSON object');
  return body as Record<string, unknown>;
}
