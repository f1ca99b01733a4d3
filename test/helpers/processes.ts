import { readdirSync, readFileSync } from 'node:fs';

/** PIDs of the processes on this machine whose environment holds `entry` (NAME=value) exactly. */
export function processesWithEnv(entry: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry)) found.push(Number(pid));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}
