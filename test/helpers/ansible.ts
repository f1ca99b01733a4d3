/**
 * ansible-core as an oracle: runs ansible-playbook from the venv `.ci/setup` makes, over the
 * OpenSSH client, and reads what happened through the fixture callback plugin
 * (test/fixtures/ansible-oracle/callback_plugins/oracle_events.py): one JSON line per task
 * result, then the recap.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where `.ci/setup` installs ansible-core (BOOTSTRAP_ANSIBLE_VENV overrides it). */
export const ansibleVenv = process.env.BOOTSTRAP_ANSIBLE_VENV ?? '/var/cache/bootstrap/ansible-venv';
const callbackDir = new URL('../../../test/fixtures/ansible-oracle/callback_plugins', import.meta.url).pathname;

export interface AnsibleRun {
  code: number | null;
  stdout: string;
  stderr: string;
  events: Array<Record<string, any>>;
}

/** The ansible-playbook of the venv; throws, saying how to get it, when the venv is missing. */
export function ansiblePlaybook(): string {
  const bin = join(ansibleVenv, 'bin', 'ansible-playbook');
  if (!existsSync(bin)) throw new Error(`${bin} not found: .ci/setup installs ansible-core into ${ansibleVenv}`);
  return bin;
}

/** Runs `ansible-playbook -i inventory playbook ...args` with everything it writes kept under `work`. */
export function runAnsible(inventory: string, playbook: string, args: string[], work: string): Promise<AnsibleRun> {
  const eventsFile = join(work, 'ansible-events.ndjson');
  mkdirSync(join(work, 'cp'), { recursive: true });
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    LANG: 'C.UTF-8',
    ANSIBLE_HOME: join(work, 'home'),
    ANSIBLE_LOCAL_TEMP: join(work, 'tmp'),
    ANSIBLE_REMOTE_TMP: join(work, 'remote-tmp'),
    ANSIBLE_SSH_CONTROL_PATH_DIR: join(work, 'cp'),
    ANSIBLE_CALLBACK_PLUGINS: callbackDir,
    ANSIBLE_CALLBACKS_ENABLED: 'oracle_events',
    ANSIBLE_HOST_KEY_CHECKING: 'True',
    ANSIBLE_PIPELINING: 'True',
    ANSIBLE_RETRY_FILES_ENABLED: 'False',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_DEPRECATION_WARNINGS: 'False',
    PYTHONWARNINGS: 'ignore',
    ORACLE_EVENTS_FILE: eventsFile,
  };
  return new Promise((resolve, reject) => {
    execFile(ansiblePlaybook(), ['-i', inventory, playbook, ...args], { env, cwd: work, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      const text = existsSync(eventsFile) ? readFileSync(eventsFile, 'utf8') : '';
      const events = text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr, events });
    });
  });
}
