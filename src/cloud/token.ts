import { readFile, stat } from 'node:fs/promises';
import { CloudInputError } from './errors.js';

/**
 * The API token comes from --token-file or DIGITALOCEAN_TOKEN, never from argv.
 * A token file others can read is refused: the token can destroy every droplet in the account.
 */
export async function readToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  if (tokenFile !== undefined) {
    let mode: number;
    try {
      mode = (await stat(tokenFile)).mode;
    } catch (err) {
      throw new CloudInputError(`--token-file ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if ((mode & 0o077) !== 0) {
      throw new CloudInputError(
        `--token-file ${tokenFile}: readable by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${tokenFile}`,
      );
    }
    const token = (await readFile(tokenFile, 'utf8')).trim();
    if (token === '') throw new CloudInputError(`--token-file ${tokenFile}: the file is empty`);
    if (/\s/.test(token)) throw new CloudInputError(`--token-file ${tokenFile}: expected one token, found whitespace inside it`);
    return token;
  }
  const token = env.DIGITALOCEAN_TOKEN?.trim();
  if (!token) {
    throw new CloudInputError('no Digital Ocean API token: set DIGITALOCEAN_TOKEN or pass --token-file PATH (mode 600)');
  }
  return token;
}

/** Replace every occurrence of the token, in case anything ever echoes it. */
export function redact(text: string, token: string | undefined): string {
  if (!token) return text;
  return text.split(token).join('[REDACTED]');
}
