import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UpstartBuild } from '../../src/lab/upstart-build.js';

/**
 * The real `init-checkconf` of the built Upstart on one job: it starts a private `init --user`
 * on a conf dir holding only this job, asks it whether the job loaded, and runs `sh -n` on the
 * script blocks. Returns its exit status and output.
 */
export function initCheckconf(build: UpstartBuild, job: string, content: string): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'upstart-check-'));
  const file = join(dir, `${job}.conf`);
  writeFileSync(file, content);
  // it calls initctl by name, and wants a runtime dir of its own
  const env = { ...process.env, PATH: `${join(build.root, 'usr/sbin')}:${process.env.PATH ?? '/usr/bin:/bin'}`, XDG_RUNTIME_DIR: dir, UPSTART_SESSION: '' };
  return new Promise((resolve) => {
    execFile(build.checkconf, ['-x', build.init, '-i', build.initctl, file], { encoding: 'utf8', timeout: 30_000, env }, (error, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ ok: error === null, output: `${stdout}${stderr}`.trim() });
    });
  });
}
