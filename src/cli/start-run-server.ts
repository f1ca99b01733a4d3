import { spawn } from 'node:child_process';

/** Starts a run server of this build in the background, for the next run. */
export function startRunServer(serverFile: string, persistSeconds: number, how: 'server' | 'replace'): void {
  try {
    spawn(process.execPath, [serverFile, String(persistSeconds), ...(how === 'replace' ? ['replace'] : [])], { detached: true, cwd: '/', stdio: 'ignore' }).unref();
  } catch {
    // the next run starts one, or runs itself
  }
}
