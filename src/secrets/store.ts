import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redactor } from './redactor.js';

export type SecretKind = 'gossip' | 'uuid';

export interface SecretStore {
  /** directory holding one file per secret */
  readonly dir: string;
  /** The secret called `name`, generated on first use and kept for every later run. */
  get(name: string, kind: SecretKind): string;
}

const SECRET_NAME = /^[a-z0-9][a-z0-9_.-]{0,127}$/;
const SHAPES: Record<SecretKind, RegExp> = {
  gossip: /^[A-Za-z0-9+/]{43}=$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
};

function generate(kind: SecretKind): string {
  // consul's gossip key: 32 random bytes, base64 (what `consul keygen` prints)
  return kind === 'gossip' ? randomBytes(32).toString('base64') : randomUUID();
}

/** Where the secrets of the inventory in `inventoryDir` are kept. */
export const secretsDir = (inventoryDir: string) => join(inventoryDir, '.bootstrap', 'secrets');

/** The values of every secret already kept beside an inventory (for redaction; none when there is no store). */
export function storedSecrets(inventoryDir: string): string[] {
  const dir = secretsDir(inventoryDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => SECRET_NAME.test(name) && statSync(join(dir, name)).isFile())
    .map((name) => readFileSync(join(dir, name), 'utf8').trim())
    .filter(Boolean);
}

/** A redactor that knows every secret kept beside the inventories in `inventoryDirs`; apply adds the ones it creates. */
export function redactorFor(inventoryDirs: Iterable<string>): Redactor {
  const redactor = new Redactor();
  for (const dir of new Set(inventoryDirs)) for (const value of storedSecrets(dir)) redactor.add(value);
  return redactor;
}

/**
 * Secrets generated once and kept on the laptop beside the inventory, in
 * <inventoryDir>/.bootstrap/secrets/<name> (files 0600, directories 0700). Values are never logged.
 */
export function createSecretStore(inventoryDir: string): SecretStore {
  const dir = secretsDir(inventoryDir);
  const cache = new Map<string, string>();
  return {
    dir,
    get(name, kind) {
      if (!SECRET_NAME.test(name)) throw new Error(`invalid secret name ${JSON.stringify(name)}: use lowercase letters, digits, _ . -`);
      const known = cache.get(name);
      if (known !== undefined) return known;
      const file = join(dir, name);
      let value: string;
      if (existsSync(file)) {
        if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
        value = readFileSync(file, 'utf8').trim();
        if (!SHAPES[kind].test(value)) throw new Error(`${file}: not a ${kind} secret (delete the file to generate a new one)`);
      } else {
        mkdirSync(join(inventoryDir, '.bootstrap'), { recursive: true, mode: 0o700 });
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        chmodSync(dir, 0o700);
        value = generate(kind);
        // wx: never overwrite a secret another process created meanwhile
        try {
          writeFileSync(file, value + '\n', { mode: 0o600, flag: 'wx' });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          value = readFileSync(file, 'utf8').trim();
        }
      }
      cache.set(name, value);
      return value;
    },
  };
}
