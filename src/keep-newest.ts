import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Deletes all but the `count` most recently modified files of `dir` that `mine` accepts (a cache's own entries). */
export function keepNewest(dir: string, count: number, mine: (name: string) => boolean): void {
  const files = readdirSync(dir).filter(mine).map((name) => ({ name, mtime: statSync(join(dir, name), { throwIfNoEntry: false })?.mtimeMs ?? 0 }));
  for (const { name } of files.sort((a, b) => b.mtime - a.mtime).slice(count)) rmSync(join(dir, name), { force: true });
}
