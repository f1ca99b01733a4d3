import { quote } from '../argv.js';
import type { FactFamily, FamilyFact } from './types.js';

/** What `file --mime-type --mime-encoding` says of a path, as Ansible's stat reports it ("unknown" where it says nothing usable). */
export interface FileMime {
  mimetype: string;
  charset: string;
}

const UNKNOWN: FileMime = { mimetype: 'unknown', charset: 'unknown' };

/**
 * One `file` for every path of the batch, links not followed (file's default, and what Ansible
 * runs whatever `follow` says); with -b it prints one line per path, in order. No `file` on the
 * host: no lines, every path unknown, as in Ansible.
 */
function mimeScript(paths: readonly string[]): string {
  return `file -b --mime-type --mime-encoding -- ${paths.map(quote).join(' ')} 2>/dev/null; :`;
}

/** One line as Ansible's stat reads it: `<type>; charset=<charset>`; any other shape leaves what it cannot read unknown. */
export function parseMimeLine(line: string | undefined): FileMime {
  const parts = (line ?? '').split(';');
  if (parts.length !== 2) return UNKNOWN;
  const charset = parts[1]!.split('=');
  return { mimetype: parts[0]!.trim(), charset: charset.length > 1 ? charset[1]!.trim() : 'unknown' };
}

const mimes: FactFamily<string, FileMime> = {
  name: 'file-mime',
  script: mimeScript,
  parse: (stdout, _code, paths) => {
    const lines = stdout.split('\n');
    return lines.length === paths.length + 1 ? paths.map((_, i) => parseMimeLine(lines[i])) : paths.map(() => UNKNOWN);
  },
};

/** The mime type and charset `file` reads from a path's content (stat's `get_mime`). */
export function fileMimeFact(path: string): FamilyFact<FileMime, string> {
  return { key: `file-mime:${path}`, family: mimes, item: path };
}
