import { quote } from '../argv.js';
import type { ScriptFact } from './types.js';

/** The modification time (whole seconds) of each of `paths` that is a regular file, not a link; others are left out. */
export function mtimesFact(paths: readonly string[]): ScriptFact<Map<string, number>> {
  return {
    key: `mtimes:${paths.join('\0')}`,
    script: `for p in ${paths.map(quote).join(' ')}; do if [ -f "$p" ] && [ ! -L "$p" ]; then printf '%s\\0%s\\0' "$(stat -c %Y -- "$p")" "$p"; fi; done; :`,
    parse(stdout) {
      const parts = stdout.split('\0');
      const out = new Map<string, number>();
      for (let i = 0; i + 1 < parts.length; i += 2) out.set(parts[i + 1]!, Number(parts[i]));
      return out;
    },
  };
}
