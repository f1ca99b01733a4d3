import { backoffMs } from './clock.js';
import { CREATE_ATTEMPTS, type CloudContext } from './context.js';
import type { DropletsCreate } from './digitalocean.js';
import { CloudApiError } from './errors.js';
import type { HostKey } from './host-keys.js';
import { knownHostsLine } from './host-keys.js';
import { knownHostsPathFor, readIfExists, renderInventory, writeFileAtomic, type InventoryHost } from './inventory-writer.js';
import { envTag, indexOf, privateIpv4, publicIpv4, roleOf, vpcName } from './naming.js';
import { planUp, stepRequest, type UpState, type UpStep } from './plan.js';
import type { PublicKey } from './ssh-key.js';
import type { CloudSpec, DoDroplet, DoSshKey, DoVpc } from './types.js';
import { pollUntil } from './wait.js';

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
  const droplets = await ctx.provider.listDropletsByTag(envTag(spec.env));
  return {
    sshKey: findKey(keys, key),
    vpc: vpcs.find((v) => v.name === vpcName(spec.env)),
    droplets,
  };
}

export async function cloudUp(ctx: CloudContext, opts: UpOptions): Promise<UpResult> {
  const { spec } = opts;
  const state = await readUpState(ctx, spec, opts.key);
  const plan = planUp(spec, opts.key, state);
  const requests = plan.steps.map((step) => {
    const r = stepRequest(step);
    return { method: r.method, url: ctx.provider.api.url(r.path), body: r.body };
  });
  if (opts.dryRun) return { dryRun: true, requests, warnings: plan.warnings, hosts: [] };

  let vpc = state.vpc;
  for (const step of plan.steps) {
    if (step.kind === 'create-ssh-key') await createSshKey(ctx, step, opts.key);
    else if (step.kind === 'create-vpc') vpc = await createVpc(ctx, step);
    else await createDroplets(ctx, spec.env, { ...step.body, vpc_uuid: step.body.vpc_uuid ?? vpc!.id });
  }

  const droplets = await waitUntilActive(ctx, spec.env);
  const hosts: UpHost[] = [];
  for (const droplet of droplets) {
    const role = roleOf(droplet, spec.env)!;
    const address = publicIpv4(droplet)!;
    await pollUntil(`SSH on ${droplet.name} (${address}:${ctx.sshPort})`, async () => ((await ctx.sshAnswers(address, ctx.sshPort)) ? true : undefined), {
      clock: ctx.clock,
      timeoutMs: ctx.timeouts.sshMs,
    });
    const hostKey = await ctx.fetchHostKey(address, ctx.sshPort);
    const index = indexOf(droplet, spec.env, role);
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

async function createDroplets(ctx: CloudContext, env: string, body: DropletsCreate): Promise<void> {
  let pending = body.names;
  await createWithReconcile(
    ctx,
    `creating ${body.names.join(', ')}`,
    async () => {
      const created = await ctx.provider.createDroplets({ ...body, names: pending });
      ctx.note(`creating ${created.map((d) => `${d.name} (${d.id})`).join(', ')}`);
    },
    async () => {
      const existing = new Set((await ctx.provider.listDropletsByTag(envTag(env))).map((d) => d.name));
      pending = pending.filter((name) => !existing.has(name));
      return pending.length === 0;
    },
  );
}

async function waitUntilActive(ctx: CloudContext, env: string): Promise<DoDroplet[]> {
  let lastSeen = '';
  return pollUntil(
    'droplets to become active',
    async () => {
      const droplets = (await ctx.provider.listDropletsByTag(envTag(env))).filter((d) => roleOf(d, env) !== undefined);
      const waiting = droplets.filter((d) => d.status !== 'active' || !publicIpv4(d));
      const seen = waiting.map((d) => `${d.name}:${d.status}`).join(' ');
      if (waiting.length > 0 && seen !== lastSeen) ctx.note(`waiting for ${seen}`);
      lastSeen = seen;
      if (waiting.length > 0) return undefined;
      return droplets.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
    },
    { clock: ctx.clock, timeoutMs: ctx.timeouts.activeMs },
  );
}
