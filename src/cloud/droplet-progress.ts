import { privateIpv4, publicIpv4 } from './naming.js';
import type { DoAction, DoDroplet } from './types.js';

/** Where a droplet `up` waits for stands: ready, worth waiting for (with what it lacks), or not coming up (why). */
export type DropletProgress = { kind: 'ready' } | { kind: 'waiting'; what: string } | { kind: 'failed'; why: string };

/**
 * How a polled droplet stands. Only `new` and `active` are worth waiting for: droplet.yml names
 * `off` and `archive` too, and the API may one day answer a status it does not name; either way
 * the create action is read and named, so the message says how the create ended instead of the
 * wait running out. `create` reads the droplet's create action (undefined when there is none).
 */
export async function dropletProgress(d: DoDroplet, create: () => Promise<DoAction | undefined>): Promise<DropletProgress> {
  if (d.status === 'active') {
    if (publicIpv4(d) && privateIpv4(d)) return { kind: 'ready' };
    return { kind: 'waiting', what: `${d.name}:active without ${publicIpv4(d) ? 'private' : 'public'} IPv4` };
  }
  const action = await create();
  if (d.status === 'new' && action?.status !== 'errored') return { kind: 'waiting', what: `${d.name}:new` };
  if (d.status === 'new') return { kind: 'failed', why: `${d.name} (id ${d.id}): its create action ${action!.id} errored` };
  const how = action ? `its create action ${action.id} is ${action.status}` : 'it has no create action';
  const todo = d.status === 'off' ? 'power it on or delete it' : 'delete it, or run up again once it is active';
  return { kind: 'failed', why: `${d.name} (id ${d.id}) is ${JSON.stringify(d.status)}, neither new nor active (${how}): ${todo}` };
}
