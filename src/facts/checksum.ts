import { quote } from '../argv.js';
import type { ScriptFact } from './types.js';

/** The hash algorithms get_url's `checksum` takes, each with its coreutils tool and digest length. */
export const DIGESTS = { md5: 32, sha1: 40, sha224: 56, sha256: 64, sha384: 96, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof DIGESTS;

/** The `<algorithm>sum` digest of a regular file (a link followed, as Ansible's digest_from_file does); null when there is none. */
export function fileDigestFact(path: string, algorithm: DigestAlgorithm): ScriptFact<string | null> {
  const p = quote(path);
  return {
    key: `digest:${algorithm}:${path}`,
    script: `if [ -f ${p} ] && [ -r ${p} ]; then ${algorithm}sum < ${p}; fi; :`,
    parse: (stdout) => /^[0-9a-f]+/.exec(stdout)?.[0] ?? null,
  };
}
