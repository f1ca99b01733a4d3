import { CloudInputError } from './errors.js';
import { envNameProblem } from './naming.js';

/** Options shared by up, down and status, as commander hands them over (strings). */
export interface CommonOptions {
  provider?: string;
  name?: string;
  output?: string;
  tokenFile?: string;
  apiUrl?: string;
  dryRun?: boolean;
}

export function validProvider(value: string | undefined): 'digitalocean' {
  if (value === undefined) throw new CloudInputError('--provider is required (supported: digitalocean)');
  if (value !== 'digitalocean') throw new CloudInputError(`--provider: expected digitalocean (the only provider supported), got ${JSON.stringify(value)}`);
  return value;
}

export function validEnvName(value: string | undefined): string {
  if (value === undefined) throw new CloudInputError('--name ENV is required (the environment name, e.g. --name staging)');
  const problem = value === '' ? 'it is empty' : envNameProblem(value);
  if (problem) throw new CloudInputError(`--name ${JSON.stringify(value)}: ${problem}; use letters, digits and "-"`);
  return value;
}

export function validOutput(value: string | undefined): 'text' | 'json' {
  const v = value ?? 'text';
  if (v !== 'text' && v !== 'json') throw new CloudInputError(`--output: expected text or json, got ${JSON.stringify(v)}`);
  return v;
}

export function validCount(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new CloudInputError(`${flag}: expected an integer ${min}-${max}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

export function validSlug(flag: string, value: string | undefined, fallback: string, pattern: RegExp, what: string): string {
  const v = value ?? fallback;
  if (!pattern.test(v)) throw new CloudInputError(`${flag}: expected ${what}, got ${JSON.stringify(v)}`);
  return v;
}

/** The token travels to this URL: https, or plain http only to this machine (the test server). */
export function validApiUrl(value: string | undefined): string {
  const v = value ?? 'https://api.digitalocean.com';
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new CloudInputError(`--api-url: expected a URL like https://api.digitalocean.com, got ${JSON.stringify(v)}`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new CloudInputError(`--api-url: expected https:// (http:// only for localhost), got ${JSON.stringify(v)}`);
  }
  if (url.search || url.hash || url.username || url.password) throw new CloudInputError(`--api-url: expected a base URL without query, fragment or credentials, got ${JSON.stringify(v)}`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

