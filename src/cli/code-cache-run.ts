/**
 * How `bootstrap` (dist/bundle/cli.js) runs the CLI in its own process: the whole CLI is one
 * CommonJS file beside it (main.js), compiled from the V8 code cache the previous run left, so a
 * run does not parse and compile the CLI's code again (about 40 ms of a lab no-op). The cache is
 * keyed by Node's version and main.js's size and time, kept in the user's cache directory, and
 * written when missing or refused (V8 checks it against the source and its flags); a cache that
 * cannot be read or written only costs that time. V8 puts in it only what the writing run
 * compiled (`--version` compiles little, a run through kept connections no ssh2), so it is
 * written again, holding what it held and what this run added, by the first run of each kind
 * (run-kind.ts) it has not seen: the kinds it holds head the file, one line before V8's bytes.
 * The run server loads the CLI from the same cache, reading it only (loadedRunCli).
 */
import './v8-tiering.js'; // first: V8 refuses a code cache made under other flags
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, wrap } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { keepNewest } from '../keep-newest.js';
import { askForRunCli, handedRunCli, type RunCli } from './cli-handover.js';
import { runKind } from './run-kind.js';

const main = fileURLToPath(new URL('./main.js', import.meta.url));
const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'bootstrap', 'code-cache');
const stat = statSync(main);
const KEPT = 4;
const name = `${process.version}-${process.arch}-${stat.size}-${Math.trunc(stat.mtimeMs)}.bin`;

/** The cache's V8 bytes and the kinds of run that wrote them (its first line). */
function read(): { data?: Buffer; kinds: string[] } {
  try {
    const file = readFileSync(join(dir, name));
    const end = file.indexOf(0x0a);
    if (end < 0) return { kinds: [] };
    return { data: file.subarray(end + 1), kinds: file.subarray(0, end).toString('utf8').split(' ').filter(Boolean) };
  } catch {
    return { kinds: [] };
  }
}

function write(data: Buffer, kinds: readonly string[]): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temp = join(dir, `.${name}.${process.pid}`);
    writeFileSync(temp, Buffer.concat([Buffer.from(`${kinds.join(' ')}\n`), data]), { mode: 0o600 });
    renameSync(temp, join(dir, name));
    // the newest few stay (two builds run by turns, say a benchmark's, keep theirs); older builds' go
    keepNewest(dir, KEPT, (file) => !file.startsWith('.'));
  } catch {
    // no cache this time
  }
}

/** Loads main.js from the code cache; `save`: write the cache again at exit when it lacks this run. */
function load(save: boolean): void {
  const { data: cachedData, kinds } = read();
  const script = new Script(wrap(readFileSync(main, 'utf8')), { filename: main, cachedData });
  // made at exit, it holds the functions this run compiled too, not only the top level
  if (save) {
    process.once('exit', () => {
      const kind = runKind();
      const unseen = kind !== undefined && !kinds.includes(kind);
      if (cachedData === undefined || script.cachedDataRejected || unseen) write(script.createCachedData(), unseen ? [...kinds, kind] : kinds);
    });
  }
  const module = { exports: {}, id: main, filename: main, loaded: false, children: [], paths: [] };
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, createRequire(main), module, main, join(main, '..'));
}

/** Runs the CLI in this process: main.js from the code cache. */
export function runHere(): void {
  load(true);
}

/**
 * The CLI's runCli for the run server: main.js from the code cache, which it only reads (its runs
 * are not a local run's kind), handing runCli over instead of running (cli-handover.ts).
 */
export function loadedRunCli(): RunCli {
  askForRunCli();
  load(false);
  return handedRunCli();
}
