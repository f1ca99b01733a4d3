import type { ParamSpec } from './types.js';

/** Parameter specs shared by several modules. */
export const modeParam: ParamSpec = { type: 'mode', description: 'file mode as octal digits, e.g. "0644"' };
export const ownerParam: ParamSpec = { type: 'string', description: 'owner (user name or uid)' };
export const groupParam: ParamSpec = { type: 'string', description: 'group (name or gid)' };
export const absolutePathParam = (description: string, required = true): ParamSpec => ({
  type: 'string',
  pattern: /^\//,
  patternHint: 'an absolute path',
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
