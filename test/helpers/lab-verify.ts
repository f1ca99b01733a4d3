import assert from 'node:assert/strict';
import { verifyUntilPassing } from '../../src/cli/commands/verify.js';
import { labStatus } from '../../src/lab/nodes.js';
import { allPassed, formatCheckTable } from '../../src/verify/index.js';
import type { CheckResult } from '../../src/verify/types.js';
import { runCli, type CliResult } from './cli.js';
import { onNode } from './lab.js';

/**
 * What the lab's nodes did in the last minutes that can take a backend out for a moment: consul's
 * check transitions, docker's container events, the LB's reloads and nginx's upstream errors. A
 * failed verify prints it, so a failure seen once in CI says what moved.
 */
const NODE_LOG = [
  'since=$(date -d "-3 min" "+%F %T")',
  'echo "--- consul (checks, registrations)"',
  'journalctl -u consul --since "$since" -o short-precise --no-pager 2>/dev/null | grep -E "Check|check|[Ss]ynced|[Dd]eregister" | tail -n 25',
  'if command -v docker >/dev/null; then echo "--- docker events"; timeout 5 docker events --since 3m --until 0s --filter type=container 2>&1 | grep -vE " (exec_|top|attach)" | tail -n 25; fi',
  'if [ -d /etc/nginx/conf.d ]; then echo "--- nginx-reload"; journalctl --since "$since" -t nginx-reload -o short-precise --no-pager 2>/dev/null | tail -n 15; journalctl -u consul-template --since "$since" -o short-precise --no-pager 2>/dev/null | grep -E "nginx-reload|ERR|WARN" | tail -n 15; echo "--- nginx error.log"; tail -n 15 /var/log/nginx/error.log 2>/dev/null; fi',
  'if [ -S /run/haproxy/admin.sock ]; then echo "--- haproxy"; journalctl -u haproxy --since "$since" -o short-precise --no-pager 2>/dev/null | tail -n 15; fi',
].join('\n');

export async function labDiagnostics(): Promise<string> {
  const nodes = (await labStatus()).filter((node) => node.state === 'running');
  const logs = await Promise.all(
    nodes.map(async (node) => `=== ${node.name} (the last 3 minutes)\n${await onNode(node.name, NODE_LOG).catch((err: Error) => err.message)}`),
  );
  return logs.join('\n');
}

async function withDiagnostics(what: string): Promise<string> {
  return `${what}\n${await labDiagnostics().catch((err: Error) => `(no diagnostics: ${err.message})`)}`;
}

/** verifyUntilPassing, asserted: a failure prints the check table and what the nodes did. */
export async function expectVerifyPassing(inventory: string, timeoutMs: number): Promise<CheckResult[]> {
  const results = await verifyUntilPassing(inventory, timeoutMs);
  if (!allPassed(results)) assert.fail(await withDiagnostics(formatCheckTable(results)));
  return results;
}

/** One `bootstrap verify`, asserted to pass: a failure prints its output and what the nodes did. */
export async function expectVerifyPasses(inventory: string, ...args: string[]): Promise<CliResult> {
  const verify = await runCli(['verify', inventory, ...args]);
  if (verify.code !== 0) assert.fail(await withDiagnostics(`verify exited ${verify.code}\n${verify.stdout}${verify.stderr}`));
  return verify;
}
