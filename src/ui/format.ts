import type { HostRecap, RunEvent, TaskResult } from '../runner/events.js';
import { renderDiff } from './diff.js';

export interface UiOptions {
  diff: boolean;
  verbose: boolean;
}

const STATUS: Record<TaskResult['status'], string> = { ok: 'ok', changed: 'changed', failed: 'FAILED', skipped: 'skipping' };

/** The lines a task result prints as: status, host, task, and why. */
export function formatResult(r: TaskResult, opts: UiOptions, check: boolean): string[] {
  const status = r.ignored ? 'FAILED (ignored)' : r.dependsOn ? 'would run' : r.status === 'changed' && check ? 'would change' : STATUS[r.status];
  const pending = r.pendingSince ? ` (pending from the run of ${r.pendingSince})` : '';
  const host = r.delegatedTo ? `${r.host} -> ${r.delegatedTo}` : r.host;
  const head = `${status.padEnd(12)} ${host.padEnd(10)} ${r.handler ? 'handler: ' : ''}${r.task}${pending}`;
  const lines: string[] = [];
  if (r.status === 'ok' || r.status === 'skipped') {
    if (!opts.verbose && r.status === 'skipped') return [];
    lines.push(`${head}  (${r.reason ?? ''})`);
  } else {
    lines.push(head);
    for (const c of r.changes) {
      lines.push(`    - ${c.title}`);
      if (opts.diff && c.diff) lines.push(...indent(renderDiff(c.diff)));
    }
  }
  if (r.failure) {
    lines.push(`    ${r.failure.message.split('\n')[0]}`);
    if (r.failure.command) lines.push(`    command: ${r.failure.command}`, `    exit code: ${r.failure.exitCode ?? 'killed by signal'}`);
    if (r.failure.stderrTail) lines.push(...indent(r.failure.stderrTail, '    | '));
  }
  if (opts.verbose) lines[0] += `  [${r.ms} ms]`;
  return lines;
}

function indent(text: string, prefix = '      '): string[] {
  return text.replace(/\n$/, '').split('\n').map((l) => prefix + l);
}

export function formatRecap(recap: Map<string, HostRecap>, ms: number, check: boolean): string[] {
  const width = Math.max(4, ...[...recap.keys()].map((h) => h.length));
  const lines = ['', `RECAP${check ? ' (check mode: nothing was changed)' : ''}`];
  for (const [host, r] of recap) {
    const batches = r.batches.map((b) => `${b.play} ${b.batch}/${b.of}`);
    lines.push(
      `  ${host.padEnd(width)}  ok=${r.ok} changed=${r.changed} failed=${r.failed} skipped=${r.skipped} unreachable=${r.unreachable ? 1 : 0}${r.rescued ? ` rescued=${r.rescued}` : ''}${r.ignored ? ` ignored=${r.ignored}` : ''}` +
        (batches.length ? `  batch: ${batches.join(', ')}` : '') +
        (r.interrupted ? '  interrupted' : ''),
    );
  }
  for (const reason of new Set([...recap.values()].flatMap((r) => r.calledOff))) lines.push(`Called off: ${reason}.`);
  const interrupted = [...recap].filter(([, r]) => r.interrupted).map(([h]) => h);
  if (interrupted.length) {
    lines.push(`Interrupted: ${interrupted.join(', ')} did not finish (tasks after the interrupt did not start; handlers left pending run next time). Run again to finish.`);
  }
  const changed = [...recap.values()].reduce((n, r) => n + r.changed, 0);
  const healthy = [...recap.values()].every((r) => !r.unreachable && r.failed === 0 && !r.interrupted);
  if (healthy && changed === 0) lines.push(`No changes: ${recap.size} host(s) already as described.`);
  else if (healthy) lines.push(`${changed} change(s) ${check ? 'would be made' : 'made'}.`);
  lines.push(`Finished in ${(ms / 1000).toFixed(2)} s.`);
  return lines;
}

export function interruptLine(e: Extract<RunEvent, { type: 'run:interrupt' }>): string {
  return e.phase === 'stopping'
    ? `INTERRUPTED  ${e.signal}: no new task starts; running commands get ${e.graceSeconds} s to finish (Ctrl-C again to stop them now)`
    : `ABORTING     ${e.signal}: stopping the running commands on the hosts`;
}

/** Plain-text rendering of one runner event, or no lines. */
export function formatEvent(e: RunEvent, opts: UiOptions, check: boolean): string[] {
  switch (e.type) {
    case 'play:start':
      return ['', `PLAY [${e.play}] on ${e.hosts.join(', ')}${e.serial ? ` (serial: ${e.serial.length} batches of ${e.serial.join(', ')})` : ''}`];
    case 'batch:start':
      return [`BATCH ${e.batch}/${e.of} [${e.play}] on ${e.hosts.join(', ')}`];
    case 'play:skipped':
      return ['', `SKIPPED PLAY [${e.play}]: ${e.reason}`];
    case 'play:called-off':
      return [`CALLED OFF   ${e.reason}${e.notRun.length ? ` (not run: ${e.notRun.join(', ')})` : ''}`];
    case 'run:start':
      return opts.verbose && e.load ? [`load         ${e.load}`] : [];
    case 'host:connected':
      return opts.verbose ? [`connected    ${e.host}  [${e.ms} ms: connection ${e.connectMs} ms, facts ${e.factsMs} ms]`] : [];
    case 'host:unreachable':
      return [`UNREACHABLE  ${e.message}`];
    case 'host:lock-wait':
      return [`${'waiting'.padEnd(12)} ${e.host.padEnd(10)} another run holds ${e.file}: ${e.holder}; waiting up to ${e.seconds} s (--lock-timeout)`];
    case 'task:result':
      return formatResult(e, opts, check);
    case 'task:retry':
      return [`${'retrying'.padEnd(12)} ${e.host.padEnd(10)} ${e.task}  (attempt ${e.attempt} of ${e.of}: until is false${e.status === 'failed' ? ', the attempt failed' : ''}; next in ${e.delay} s)`];
    case 'block:rescue':
      return [`${'rescue'.padEnd(12)} ${e.host.padEnd(10)} ${e.block}  (a task of the block failed; running its rescue)`];
    case 'run:interrupt':
      return [interruptLine(e)];
    case 'run:end':
      return formatRecap(e.recap, e.ms, e.check);
    default:
      return [];
  }
}
