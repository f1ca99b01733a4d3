/**
 * ~/.ssh/config resolution for one connection name: HostName, User, Port, IdentityFile,
 * HostKeyAlias and ProxyJump (each jump host is resolved through the same file).
 */
import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import SSHConfig from 'ssh-config';
import { ConfigError } from '../errors.js';

/** One hop as written in ProxyJump: [user@]host[:port] or ssh://[user@]host[:port]. */
export interface JumpSpec {
  user?: string;
  host: string;
  port?: number;
}

/** Where and as whom to connect, after applying the config file. */
export interface SshEndpoint {
  /** The name the user wrote (inventory address or ProxyJump hop). */
  alias: string;
  hostName: string;
  port: number;
  user: string;
  /** IdentityFile paths from the config, expanded; empty when none. */
  identityFiles: string[];
  /** Name to look up and record in known_hosts (HostKeyAlias, else HostName). */
  hostKeyName: string;
}

export interface ResolvedSsh {
  target: SshEndpoint;
  /** Jump hosts in connection order (first is dialled directly). */
  jumps: SshEndpoint[];
}

export interface ResolveOverrides {
  user?: string;
  port?: number;
}

export function defaultSshConfigPath(): string {
  return `${homedir()}/.ssh/config`;
}

/** Parsed config, or undefined when the file does not exist. */
export async function loadSshConfig(file: string): Promise<SSHConfig | undefined> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8'); // read for every connection: see known-hosts.ts
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError({ file }, '', `cannot read ssh config: ${(err as Error).message}`);
  }
  const known = parsedConfigs.get(file);
  if (known?.text === text) return known.config;
  try {
    const config = SSHConfig.parse(text);
    parsedConfigs.set(file, { text, config });
    return config;
  } catch (err) {
    throw new ConfigError({ file }, '', `cannot parse ssh config: ${(err as Error).message}`);
  }
}

/** Parsed once per content: a run over N hosts parses the file once. */
const parsedConfigs = new Map<string, { text: string; config: SSHConfig }>();

/** Parses a ProxyJump value: comma-separated hops, or "none". */
export function parseJumpList(value: string, file: string, alias: string): JumpSpec[] {
  if (value.trim().toLowerCase() === 'none') return [];
  return value.split(',').map((raw) => parseJump(raw.trim(), file, alias));
}

function parseJump(raw: string, file: string, alias: string): JumpSpec {
  const bad = (why: string): ConfigError =>
    new ConfigError({ file }, `Host ${alias}.ProxyJump`, `expected [user@]host[:port], got "${raw}" (${why})`);
  let rest = raw.startsWith('ssh://') ? raw.slice('ssh://'.length) : raw;
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (user === '') throw bad('empty user');
  }
  let host = rest;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if (rest.split(':').length === 2) {
    [host, portText] = rest.split(':') as [string, string];
  }
  if (host === '') throw bad('empty host');
  const port = portText === undefined ? undefined : parsePort(portText, () => bad('port must be 1-65535'));
  return { user, host, port };
}

function parsePort(text: string, fail: () => Error): number {
  if (!/^\d+$/.test(text)) throw fail();
  const port = Number(text);
  if (port < 1 || port > 65535) throw fail();
  return port;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function all(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** OpenSSH's tokens in IdentityFile: ~, %d (home), %u (local user), %h (host), %r (remote user), %%. */
export function expandPath(path: string, tokens: { host: string; user: string }): string {
  const home = homedir();
  const expanded = path.replace(/%([%dhru])/g, (_, token: string) => {
    switch (token) {
      case '%':
        return '%';
      case 'd':
        return home;
      case 'u':
        return userInfo().username;
      case 'h':
        return tokens.host;
      default:
        return tokens.user;
    }
  });
  return expanded === '~' ? home : expanded.startsWith('~/') ? `${home}${expanded.slice(1)}` : expanded;
}

/** Applies the config's Host blocks to one name; explicit user/port win over the file. */
export function resolveEndpoint(config: SSHConfig | undefined, file: string, alias: string, overrides: ResolveOverrides): SshEndpoint {
  const computed = config ? config.compute(alias, { ignoreCase: true, matchExec: false }) : {};
  const hostName = first(computed['hostname'])?.replace(/%h/g, alias) ?? alias;
  const configPort = first(computed['port']);
  const port =
    overrides.port ??
    (configPort === undefined
      ? 22
      : parsePort(configPort, () => new ConfigError({ file }, `Host ${alias}.Port`, `expected an integer 1-65535, got "${configPort}"`)));
  const user = overrides.user ?? first(computed['user']) ?? 'root';
  const identityFiles = all(computed['identityfile']).map((p) => expandPath(p, { host: hostName, user }));
  const hostKeyName = first(computed['hostkeyalias']) ?? hostName;
  return { alias, hostName, port, user, identityFiles, hostKeyName };
}

/**
 * Resolves the target and its ProxyJump chain. Jump hops get their own HostName/User/Port/
 * IdentityFile from the same file; a hop's own ProxyJump is not followed.
 */
export async function resolveSsh(file: string, alias: string, overrides: ResolveOverrides): Promise<ResolvedSsh> {
  const config = await loadSshConfig(file);
  const target = resolveEndpoint(config, file, alias, overrides);
  const computed = config ? config.compute(alias, { ignoreCase: true, matchExec: false }) : {};
  const jumpValue = first(computed['proxyjump']);
  const specs = jumpValue === undefined ? [] : parseJumpList(jumpValue, file, alias);
  const jumps = specs.map((spec) => resolveEndpoint(config, file, spec.host, { user: spec.user, port: spec.port }));
  return { target, jumps };
}
