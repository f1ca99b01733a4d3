import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CloudInputError } from './errors.js';

export interface PublicKey {
  /** the line as it goes to the API: "TYPE BASE64 [comment]" */
  line: string;
  type: string;
  comment: string;
  /** MD5 of the key blob as colon-separated hex: how Digital Ocean names a key */
  md5Fingerprint: string;
}

const KEY_LINE = /^(ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s+([A-Za-z0-9+/]+={0,3})(?:\s+(.*))?$/;

export function parsePublicKey(text: string, file: string): PublicKey {
  const line = text.trim();
  if (line.includes('PRIVATE KEY')) throw new CloudInputError(`${file}: this is a private key; --ssh-key takes the public key (the .pub file)`);
  const m = KEY_LINE.exec(line);
  if (!m) throw new CloudInputError(`${file}: expected one OpenSSH public key line ("ssh-ed25519 AAAA... comment"), got ${JSON.stringify(line.slice(0, 40))}`);
  const blob = Buffer.from(m[2]!, 'base64');
  const md5 = createHash('md5').update(blob).digest('hex');
  return {
    line,
    type: m[1]!,
    comment: (m[3] ?? '').trim(),
    md5Fingerprint: md5.match(/../g)!.join(':'),
  };
}

export async function readPublicKey(file: string): Promise<PublicKey> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CloudInputError(`${file}: cannot read the SSH public key (${(err as NodeJS.ErrnoException).code ?? String(err)}); pass --ssh-key PATH.pub`);
  }
  return parsePublicKey(text, file);
}
