import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PackageState } from '../../src/facts/packages.js';
import { planPackages } from '../../src/modules/package.js';
import type { PackageParams } from '../../src/modules/package.js';

const APT = ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', '-y', '-o', 'DPkg::Lock::Timeout=300'];
const [UPDATE_SCRIPT, DOWNLOAD_SCRIPT] = planPackages({ name: 'x' }, new Map(), null, 'r1').changes.map((c) => c.commands[0]!.argv[2]!);
/** apt-get's network work as planned: 5 tries of at most 300 s each, at most 12 s apart. */
const retried = (script: string, ...apt: string[]) => ['sh', '-c', script, 'retry', '5', '12', '300', ...apt];
/** An install as planned: the download, retried as the update is, then the install itself from apt's cache. */
const download = (apt: string[], ...specs: string[]) => retried(DOWNLOAD_SCRIPT!, ...apt, '--no-install-recommends', 'install', '--download-only', ...specs);
const install = (...specs: string[]) => [download(APT, ...specs), [...APT, '--no-install-recommends', 'install', ...specs]];
const UPDATE = [{ argv: retried(UPDATE_SCRIPT!, ...APT, 'update') }, { argv: ['mkdir', '-p', '/var/lib/bootstrap'] }, { argv: ['touch', '/var/lib/bootstrap/apt-update-stamp'] }];

function pkgs(...states: Array<[string, string | null, string | null]>): Map<string, PackageState> {
  return new Map(states.map(([name, version, candidate]) => [name, { name, installed: version !== null, version, candidate }]));
}

interface Row {
  name: string;
  params: PackageParams;
  states: Map<string, PackageState>;
  listsAge: number | null;
  titles: string[];
  argv?: string[][];
  reason?: string;
}

const POLICY_SCRIPT = planPackages({ name: 'x', policy_rc_d: 101 }, pkgs(['x', null, '1']), 1, 'r1').changes[0]!.commands[1]!.argv[2]!;

const rows: Row[] = [
  {
    name: 'installed: ok with the version',
    params: { name: 'nginx' }, states: pkgs(['nginx', '1.22.1-9', '1.22.1-9']), listsAge: 999999,
    titles: [], reason: 'nginx 1.22.1-9 installed',
  },
  {
    name: 'missing, fresh lists, known to apt: install only',
    params: { name: ['nginx', 'curl'] }, states: pkgs(['nginx', null, '1.22.1-9'], ['curl', '7.88.1-10', '7.88.1-10']), listsAge: 60,
    titles: ['install nginx (not installed)'],
    argv: install('nginx'),
  },
  {
    name: 'missing and unknown to apt-cache: update first',
    params: { name: 'unzip' }, states: pkgs(['unzip', null, null]), listsAge: 60,
    titles: ['update apt lists (unzip not in the apt cache)', 'install unzip (not installed)'],
    argv: [...UPDATE.map((c) => c.argv), ...install('unzip')],
  },
  {
    name: 'missing with stale lists: update first',
    params: { name: 'nginx', cache_valid_time: 600 }, states: pkgs(['nginx', null, '1.22.1-9']), listsAge: 4000,
    titles: ['update apt lists (apt lists 4000s old, cache_valid_time 600s)', 'install nginx (not installed)'],
  },
  {
    name: 'no lists at all (fresh debootstrap)',
    params: { name: 'nginx' }, states: pkgs(['nginx', null, null]), listsAge: null,
    titles: ['update apt lists (nginx not in the apt cache)', 'install nginx (not installed)'],
  },
  {
    name: 'proxy goes on both apt-get calls',
    params: { name: 'nginx', proxy: 'http://10.0.0.1:3142' }, states: pkgs(['nginx', null, null]), listsAge: 10,
    titles: ['update apt lists (nginx not in the apt cache)', 'install nginx (not installed)'],
    argv: [
      retried(UPDATE_SCRIPT!, ...APT, '-o', 'Acquire::http::Proxy=http://10.0.0.1:3142', 'update'), UPDATE[1]!.argv, UPDATE[2]!.argv,
      download([...APT, '-o', 'Acquire::http::Proxy=http://10.0.0.1:3142'], 'nginx'),
      [...APT, '-o', 'Acquire::http::Proxy=http://10.0.0.1:3142', '--no-install-recommends', 'install', 'nginx'],
    ],
  },
  {
    name: 'latest with fresh lists and a newer candidate: upgrade',
    params: { name: 'nginx', state: 'latest' }, states: pkgs(['nginx', '1.22.1-9', '1.22.1-9+deb12u1']), listsAge: 5,
    titles: ['install/upgrade nginx (1.22.1-9 -> 1.22.1-9+deb12u1)'],
  },
  {
    name: 'latest and current with fresh lists: ok',
    params: { name: 'nginx', state: 'latest' }, states: pkgs(['nginx', '1.22.1-9', '1.22.1-9']), listsAge: 5,
    titles: [], reason: 'nginx 1.22.1-9 (latest) installed',
  },
  {
    name: 'latest with stale lists: refresh and install',
    params: { name: 'nginx', state: 'latest' }, states: pkgs(['nginx', '1.22.1-9', '1.22.1-9']), listsAge: 7200,
    titles: ['update apt lists (apt lists 7200s old, cache_valid_time 3600s)', 'install/upgrade nginx (lists refreshed)'],
  },
  {
    name: 'pinned version differs: install the pin',
    params: { name: 'nginx=1.22.1-9+deb12u1' }, states: pkgs(['nginx', '1.22.1-9', '1.22.1-9+deb12u1']), listsAge: 5,
    titles: ['install nginx=1.22.1-9+deb12u1 (1.22.1-9 installed)'],
    argv: install('nginx=1.22.1-9+deb12u1'),
  },
  {
    name: 'policy_rc_d wraps the install (not the update or the download) so the package starts no service',
    params: { name: 'haproxy', policy_rc_d: 101 }, states: pkgs(['haproxy', null, null]), listsAge: 10,
    titles: ['update apt lists (haproxy not in the apt cache)', 'install haproxy (not installed)'],
    argv: [...UPDATE.map((c) => c.argv), download(APT, 'haproxy'), ['sh', '-c', POLICY_SCRIPT, 'sh', '101', 'r1', ...APT, '--no-install-recommends', 'install', 'haproxy']],
  },
  {
    name: 'absent and installed: remove',
    params: { name: ['nginx', 'apache2'], state: 'absent' }, states: pkgs(['nginx', '1.22.1-9', '1.22.1-9'], ['apache2', null, '2.4']), listsAge: 999999,
    titles: ['remove nginx (installed)'], argv: [[...APT, 'remove', 'nginx']],
  },
  {
    name: 'absent and not installed: ok',
    params: { name: 'apache2', state: 'absent' }, states: pkgs(['apache2', null, '2.4']), listsAge: 1,
    titles: [], reason: 'apache2 not installed',
  },
];

describe('policy_rc_d script, run by a real sh', () => {
  it('answers the code to invoke-rc.d while the command runs, passes its exit code on, and puts an existing policy back', async () => {
    const { mkdtempSync, writeFileSync, readFileSync, existsSync } = await import('node:fs');
    const { spawnSync } = await import('node:child_process');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'policy-rc-d-'));
    // the same script on a scratch path instead of /usr/sbin
    const script = POLICY_SCRIPT.replace('p=/usr/sbin/policy-rc.d', `p=${dir}/policy-rc.d`);
    const during = spawnSync('sh', ['-c', script, 'sh', '101', 'r1', 'sh', '-c', `"${dir}/policy-rc.d"; echo "policy=$?"; exit 7`], { encoding: 'utf8' });
    assert.equal(during.stdout.trim(), 'policy=101');
    assert.equal(during.status, 7);
    assert.equal(existsSync(join(dir, 'policy-rc.d')), false);
    writeFileSync(join(dir, 'policy-rc.d'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    // the policy saved aside is this run's (its name carries the run id), put back afterwards
    const again = spawnSync('sh', ['-c', `${script.replace('"$@"; rc=$?', 'ls "$(dirname "$p")"; "$@"; rc=$?')}`, 'sh', '101', 'r1', 'true'], { encoding: 'utf8' });
    assert.equal(again.status, 0);
    assert.deepEqual(again.stdout.trim().split('\n'), ['policy-rc.d', 'policy-rc.d.bootstrap-saved-r1']);
    assert.equal(readFileSync(join(dir, 'policy-rc.d'), 'utf8'), '#!/bin/sh\nexit 0\n');
  });
});

describe('apt-get update tries, run by a real sh', () => {
  it('a try that hangs is ended after its seconds and the next one runs; when every try fails the task fails saying so', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { spawnSync } = await import('node:child_process');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const count = join(mkdtempSync(join(tmpdir(), 'apt-tries-')), 'count');
    // the first try hangs (a stalled mirror), the second succeeds
    const stallOnce = ['sh', '-c', 'echo x >> "$1"; [ "$(wc -l < "$1")" -ge 2 ] || exec sleep 60', 'stall', count];
    const ok = spawnSync('sh', ['-c', UPDATE_SCRIPT!, 'retry', '3', '0', '1', ...stallOnce], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(readFileSync(count, 'utf8'), 'x\nx\n');
    assert.match(ok.stderr, /^try 1 of 3 ended after 1 s$/m);
    const failed = spawnSync('sh', ['-c', UPDATE_SCRIPT!, 'retry', '2', '0', '1', 'sh', '-c', 'echo "E: mirror down" >&2; exit 100'], { encoding: 'utf8' });
    assert.equal(failed.status, 1);
    assert.equal(failed.stderr, 'E: mirror down\nE: mirror down\nFailed to update apt cache after 2 retries\n');
    const download = spawnSync('sh', ['-c', DOWNLOAD_SCRIPT!, 'retry', '1', '0', '1', 'false'], { encoding: 'utf8' });
    assert.deepEqual([download.status, download.stderr], [1, 'Failed to download the packages after 1 tries\n']);
  });
});

describe('package plans', () => {
  it('every apt-get run has its own time limit (900 s an install, 300 s each try of an update or a download; `timeout` sets both) instead of --command-timeout', () => {
    const states = pkgs(['nginx', null, null], ['curl', '7.88.1-10', '7.88.1-10']);
    const update = (plan: ReturnType<typeof planPackages>) => plan.changes[0]!.commands[0]!.argv.slice(3, 7);
    // the limit covers every try (each with timeout's 10 s before KILL), the waits between them (1 + 2 + 4 + 8 s) and an install's own
    assert.deepEqual(planPackages({ name: 'nginx' }, states, null, 'r1').changes.map((c) => c.timeout), [5 * 310 + 15 + 10, 5 * 310 + 15 + 900]);
    assert.deepEqual(update(planPackages({ name: 'nginx' }, states, null, 'r1')), ['retry', '5', '12', '300']);
    const long = planPackages({ name: 'nginx', timeout: 1800, update_cache_retries: 2, update_cache_retry_max_delay: 0 }, states, null, 'r1');
    assert.deepEqual(long.changes.map((c) => c.timeout), [2 * 1810 + 0 + 10, 5 * 1810 + 15 + 1800]);
    assert.deepEqual(update(long), ['retry', '2', '0', '1800']);
    assert.deepEqual(planPackages({ name: 'curl', state: 'absent', timeout: 60 }, states, null, 'r1').changes.map((c) => c.timeout), [60]);
  });
  for (const row of rows) {
    it(row.name, () => {
      const plan = planPackages(row.params, row.states, row.listsAge, 'r1');
      assert.deepEqual(plan.changes.map((c) => c.title), row.titles);
      if (row.argv) assert.deepEqual(plan.changes.flatMap((c) => c.commands.map((cmd) => cmd.argv)), row.argv);
      assert.equal(plan.reason, row.reason);
    });
  }
});
