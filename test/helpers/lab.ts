import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs a shell script inside a lab node as root (docker exec), returning its trimmed stdout. */
export async function onNode(node: string, script: string): Promise<string> {
  const { stdout } = await run('docker', ['exec', `bootstrap-lab-${node}`, 'sh', '-c', script]);
  return stdout.trim();
}
