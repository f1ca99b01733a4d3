/**
 * Which credentials to offer: the inventory key alone if given; else the config's IdentityFiles
 * then ssh-agent; else ssh-agent then ~/.ssh/id_ed25519, id_ecdsa, id_rsa. Only paths are ever
 * reported, never key material.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import ssh2, { type AgentAuthMethod, type ParsedKey, type PublicKeyAuthMethod } from 'ssh2';

export const DEFAULT_KEY_NAMES = ['id_ed25519', 'id_ecdsa', 'id_rsa'] as const;

export interface AuthPlan {
  methods: Array<AgentAuthMethod | PublicKeyAuthMethod>;
  /** What will be offered, in order, e.g. "ssh-agent (/tmp/ssh-X/agent.1)", "/root/.ssh/id_ed25519". */
  offered: string[];
  /** Candidates not offered and why, e.g. "/root/.ssh/id_rsa (passphrase-protected)". */
  skipped: string[];
}

export interface AuthSources {
  username: string;
  /** target.key: the only key used when set. */
  explicitKey?: string;
  /** IdentityFile entries from ~/.ssh/config. */
  configKeys: readonly string[];
  /** Defaults to $SSH_AUTH_SOCK. */
  agentSocket?: string;
  /** Defaults to the user's home (~/.ssh/id_*). */
  home?: string;
}

/** A key that exists but cannot be used, or a missing explicit key. */
export class KeyError extends Error {
  override name = 'KeyError';
}

type KeyLoad = { ok: true; data: ParsedKey } | { ok: false; why: string; encrypted?: boolean; missing?: boolean };

const parsedKeys = new Map<string, { data: Buffer; parsed: ParsedKey }>();

export async function loadPrivateKey(path: string): Promise<KeyLoad> {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { ok: false, why: 'does not exist', missing: true } : { ok: false, why: `unreadable: ${code}` };
  }
  // read for every connection, parsed (and handed to ssh2 parsed) once per content: a run over N hosts parses it once
  const known = parsedKeys.get(path);
  if (known?.data.equals(data)) return { ok: true, data: known.parsed };
  const result = ssh2.utils.parseKey(data);
  const parsed = Array.isArray(result) ? result[0]! : result;
  if (parsed instanceof Error) {
    return /encrypted|passphrase/i.test(parsed.message)
      ? { ok: false, why: 'passphrase-protected; load it into ssh-agent with `ssh-add`', encrypted: true }
      : { ok: false, why: `not a usable private key (${parsed.message})` };
  }
  parsedKeys.set(path, { data, parsed });
  return { ok: true, data: parsed };
}

async function socketExists(path: string | undefined): Promise<boolean> {
  if (!path) return false;
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

export async function planAuth(sources: AuthSources): Promise<AuthPlan> {
  const { username } = sources;
  const agentSocket = sources.agentSocket ?? process.env['SSH_AUTH_SOCK'];
  const agentUsable = await socketExists(agentSocket);
  const plan: AuthPlan = { methods: [], offered: [], skipped: [] };
  const addAgent = (): void => {
    if (agentUsable) {
      plan.methods.push({ type: 'agent', username, agent: agentSocket! });
      plan.offered.push(`ssh-agent (${agentSocket})`);
    } else {
      plan.skipped.push(agentSocket ? `ssh-agent (${agentSocket} is not a socket)` : 'ssh-agent (SSH_AUTH_SOCK is not set)');
    }
  };
  const addKeyFile = async (path: string): Promise<KeyLoad> => {
    const loaded = await loadPrivateKey(path);
    if (loaded.ok) {
      plan.methods.push({ type: 'publickey', username, key: loaded.data });
      plan.offered.push(path);
    } else {
      plan.skipped.push(`${path} (${loaded.why})`);
    }
    return loaded;
  };

  if (sources.explicitKey !== undefined) {
    const loaded = await addKeyFile(sources.explicitKey);
    if (!loaded.ok) {
      // An encrypted key can still work if the user loaded it into their agent.
      if (loaded.encrypted && agentUsable) addAgent();
      else throw new KeyError(`ssh key ${sources.explicitKey} ${loaded.why}${loaded.encrypted ? ' (no ssh-agent is running)' : ''}`);
    }
    return plan;
  }
  if (sources.configKeys.length > 0) {
    for (const path of sources.configKeys) await addKeyFile(path);
    addAgent();
  } else {
    addAgent();
    const home = sources.home ?? homedir();
    for (const name of DEFAULT_KEY_NAMES) {
      const loaded = await loadPrivateKey(`${home}/.ssh/${name}`);
      if (loaded.ok) {
        plan.methods.push({ type: 'publickey', username, key: loaded.data });
        plan.offered.push(`${home}/.ssh/${name}`);
      } else if (!loaded.missing) {
        plan.skipped.push(`${home}/.ssh/${name} (${loaded.why})`);
      }
    }
  }
  if (plan.methods.length === 0) {
    const home = sources.home ?? homedir();
    const reasons = [...plan.skipped];
    if (sources.configKeys.length === 0) reasons.push(`none of ${DEFAULT_KEY_NAMES.map((n) => `${home}/.ssh/${n}`).join(', ')} exists`);
    throw new KeyError(
      `no usable ssh credentials: ${reasons.join('; ')}. ` +
        'Set `ssh.key` in the inventory, start ssh-agent and `ssh-add` a key, or create one with `ssh-keygen -t ed25519`.',
    );
  }
  return plan;
}
