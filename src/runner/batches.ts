import { PERCENT, type BatchSize } from '../playbook/batch-size.js';

/** Where a host stands in a play that runs in batches: what events, the recap and run_once see. */
export interface Batch {
  /** 1-based */
  index: number;
  /** how many batches the play has */
  of: number;
  /** the batch's hosts, in inventory order */
  hosts: string[];
}

export function batchSizes(serial: readonly BatchSize[] | undefined, total: number): number[] {
  if (total <= 0) return [];
  if (!serial || serial.length === 0) return [total];
  const sizes: number[] = [];
  let left = total;
  for (let i = 0; left > 0; i++) {
    const size = Math.min(left, sizeOf(serial[Math.min(i, serial.length - 1)]!, total));
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

function sizeOf(entry: BatchSize, total: number): number {
  if (typeof entry === 'number') return Math.max(1, entry);
  const percent = Number(PERCENT.exec(entry)?.[1] ?? 100);
  return Math.max(1, Math.floor((total * percent) / 100));
}

/** The play's hosts cut into batches, in order. Without `serial` there is one batch of all of them. */
export function splitBatches(hosts: readonly string[], serial: readonly BatchSize[] | undefined): Batch[] {
  const sizes = batchSizes(serial, hosts.length);
  let start = 0;
  return sizes.map((size, i) => {
    const batch = { index: i + 1, of: sizes.length, hosts: hosts.slice(start, start + size) };
    start += size;
    return batch;
  });
}

/**
 * Whether the failures of one batch call off the rest of the run, by Ansible's rules: more than
 * `maxFailPercentage` of the batch's hosts failed (exceeded, so 0 stops at the first failure), or,
 * without max_fail_percentage, every host of the batch failed.
 */
export function batchBreaks(failed: number, batchSize: number, maxFailPercentage?: number): boolean {
  if (failed === 0) return false;
  if (maxFailPercentage === undefined) return failed >= batchSize;
  return (failed * 100) / batchSize > maxFailPercentage;
}
