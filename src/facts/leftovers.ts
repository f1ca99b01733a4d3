import { posix } from 'node:path';
import { quote } from '../argv.js';
import type { FactFamily, FamilyFact } from './types.js';

/** The name part that marks a temp file of a run (its 8-hex-digit id follows): `.<name>.bootstrap-tmp-<run id>`. */
export const TEMP_MARK = '.bootstrap-tmp-';

/** Temp path in the same directory as `path`, so the final mv is an atomic rename; unique per run. */
export function tempPathFor(path: string, runId: string): string {
  return posix.join(posix.dirname(path), `.${posix.basename(path)}${TEMP_MARK}${runId}`);
}

interface LeftoverItem {
  target: string;
  /** the host's lock file: the run it names as holder is alive, and its temp files are not leftovers */
  lockFile: string;
  /** this run: its own temp files are not leftovers either */
  runId: string;
}

const RUN_ID_GLOB = '[0-9a-f]'.repeat(8);

/**
 * For each target, the temp files of earlier runs beside it: only bootstrap's own pattern, and
 * neither this run's nor those of the run the lock file names as its holder (a line starting
 * `user=`; a released lock says `free after run=...`). Shell builtins only: a no-op run pays no
 * process for it. Paths come back NUL-separated: any byte but NUL may appear in them.
 */
function leftoversScript(items: readonly LeftoverItem[]): string {
  const lines: string[] = [];
  const locks = [...new Set(items.map((i) => i.lockFile))];
  locks.forEach((lock, n) => {
    lines.push(
      `held=; [ -r ${quote(lock)} ] && read -r held < ${quote(lock)}`,
      `live${n}=; case $held in user=*" run="*) live${n}=\${held##* run=}; live${n}=\${live${n}%% *} ;; esac`,
    );
  });
  items.forEach((item, index) => {
    const stem = posix.join(posix.dirname(item.target), `.${posix.basename(item.target)}${TEMP_MARK}`);
    lines.push(
      `for f in ${quote(stem)}${RUN_ID_GLOB}; do`,
      `  [ -L "$f" ] || [ -f "$f" ] || continue`,
      `  case \${f##*${TEMP_MARK}} in ${quote(item.runId)}|"$live${locks.indexOf(item.lockFile)}") continue ;; esac`,
      `  printf '%s\\0%s\\0' ${index} "$f"`,
      'done',
    );
  });
  return lines.join('\n');
}

function parseLeftovers(stdout: string, items: readonly LeftoverItem[]): string[][] {
  const found: string[][] = items.map(() => []);
  const fields = stdout.split('\0');
  for (let i = 0; i + 1 < fields.length; i += 2) found[Number(fields[i])]?.push(fields[i + 1]!);
  return found;
}

const leftovers: FactFamily<LeftoverItem, string[]> = {
  name: 'leftovers',
  script: leftoversScript,
  parse: (stdout, _code, items) => parseLeftovers(stdout, items),
};

/** The temp files that runs no longer alive left beside `target` (see leftoversScript), as paths. */
export function leftoversFact(target: string, ctx: { lockFile: string; runId: string }): FamilyFact<string[], LeftoverItem> {
  return {
    key: `leftovers:${target}`,
    family: leftovers,
    item: { target, lockFile: ctx.lockFile, runId: ctx.runId },
  };
}
