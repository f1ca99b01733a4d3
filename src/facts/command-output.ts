import { randomBytes } from 'node:crypto';
import { quote, toShell } from '../argv.js';
import type { ExecResult } from '../transport/types.js';
import type { ScriptFact } from './types.js';

/**
 * What a command prints and its exit code, as a fact (verify reads the live stack this way): its
 * stdout byte for byte, then a line with a nonce the command cannot know, the exit code, and its
 * stderr. It runs in the batch's shell, one after the other like the commands it replaces, with
 * `stdin` piped in (else /dev/null, as every fact).
 */
export function commandOutputFact(argv: readonly string[], stdin?: string): ScriptFact<ExecResult> {
  const line = toShell(argv);
  const marker = `BOOTSTRAP-OUTPUT-${randomBytes(9).toString('hex')} `;
  const feed = stdin === undefined ? '' : `printf '%s' ${quote(stdin)} | `;
  return {
    key: `output:${line}${stdin === undefined ? '' : ` <${JSON.stringify(stdin)}`}`,
    inShell: true,
    // stdout goes straight to the batch (fd 3), stderr into a variable: no temporary file
    script: `{ bootstrap_err=$( { ${feed}${line}; } 2>&1 1>&3 3>&- ); bootstrap_code=$?; } 3>&1
printf '\\n%s%s\\n%s' '${marker}' "$bootstrap_code" "$bootstrap_err"`,
    parse(stdout) {
      const at = stdout.indexOf(`\n${marker}`);
      const code = at < 0 ? undefined : /^(\d+)\n/.exec(stdout.slice(at + marker.length + 1));
      if (at < 0 || !code) throw new Error(`no exit code after the output of ${line}`);
      return { code: Number(code[1]), stdout: stdout.slice(0, at), stderr: stdout.slice(at + marker.length + 1 + code[0].length) };
    },
  };
}
