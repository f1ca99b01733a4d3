import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { hasEjs } from './params.js';

export function localPath(src: string, localDir: string): string {
  return isAbsolute(src) ? src : resolve(localDir, src);
}

/** validate() helper: [key, problem] when a local source file is missing (skipped while it still holds EJS). */
export function checkLocalFile(key: string, src: unknown, localDir: string, pending?: ReadonlySet<string>): Array<[string, string]> {
  if (typeof src !== 'string' || hasEjs(src)) return [];
  const path = localPath(src, localDir);
  if (pending?.has(path)) return [];
  if (!existsSync(path)) return [[key, `no such file: ${path}`]];
  if (!statSync(path).isFile()) return [[key, `not a regular file: ${path}`]];
  return [];
}

export function readLocalFile(src: string, localDir: string): Buffer {
  return readFileSync(localPath(src, localDir));
}
