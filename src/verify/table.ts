import type { CheckResult } from './types.js';

/** The checks as an aligned text table, failures marked, with a summary line. */
export function formatCheckTable(results: CheckResult[]): string {
  const rows = results.map((r) => [r.ok ? 'ok' : 'FAIL', r.check, r.host ?? '', r.app ?? '', r.detail]);
  const header = ['', 'check', 'host', 'app', 'detail'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const failed = results.filter((r) => !r.ok).length;
  const summary = failed === 0 ? `all ${results.length} checks passed` : `${failed} of ${results.length} checks failed`;
  return [line(header), ...rows.map(line), '', summary].join('\n') + '\n';
}

/** True when every check passed (the CLI exits VERIFY_FAILED otherwise). */
export function allPassed(results: CheckResult[]): boolean {
  return results.length > 0 && results.every((r) => r.ok);
}
