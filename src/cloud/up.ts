import { backoffMs } from './clock.js';
import { CREATE_ATTEMPTS, type CloudContext } from './context.js';
import type { DropletsCreate } from './digitalocean.js';
import { CloudApiError, CloudInputError } from './errors.js';
import type { HostKey } from './host-keys.js';
import { knownHostsLine } from './host-keys.js';
import { knownHostsPathFor, readIfExists, renderInventory, writeFileAtomic, type InventoryHost } from './inventory-writer.js';
import { envTag, hasTag, parseDropletName, privateIpv4, publicIpv4, roleOf, sameTag, vpcName } from './naming.js';
import { missingNames, planUp, stepRequest, type EnvDroplet, type UpState, type UpStep } from './plan.js';
import type { PublicKey } from './ssh-key.js';
import type { CloudSpec, DoDroplet, DoSshKey, DoVpc, Role } from './types.js';
import { pollUntil, WaitTimeout } from './wait.js';
import { dropletProgress } from './droplet-progress.js';

export interface UpOptions {
  spec: CloudSpec;
  key: PublicKey;
  dryRun: boolean;
  inventoryPath: string;
  privateKey?: string;
}

export interface UpHost extends InventoryHost {
  dropletId: number;
  dropletName: string;
  hostKey: HostKey;
}

export interface UpResult {
  dryRun: boolean;
  /** the mutating requests made (or, with --dry-run, that would be made) */
  requests: { method: string; url: string; body: unknown }[];
  warnings: string[];
  hosts: UpHost[];
  inventory?: string;
  knownHosts?: string;
}

export async function readUpState(ctx: CloudContext, spec: CloudSpec, key: PublicKey): Promise<UpState> {
  const keys = await ctx.provider.listSshKeys();
  const vpcs = await ctx.provider.listVpcs();
  const tags = (await ctx.provider.listTags()).map((t) => t.name);
  const vpc = vpcs.find((v) => sameName(v.name, vpcName(spec.env)));
  const tag = tags.find((t) => sameTag(t, envTag(spec.env)));
  const droplets: EnvDroplet[] = [];
  for (const droplet of tag ? await ctx.provider.listDropletsByTag(tag) : []) {
    const role = roleOf(droplet, spec.env);
    if (role) droplets.push({ droplet, role });
  }
  // Tags are applied some time after a create: a droplet an earlier up just created can be untagged yet.
  for (const { names } of missingNames(spec, droplets)) {
    for (const name of names) droplets.push(...adoptable(await ctx.provider.listDropletsByName(name), spec.env, vpc, droplets));
  }
  for (const d of droplets.filter((x) => x.droplet.status === 'new')) {
    const actions = await ctx.provider.listDropletActions(d.droplet.id);
    const create = actions?.find((a) => a.type === 'create');
    if (create?.status === 'errored') d.broken = `its create action ${create.id} errored`;
  }
  return { sshKey: findKey(keys, key), vpc, regionHasVpc: vpcs.some((v) => v.region === spec.region), tags, droplets };
}

/**
 * Droplets found by one of our names: ours when they carry the environment tag, or no tag yet
 * and sit in the environment's VPC. Any other droplet of that name is in the way.
 */
function adoptable(found: DoDroplet[], env: string, vpc: DoVpc | undefined, known: EnvDroplet[]): EnvDroplet[] {
  const adopted: EnvDroplet[] = [];
  for (const droplet of found) {
    if (known.some((k) => k.droplet.id === droplet.id)) continue;
    const parsed = parseDropletName(droplet.name, env);
    const ours = hasTag(droplet, envTag(env)) || ((droplet.tags ?? []).length === 0 && vpc !== undefined && droplet.vpc_uuid === vpc.id);
    if (!parsed || !ours) {
      throw new CloudInputError(
        `droplet ${droplet.name} (id ${droplet.id}, tags ${JSON.stringify(droplet.tags ?? [])}) has a name environment ${env} would use but is not part of it: rename or delete it, or choose another --name`,
      );
    }
    adopted.push({ droplet, role: parsed.role });
  }
  return adopted;
}

export async function cloudUp(ctx: CloudContext, opts: UpOptions): Promise<UpResult> {
  const { spec } = opts;
  const state = await readUpState(ctx, spec, opts.key);
  const plan = planUp(spec, opts.key, state);
  const requests = plan.steps.map((step) => {
    const r = stepRequest(step);
    return { method: r.method, url: ctx.provider.api.url(r.path), body: r.body };
  });
  if (!opts.dryRun) for (const warning of plan.warnings) ctx.note(`warning: ${warning}`);
  if (opts.dryRun) return { dryRun: true, requests, warnings: plan.warnings, hosts: [] };

  let vpc = state.vpc;
  const tracked = new Map<number, Tracked>(state.droplets.filter((d) => !d.broken).map((d) => [d.droplet.id, { name: d.droplet.name, role: d.role }]));
  for (const step of plan.steps) {
    if (step.kind === 'create-ssh-key') await createSshKey(ctx, step, opts.key);
    else if (step.kind === 'create-vpc') {
      const created = await createVpc(ctx, step);
      if (!step.regionDefault) vpc = created;
    } else if (step.kind === 'delete-droplet') {
      await ctx.provider.deleteDroplet(step.id);
      ctx.note(`deleted ${step.name} (id ${step.id}) to replace it: ${step.reason}`);
    } else {
      for (const d of await createDroplets(ctx, { ...step.body, vpc_uuid: step.body.vpc_uuid ?? vpc!.id })) tracked.set(d.id, { name: d.name, role: step.role });
    }
  }

  const droplets = await waitForDroplets(ctx, tracked);
  const hosts: UpHost[] = [];
  for (const droplet of droplets) {
    const role = tracked.get(droplet.id)!.role;
    const address = publicIpv4(droplet)!;
    await pollUntil(`SSH on ${droplet.name} (${address}:${ctx.sshPort})`, async () => ((await ctx.sshAnswers(address, ctx.sshPort)) ? true : undefined), {
      clock: ctx.clock,
      timeoutMs: ctx.timeouts.sshMs,
    });
    const hostKey = await ctx.fetchHostKey(address, ctx.sshPort);
    const index = parseDropletName(droplet.name, spec.env)?.index;
    const name = index === undefined ? droplet.name : `${role}${index}`;
    ctx.note(`${name} (${droplet.name}, ${address}): host key ${hostKey.type} ${hostKey.fingerprint}`);
    hosts.push({ name, role, address, privateAddress: privateIpv4(droplet), dropletId: droplet.id, dropletName: droplet.name, hostKey });
  }

  const knownHosts = knownHostsPathFor(opts.inventoryPath);
  await writeFileAtomic(knownHosts, hosts.map((h) => knownHostsLine(h.address, ctx.sshPort, h.hostKey)).join('\n') + '\n');
  const inventoryText = renderInventory(await readIfExists(opts.inventoryPath), spec.env, hosts, {
    inventoryPath: opts.inventoryPath,
    knownHostsPath: knownHosts,
    sshPort: ctx.sshPort,
    privateKey: opts.privateKey,
  });
  await writeFileAtomic(opts.inventoryPath, inventoryText);
  return { dryRun: false, requests, warnings: plan.warnings, hosts, inventory: opts.inventoryPath, knownHosts };
}

function findKey(keys: DoSshKey[], key: PublicKey): DoSshKey | undefined {
  return keys.find((k) => k.fingerprint === key.md5Fingerprint);
}

interface Tracked {
  name: string;
  role: Role;
}
/**
 * Creates are not idempotent: after a 5xx or a lost response the resource may exist.
 * So before trying again, look; `reconcile` returns true when the create turns out to have happened.
 */
async function createWithReconcile(ctx: CloudContext, what: string, create: () => Promise<void>, reconcile: () => Promise<boolean>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await create();
      return;
    } catch (err) {
      const unsure = err instanceof CloudApiError && (err.transient || err.status === 422);
      if (!unsure || attempt >= CREATE_ATTEMPTS) throw err;
      if (await reconcile()) return;
      if (err.status === 422) throw err;
      ctx.note(`${what}: ${err.message}; nothing was created, trying again`);
      await ctx.clock.sleep(backoffMs(attempt - 1, 2000, 30_000));
    }
  }
}

async function createSshKey(ctx: CloudContext, step: Extract<UpStep, { kind: 'create-ssh-key' }>, key: PublicKey): Promise<void> {
  await createWithReconcile(
    ctx,
    'registering the SSH key',
    async () => {
      const created = await ctx.provider.createSshKey(step.body);
      ctx.note(`registered SSH key ${created.fingerprint} as "${created.name}"`);
    },
    async () => findKey(await ctx.provider.listSshKeys(), key) !== undefined,
  );
}

async function createVpc(ctx: CloudContext, step: Extract<UpStep, { kind: 'create-vpc' }>): Promise<DoVpc> {
  let vpc: DoVpc | undefined;
  await createWithReconcile(
    ctx,
    `creating VPC ${step.body.name}`,
    async () => {
      vpc = await ctx.provider.createVpc(step.body);
      ctx.note(`created VPC ${vpc.name} (${vpc.id}, ${vpc.ip_range ?? 'range chosen by the provider'})`);
    },
    async () => {
      vpc = (await ctx.provider.listVpcs()).find((v) => v.name === step.body.name);
      return vpc !== undefined;
    },
  );
  return vpc!;
}

/**
 * A lost response may hide a create that happened. Its droplets are found by name at once, even
 * while their tags are not applied yet, so only the names not found are sent again.
 */
async function createDroplets(ctx: CloudContext, body: DropletsCreate): Promise<DoDroplet[]> {
  const got: DoDroplet[] = [];
  let pending = body.names;
  await createWithReconcile(
    ctx,
    `creating ${body.names.join(', ')}`,
    async () => {
      const created = await ctx.provider.createDroplets({ ...body, names: pending });
      got.push(...created);
      ctx.note(`creating ${created.map((d) => `${d.name} (${d.id})`).join(', ')}`);
    },
    async () => {
      for (const name of pending) {
        const found = await ctx.provider.listDropletsByName(name);
        got.push(...found.filter((d) => d.vpc_uuid === body.vpc_uuid && !got.some((g) => g.id === d.id)));
      }
      pending = pending.filter((name) => !got.some((d) => sameName(d.name, name)));
      return pending.length === 0;
    },
  );
  return got;
}

/**
 * Waits for the droplets by ID (tags may lag): each must be active with a public and a private
 * IPv4. A 202 does not promise success, so a droplet that vanishes (404) or whose create action
 * errors is named, and nothing is written until every one is up.
 */
async function waitForDroplets(ctx: CloudContext, tracked: Map<number, Tracked>): Promise<DoDroplet[]> {
  const ready = new Map<number, DoDroplet>();
  const failed = new Map<number, string>();
  let waiting: string[] = [];
  let lastSeen = '';
  try {
    await pollUntil(
      'droplets to become active with public and private IPv4',
      async () => {
        waiting = [];
        for (const [id, t] of tracked) {
          if (ready.has(id) || failed.has(id)) continue;
          const d = await ctx.provider.getDroplet(id);
          if (!d) {
            failed.set(id, `${t.name} (id ${id}) disappeared after its create was accepted (404)`);
          } else {
            const progress = await dropletProgress(d, async () => (await ctx.provider.listDropletActions(id))?.find((a) => a.type === 'create'));
            if (progress.kind === 'ready') ready.set(id, d);
            else if (progress.kind === 'failed') failed.set(id, progress.why);
            else waiting.push(progress.what);
          }
        }
        const seen = waiting.join(' ');
        if (waiting.length > 0 && seen !== lastSeen) ctx.note(`waiting for ${seen}`);
        lastSeen = seen;
        return waiting.length === 0 ? true : undefined;
      },
      { clock: ctx.clock, timeoutMs: ctx.timeouts.activeMs },
    );
  } catch (err) {
    if (!(err instanceof WaitTimeout)) throw err;
    const also = failed.size > 0 ? `; failed: ${[...failed.values()].join('; ')}` : '';
    throw new CloudApiError(`${err.message} (still waiting for ${waiting.join(', ')}${also}); no inventory was written, run up again to continue`);
  }
  if (failed.size > 0) {
    throw new CloudApiError(
      `${failed.size} droplet${failed.size > 1 ? 's' : ''} did not come up: ${[...failed.values()].join('; ')}. ` +
        `No inventory was written; run up again to replace ${failed.size > 1 ? 'them' : 'it'} (or down to remove the environment)`,
    );
  }
  return [...ready.values()].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
