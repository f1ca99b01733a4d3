import { existsSync, readFileSync, readdirSync } from 'node:fs';

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
  const mark = `BOOTSTRAP_RUN=${run}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(mark)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
