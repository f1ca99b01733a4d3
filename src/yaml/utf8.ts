import { isUtf8 } from 'node:buffer';
import { ConfigError } from '../errors.js';

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629, table 3-7 of Unicode). */
function firstInvalid(bytes: Buffer): number {
  for (let i = 0; i < bytes.length; ) {
    const c = bytes[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const [more, lo, hi] = c >= 0xc2 && c <= 0xdf ? [1, 0x80, 0xbf]
      : c >= 0xe0 && c <= 0xef ? [2, c === 0xe0 ? 0xa0 : 0x80, c === 0xed ? 0x9f : 0xbf]
      : c >= 0xf0 && c <= 0xf4 ? [3, c === 0xf0 ? 0x90 : 0x80, c === 0xf4 ? 0x8f : 0xbf]
      : [-1, 0, 0];
    if (more < 0) return i;
    for (let k = 1; k <= more; k++) {
      const d = bytes[i + k];
      if (d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += more + 1;
  }
  return -1;
}

/**
 * The text of an input file (inventory, playbook, vars file, template), which must be UTF-8: a
 * byte that is not would be read as U+FFFD and written to the hosts changed (`café` saved as
 * Latin-1 became `caf\xEF\xBF\xBD`). Refused naming the line and column of that byte.
 */
export function decodeUtf8(bytes: Buffer, file: string): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  const at = firstInvalid(bytes);
  const lineStart = bytes.lastIndexOf(0x0a, at - 1) + 1;
  const line = bytes.subarray(0, lineStart).filter((b) => b === 0x0a).length + 1;
  const col = bytes.subarray(lineStart, at).toString('utf8').length + 1;
  throw new ConfigError({ file, line, col }, '', `not valid UTF-8 (byte 0x${bytes[at]!.toString(16).padStart(2, '0')}); save the file as UTF-8`);
}
