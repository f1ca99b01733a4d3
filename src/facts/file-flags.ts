import { quote } from '../argv.js';
import type { FactFamily, FamilyFact } from './types.js';

/** lsattr's flag letters and the names Ansible gives them (its FILE_ATTRIBUTES). */
export const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  A: 'noatime', a: 'append', c: 'compressed', C: 'nocow', d: 'nodump', D: 'dirsync', e: 'extents', E: 'encrypted',
  h: 'blocksize', i: 'immutable', I: 'indexed', j: 'journalled', N: 'inline', s: 'zero', S: 'synchronous', t: 'notail',
  T: 'blockroot', u: 'undelete', X: 'compressedraw', Z: 'compresseddirty',
};

/** What Ansible's stat reports from `lsattr -vd` (get_attributes): null, '' and [] where lsattr fails (a symlink, no lsattr). */
export interface FileFlags {
  version: string | null;
  attr_flags: string;
  attributes: string[];
}

/** One `lsattr -vd` per path (its output names the path, which cannot be told apart from the fields when a name holds spaces). */
function flagsScript(paths: readonly string[]): string {
  return `for p in ${paths.map(quote).join(' ')}; do printf '%s\\0' "$(lsattr -vd -- "$p" 2>/dev/null)"; done`;
}

/** `<version> <flags> <path>`, as Ansible reads it: the flags without their dashes, each letter named. */
export function parseLsattr(out: string): FileFlags {
  const fields = out.trim().split(/\s+/);
  if (fields.length < 2 || !fields[0]) return { version: null, attr_flags: '', attributes: [] };
  const flags = fields[1]!.replaceAll('-', '');
  return { version: fields[0], attr_flags: flags, attributes: [...flags].filter((f) => f in ATTRIBUTE_NAMES).map((f) => ATTRIBUTE_NAMES[f]!) };
}

const flags: FactFamily<string, FileFlags> = {
  name: 'file-flags',
  script: flagsScript,
  parse: (stdout, _code, paths) => {
    const outs = stdout.split('\0');
    return paths.map((_, i) => parseLsattr(outs[i] ?? ''));
  },
};

/** A path's ext2-style attributes as lsattr reads them (stat's `get_attributes`); links are not followed (lsattr fails on one). */
export function fileFlagsFact(path: string): FamilyFact<FileFlags, string> {
  return { key: `file-flags:${path}`, family: flags, item: path };
}
