import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const cliPath = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** The bin users run (package.json): the esbuild bundle `npm run build` makes from the same sources. */
export const bundledCliPath = fileURLToPath(new URL('../../bundle/cli.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would (no TTY, so plain output), returning its exit code and output. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; cli?: string } = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** The CLI started as runCli does, with its process at hand (to signal it) and its stdout so far. */
export function startCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; cli?: string } = {}): { child: ChildProcess; output: () => string; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [opts.cli ?? cliPath, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, CI: 'true', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, output: () => stdout, done };
}

/** Parses the NDJSON event stream of `--output json`. */
export function events(stdout: string): Array<Record<string, any>> {
  return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** The `n` slowest task results of a `--output json` run, slowest first: where a slow run spent its time. */
export function slowestTasks(stdout: string, n = 5): string {
  const results = events(stdout).filter((e) => e.type === 'task:result');
  return results.sort((a, b) => b.ms - a.ms).slice(0, n).map((e) => `${e.host} "${e.task}" ${(e.ms / 1000).toFixed(1)} s`).join(', ');
}

/**
 * What a failed run says, for an assertion's message: every failed or unreachable host's lines
 * (the indented lines under them too; with --output json, those events), then the end of the
 * output. The end alone may have lost the failure of a host that failed early in a long run.
 */
export function failureReport(stdout: string, tail = 4000): string {
  const failures: string[] = [];
  if (stdout.startsWith('{')) {
    failures.push(...stdout.split('\n').filter((line) => /"status":"failed"|"type":"host:unreachable"/.test(line)));
  } else {
    let inFailure = false;
    for (const line of stdout.split('\n')) {
      // the text UI's status column (ui/format.ts): "FAILED" padded, not "FAILED (ignored)"
      if (/^(FAILED|UNREACHABLE) {2,}/.test(line)) inFailure = true;
      else if (!/^\s/.test(line) || line.trim() === '') inFailure = false;
      if (inFailure) failures.push(line);
    }
  }
  return `${failures.length ? `failures:\n${failures.join('\n')}\n--- the end of the output:\n` : ''}${stdout.slice(-tail)}`;
}
