import { existsSync, readFileSync } from 'node:fs';
import { processesWithEnv } from './processes.js';

/** One line of a host log written by test/fixtures/runner/playbooks/exclusive.yml. */
export interface RunLogLine {
  what: 'begin' | 'end' | 'killed';
  run: string;
  at: number;
}

export function readRunLog(file: string): RunLogLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [what, run, at] = line.split(' ');
      return { what: what as RunLogLine['what'], run: run!, at: Number(at) };
    });
}

/** PIDs of the processes on this machine whose environment carries BOOTSTRAP_RUN=<run> (the hosts' sshd run here). */
export function processesOfRun(run: string): number[] {
  return processesWithEnv(`BOOTSTRAP_RUN=${run}`);
}
