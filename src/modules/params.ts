import { posix } from 'node:path';
import type { ParamSpec } from './types.js';

/**
 * A path on a host must be absolute and normalized, so that it names exactly the file it reads as:
 * no `.` or `..` segment (`sub/../x` would make a stray `sub`), no doubled slash, and no control
 * character (a newline or NUL would make another name, or cut it short).
 */
export function hostPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return `expected an absolute path, got ${JSON.stringify(path)}`;
  if (/[\x00-\x1f\x7f]/.test(path)) return `expected a path without control characters (newline, NUL, ...), got ${JSON.stringify(path)}`;
  const normal = posix.normalize(path);
  if (normal !== path) return `expected a normalized path (no \`.\` or \`..\` segments, no \`//\`), got ${JSON.stringify(path)}; the normalized form is ${JSON.stringify(normal)}`;
  return undefined;
}

/** Parameter specs shared by several modules. */
export const modeParam: ParamSpec = { type: 'mode', description: 'file mode as octal digits, e.g. "0644"' };
export const ownerParam: ParamSpec = { type: 'string', description: 'owner (user name or uid)' };
export const groupParam: ParamSpec = { type: 'string', description: 'group (name or gid)' };
export const absolutePathParam = (description: string, required = true): ParamSpec => ({
  type: 'string',
  check: hostPathProblem,
  description,
  required,
});
export const sensitiveParam: ParamSpec = { type: 'boolean', default: false, description: 'the content is a secret: no diff, only on stdin' };
export const validateParam: ParamSpec = {
  type: 'string',
  pattern: /%s/,
  patternHint: 'a command containing %s (the temp file)',
  description: 'command run on the temp file before it is moved into place, e.g. "nginx -t -c %s"',
};

/** Whether a param still holds EJS (it is rendered per host before planning). */
export function hasEjs(value: unknown): boolean {
  return typeof value === 'string' && value.includes('<%');
}
