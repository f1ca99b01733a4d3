import { posix } from 'node:path';
import { DIGESTS, type DigestAlgorithm } from '../facts/checksum.js';

/** get_url's `checksum`: `<algorithm>:<hex digest>` or `<algorithm>:<URL of a checksum file>`. */
export type ChecksumParam = { algorithm: DigestAlgorithm; digest: string } | { algorithm: DigestAlgorithm; url: string };

/** URL schemes Ansible's get_url takes a checksum file from (its is_url). */
const CHECKSUM_URL = /^(https?|ftp|file):/i;

/** As Ansible cleans a digest: characters that are not word characters (spaces, colons, a zero-width space) removed, lower case. */
export const cleanDigest = (digest: string) => digest.replace(/[^\p{L}\p{N}_]+/gu, '').toLowerCase();

/** The parsed parameter, or why it is wrong. */
export function parseChecksum(value: string): ChecksumParam | string {
  const at = value.indexOf(':');
  if (at < 0) return `expected <algorithm>:<checksum> or <algorithm>:<URL of a checksum file>, got ${JSON.stringify(value)}`;
  const algorithm = value.slice(0, at);
  const rest = value.slice(at + 1);
  if (!(algorithm in DIGESTS)) return `expected an algorithm among ${Object.keys(DIGESTS).join(', ')} before ":", got ${JSON.stringify(algorithm)}`;
  const algo = algorithm as DigestAlgorithm;
  if (CHECKSUM_URL.test(rest)) return { algorithm: algo, url: rest };
  const digest = cleanDigest(rest);
  const problem = digestProblem(algo, digest);
  return problem ?? { algorithm: algo, digest };
}

/** A cleaned digest that is not hex, or not as long as the algorithm's. */
export function digestProblem(algorithm: DigestAlgorithm, digest: string): string | undefined {
  if (!/^[0-9a-f]+$/.test(digest)) return `the ${algorithm} checksum ${JSON.stringify(digest)} is not hex digits`;
  if (digest.length !== DIGESTS[algorithm]) return `a ${algorithm} checksum has ${DIGESTS[algorithm]} hex digits, ${JSON.stringify(digest)} has ${digest.length}`;
  return undefined;
}

/** The file name Ansible looks for in a checksum file: the last part of the URL's path (url_filename). */
export function urlFilename(url: string): string {
  return posix.basename(new URL(url).pathname) || 'index.html';
}

const BSD_LINE = /^([\p{L}\p{N}_]+) ?\((?<path>.+)\) ?= (?<digest>[\p{L}\p{N}_.]+)$/su;
const GNU_LINE = /^(?<digest>[\p{L}\p{N}_.]+)\s+(\*|\.\/|\.)?(?<path>.+)$/su;

/**
 * The (digest, file name) pairs of a checksum file, as Ansible's get_url reads one
 * (parse_digest_lines): a lone word is the digest of `filename`; otherwise BSD lines
 * (`SHA256 (name) = digest`) and GNU lines (`digest  name`, `digest *name`), the GNU name's
 * leading dots and slashes left out.
 */
export function parseDigestLines(filename: string, text: string): Array<[digest: string, path: string]> {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 1 && lines[0]!.split(/\s+/).filter(Boolean).length === 1) return [[lines[0]!, filename]];
  const pairs: Array<[string, string]> = [];
  for (const line of lines) {
    const bsd = BSD_LINE.exec(line);
    if (bsd) pairs.push([bsd.groups!.digest!, bsd.groups!.path!]);
    else {
      const gnu = GNU_LINE.exec(line);
      if (gnu) pairs.push([gnu.groups!.digest!, gnu.groups!.path!.replace(/^[./]+/, '')]);
    }
  }
  return pairs;
}
