import type { ScriptFact } from './types.js';

export const SOURCES_LIST = '/etc/apt/sources.list';
export const SOURCES_DIR = '/etc/apt/sources.list.d';

/** The one-line-style apt source files (sources.list and sources.list.d/*.list) with their text, by path. */
export function aptSourcesFact(): ScriptFact<Map<string, string>> {
  return {
    key: 'apt-sources',
    script: `for f in ${SOURCES_LIST} ${SOURCES_DIR}/*.list; do if [ -f "$f" ] && [ -r "$f" ]; then printf '\\0%s\\0' "$f"; cat -- "$f"; fi; done; :`,
    parse(stdout) {
      const parts = stdout.split('\0');
      const files = new Map<string, string>();
      for (let i = 1; i + 1 < parts.length; i += 2) files.set(parts[i]!, parts[i + 1]!);
      return files;
    },
  };
}
