/**
 * Benchmark: a 30-task playbook (10 x mkdir, small file, guarded touch) on N real sshd hosts on
 * loopback: the first (converging) run, then no-op re-runs, each the whole CLI process. Every
 * sshd runs in its own PID namespace, so the processes it starts (connections, shells, commands)
 * and their CPU time are counted exactly, per host. Prints numbers; asserts nothing about time.
 *
 * Each host count is run twice: as is, and with --persist 60 (a re-run served by the run server
 * through the connections the keeper kept: no handshake; the keeper's and the run server's CPU
 * is counted as the tool's). After each tool's
 * first run, the tools take turns run by run. Each host has its own lock_file in the bench's
 * directory, so other runs on this machine (tests share /run/bootstrap.lock) never hold it.
 *
 *   npm run bench -- [--hosts 3,30,100] [--runs 5] [--forks N] [--peers [ansible,pyinfra]] [--login-rc] [--cpu-prof DIR]
 *
 * --cpu-prof DIR writes a V8 CPU profile of every bootstrap run into DIR (node --cpu-prof).
 *
 * Bash sources root's ~/.bashrc for every command sshd runs; on this kind of machine it runs
 * `pyenv init` (about 100 processes and 100 ms of CPU per command), which is no cost of any of
 * the tools. The hosts' sshd sets SHLVL=1 so bash skips it, as on a fresh server whose root has
 * the stock .bashrc; --login-rc keeps it. BOOTSTRAP_BENCH_CLI=path/to/cli.js benchmarks another
 * build (an older commit) with the same harness; BOOTSTRAP_BENCH_BASELINE=path/to/cli.js runs
 * another build beside this one in the same run (as "baseline", taking turns with it).
 *
 * --peers runs the same 30 tasks with ansible-core (pipelining, forks >= hosts, no fact
 * gathering) and pyinfra (default parallelism) on the same hosts, from a Python venv made on
 * first use with both from the Python package index (BOOTSTRAP_BENCH_VENV, default
 * /var/cache/bootstrap/bench-peers-venv), and prints the ratios.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bundledCliPath as builtCli } from '../helpers/cli.js';
import { processCpuSeconds, startSshd, type Sshd } from '../helpers/sshd.js';

const run = promisify(execFile);

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}
const HOST_COUNTS = option('hosts', '3').split(',').map(Number);
const RUNS = Number(option('runs', '5'));
// --peers runs both; --peers pyinfra (or ansible) only that one
const PEERS = process.argv.includes('--peers') ? (/^[a-z,]+$/.test(option('peers', '')) ? option('peers', '') : 'ansible,pyinfra').split(',') : [];
const SSHD = { pidNamespace: true, extraConfig: process.argv.includes('--login-rc') ? [] : ['SetEnv SHLVL=1'] };
const VENV = process.env.BOOTSTRAP_BENCH_VENV ?? '/var/cache/bootstrap/bench-peers-venv';
const TASKS = 10; // x3 tasks
const cliPath = process.env.BOOTSTRAP_BENCH_CLI ?? builtCli;
/** BOOTSTRAP_BENCH_BASELINE=path/to/cli.js: another build run beside this one, turn by turn */
const BASELINE = process.env.BOOTSTRAP_BENCH_BASELINE;
const CPU_PROF = process.argv.includes('--cpu-prof') ? option('cpu-prof', '') : '';

interface Sample {
  wall: number;
  /** CPU seconds of the tool's process tree on the laptop side */
  toolCpu: number;
  /** of toolCpu: the kernel's share (system time: syscalls, loopback TCP), the keepers' left out */
  toolSys: number;
  /** per host: processes sshd started, CPU seconds on the host side */
  hostProcesses: number;
  hostCpu: number;
  output: string;
  code: number | null;
}

/**
 * CPU seconds used so far by the connection keepers and run servers (--persist): they outlive
 * the run that started them, so GNU time does not count them with the tool's process tree.
 */
async function keeperCpu(): Promise<number> {
  const { stdout } = await run('pgrep', ['-f', 'connection-keeper.js|run-server.js']).catch(() => ({ stdout: '' }));
  const each = await Promise.all(stdout.split(/\s+/).filter(Boolean).map(processCpuSeconds));
  return each.reduce((sum, seconds) => sum + seconds, 0);
}

/** Runs argv under GNU time (wall, user+sys of the whole process tree and of the keepers), counting what the hosts did meanwhile. */
async function measure(argv: string[], hosts: Sshd[], env: Record<string, string> = {}): Promise<Sample> {
  const timeFile = join(tmpdir(), `bootstrap-bench-time-${process.pid}`);
  const keeperBefore = await keeperCpu();
  const before = await Promise.all(hosts.map(async (h) => [await h.processesStarted!(), await h.cpuSeconds!()] as const));
  const t0 = performance.now();
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, ...argv], { env: { ...process.env, CI: 'true', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, output: out }));
  });
  const wall = (performance.now() - t0) / 1000;
  await Promise.all(hosts.map((h) => h.settled!(argv.includes('--persist'))));
  const after = await Promise.all(hosts.map(async (h) => [await h.processesStarted!(), await h.cpuSeconds!()] as const));
  const keeper = (await keeperCpu()) - keeperBefore;
  const [user = 0, sys = 0] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  rmSync(timeFile, { force: true });
  // each processesStarted() call itself takes one PID in the namespace
  const processes = after.reduce((sum, [p], i) => sum + p - before[i]![0] - 1, 0);
  const cpu = after.reduce((sum, [, c], i) => sum + c - before[i]![1], 0);
  return { wall, toolCpu: user + sys + Math.max(0, keeper), toolSys: sys, hostProcesses: processes / hosts.length, hostCpu: cpu / hosts.length, output, code };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function summary(label: string, samples: Sample[], hosts: number): string {
  const walls = samples.map((s) => s.wall).sort((a, b) => a - b);
  const per = (xs: number[]) => median(xs);
  return `${label}: wall min=${walls[0]!.toFixed(2)}s median=${median(walls).toFixed(2)}s max=${walls.at(-1)!.toFixed(2)}s`
    + ` | per host: ${per(samples.map((s) => s.hostProcesses)).toFixed(1)} processes, host CPU ${(per(samples.map((s) => s.hostCpu)) * 1000).toFixed(0)} ms,`
    + ` tool CPU ${((per(samples.map((s) => s.toolCpu)) / hosts) * 1000).toFixed(0)} ms (tool CPU total ${per(samples.map((s) => s.toolCpu)).toFixed(2)}s, of it system ${per(samples.map((s) => s.toolSys)).toFixed(2)}s)`;
}

// ---- the same 30 tasks for each tool ----

function bootstrapPlaybook(): string {
  const tasks: string[] = [];
  for (let i = 0; i < TASKS; i++) {
    tasks.push(`    - name: dir ${i}\n      file: { path: "<%= root %>/d${i}", state: directory, mode: "0755" }`);
    tasks.push(`    - name: file ${i}\n      copy: { dest: "<%= root %>/d${i}/f", content: "file ${i} on <%= inventory_hostname %>\\n", mode: "0644" }`);
    tasks.push(`    - name: guarded ${i}\n      command: { argv: [touch, "<%= root %>/d${i}/done"], creates: "<%= root %>/d${i}/done" }`);
  }
  return `- name: bench\n  hosts: all\n  become: false\n  tasks:\n${tasks.join('\n')}\n`;
}

function ansiblePlaybook(): string {
  const tasks: string[] = [];
  for (let i = 0; i < TASKS; i++) {
    tasks.push(`    - name: dir ${i}\n      ansible.builtin.file: { path: "{{ root }}/d${i}", state: directory, mode: "0755" }`);
    tasks.push(`    - name: file ${i}\n      ansible.builtin.copy: { dest: "{{ root }}/d${i}/f", content: "file ${i} on {{ inventory_hostname }}\\n", mode: "0644" }`);
    tasks.push(`    - name: guarded ${i}\n      ansible.builtin.command: { argv: [touch, "{{ root }}/d${i}/done"], creates: "{{ root }}/d${i}/done" }`);
  }
  return `- name: bench\n  hosts: all\n  gather_facts: false\n  tasks:\n${tasks.join('\n')}\n`;
}

function pyinfraDeploy(): string {
  return `from io import StringIO
from pyinfra import host
from pyinfra.operations import files

root = host.data.root
for i in range(${TASKS}):
    files.directory(name=f"dir {i}", path=f"{root}/d{i}", mode="755")
    files.put(name=f"file {i}", src=StringIO(f"file {i} on {host.name}\\n"), dest=f"{root}/d{i}/f", mode="644")
    # a touch guarded by creates: pyinfra's own idiom is a file that must exist
    files.file(name=f"guarded {i}", path=f"{root}/d{i}/done", present=True)
`;
}

async function ensureVenv(): Promise<void> {
  if (existsSync(join(VENV, 'bin', 'ansible-playbook')) && existsSync(join(VENV, 'bin', 'pyinfra'))) return;
  console.log(`creating ${VENV} with ansible-core and pyinfra from the Python package index...`);
  await run('python3', ['-m', 'venv', VENV]);
  await run(join(VENV, 'bin', 'pip'), ['install', '-q', 'ansible-core', 'pyinfra'], { maxBuffer: 1 << 24 });
}

async function benchmark(count: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bootstrap-bench-'));
  const first = await startSshd(SSHD);
  const servers = [first];
  // start the rest a few at a time (each generates keys)
  for (let i = 1; i < count; i += 10) {
    servers.push(...(await Promise.all(Array.from({ length: Math.min(10, count - i) }, () => startSshd({ ...SSHD, clientKeyPath: first.clientKeyPath })))));
  }
  try {
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, servers.map((s) => readFileSync(s.knownHostsFile, 'utf8')).join(''));
    const name = (i: number) => `h${i + 1}`;
    const rootOf = (tool: string, i: number) => join(dir, tool, name(i));
    const forks = option('forks', String(Math.max(count, 20)));

    writeFileSync(join(dir, 'site.yml'), bootstrapPlaybook());
    const hosts = servers.map((s, i) => `        ${name(i)}: { address: 127.0.0.1, port: ${s.port}, vars: { root: ${rootOf('bootstrap', i)}, lock_file: ${join(dir, `${name(i)}.lock`)} } }`).join('\n');
    writeFileSync(
      join(dir, 'inventory.yaml'),
      `all:\n  vars:\n    ssh: { user: root, key: ${first.clientKeyPath}, known_hosts: ${knownHosts} }\n  children:\n    bench:\n      hosts:\n${hosts}\n`,
    );
    const bootstrap = [process.execPath, ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : []), cliPath, join(dir, 'inventory.yaml'), '--playbook', join(dir, 'site.yml'), '--forks', forks];
    console.log(`\n== ${count} hosts, ${TASKS * 3} tasks, --forks ${forks}, ${RUNS} no-op runs`);
    const tools: Array<{ name: string; argv: string[]; env?: Record<string, string>; noop: (s: Sample) => boolean }> = [
      { name: 'bootstrap', argv: bootstrap, noop: (s) => new RegExp(`No changes: ${count} host`).test(s.output) },
      // the same hosts and state, through kept connections: its "first run" starts the keeper and logs in
      { name: 'bootstrap --persist 60', argv: [...bootstrap, '--persist', '60'], env: { BOOTSTRAP_KEEPER_DIR: join(dir, 'keeper') }, noop: (s) => new RegExp(`No changes: ${count} host`).test(s.output) },
    ];
    if (BASELINE) {
      // another build (e.g. main's) on the same hosts, taking turns with this one
      const baseline = bootstrap.map((arg) => (arg === cliPath ? BASELINE : arg));
      tools.push(
        { name: 'baseline', argv: baseline, noop: (s) => new RegExp(`No changes: ${count} host`).test(s.output) },
        { name: 'baseline --persist 60', argv: [...baseline, '--persist', '60'], env: { BOOTSTRAP_KEEPER_DIR: join(dir, 'keeper-baseline') }, noop: (s) => new RegExp(`No changes: ${count} host`).test(s.output) },
      );
    }
    if (PEERS.length > 0) {
      await ensureVenv();
      writeFileSync(join(dir, 'ansible.cfg'), `[defaults]\nforks = ${Math.max(count, 50)}\nhost_key_checking = True\ninterpreter_python = /usr/bin/python3\nlocal_tmp = ${join(dir, 'ansible-tmp')}\n\n[ssh_connection]\npipelining = True\n`);
      writeFileSync(join(dir, 'ansible.yml'), ansiblePlaybook());
      writeFileSync(
        join(dir, 'ansible-hosts.ini'),
        `${servers.map((s, i) => `${name(i)} ansible_host=127.0.0.1 ansible_port=${s.port} root=${rootOf('ansible', i)}`).join('\n')}\n\n[all:vars]\nansible_user=root\nansible_ssh_private_key_file=${first.clientKeyPath}\nansible_ssh_common_args='-o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes'\n`,
      );
      writeFileSync(join(dir, 'deploy.py'), pyinfraDeploy());
      writeFileSync(
        join(dir, 'pyinfra_inventory.py'),
        `hosts = [\n${servers.map((s, i) => `    ("${name(i)}", {"ssh_hostname": "127.0.0.1", "ssh_port": ${s.port}, "ssh_user": "root", "ssh_key": "${first.clientKeyPath}", "ssh_known_hosts_file": "${knownHosts}", "ssh_strict_host_key_checking": "yes", "root": "${rootOf('pyinfra', i)}"}),`).join('\n')}\n]\n`,
      );
      const peers: typeof tools = [
        {
          name: 'ansible',
          argv: [join(VENV, 'bin', 'ansible-playbook'), '-i', join(dir, 'ansible-hosts.ini'), join(dir, 'ansible.yml')],
          env: { ANSIBLE_CONFIG: join(dir, 'ansible.cfg') },
          noop: (s) => /changed=0/.test(s.output) && !/changed=[1-9]/.test(s.output),
        },
        {
          name: 'pyinfra',
          argv: [join(VENV, 'bin', 'pyinfra'), '-y', join(dir, 'pyinfra_inventory.py'), join(dir, 'deploy.py')],
          noop: (s) => !/\bSuccess\b.*\bchanged\b/i.test(s.output) || /No changes/i.test(s.output),
        },
      ];
      tools.push(...peers.filter((peer) => PEERS.includes(peer.name)));
    }
    const medians = new Map<string, number>();
    for (const tool of tools) {
      const firstRun = await measure(tool.argv, servers, tool.env);
      if (firstRun.code !== 0) throw new Error(`${tool.name}: first run failed (exit ${firstRun.code}):\n${firstRun.output.slice(-3000)}`);
      console.log(summary(`${tool.name} first run`, [firstRun], count));
    }
    // the tools take turns, run by run, so a change of the machine's load meanwhile falls on all of them
    const samples = new Map<string, Sample[]>(tools.map((tool) => [tool.name, []]));
    for (let i = 0; i < RUNS; i++) {
      for (const tool of tools) {
        const sample = await measure(tool.argv, servers, tool.env);
        if (sample.code !== 0 || !tool.noop(sample)) throw new Error(`${tool.name}: re-run was not a no-op (exit ${sample.code}):\n${sample.output.slice(-3000)}`);
        samples.get(tool.name)!.push(sample);
      }
    }
    for (const tool of tools) {
      console.log(summary(`${tool.name} no-op`, samples.get(tool.name)!, count));
      medians.set(tool.name, median(samples.get(tool.name)!.map((s) => s.wall)));
    }
    for (const peer of ['ansible', 'pyinfra', 'baseline']) {
      if (!medians.has(peer)) continue;
      const ratio = (ours: string) => (medians.get(peer)! / medians.get(ours)!).toFixed(1);
      console.log(`no-op median ${peer} / bootstrap: ${ratio('bootstrap')}x; ${peer} / bootstrap --persist 60: ${ratio('bootstrap --persist 60')}x`);
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The floor of any tool that logs in over SSH: what one OpenSSH login running `true` costs the
 * host (sshd's fork, re-exec, key exchange, authentication and session), mean of 10. A no-op run
 * costs the host this plus its two channels' commands.
 */
async function sshFloor(): Promise<void> {
  const server = await startSshd(SSHD);
  try {
    const ssh = ['ssh', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${server.knownHostsFile}`, '-i', server.clientKeyPath, '-p', String(server.port), 'root@127.0.0.1', 'true'];
    const samples: Sample[] = [];
    for (let i = 0; i < 10; i++) samples.push(await measure(ssh, [server]));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`floor: one OpenSSH login running true costs the host ${mean(samples.map((s) => s.hostProcesses)).toFixed(1)} processes and ${(mean(samples.map((s) => s.hostCpu)) * 1000).toFixed(0)} ms of CPU (mean of 10)`);
  } finally {
    await server.stop();
  }
}

const t = performance.now();
await run(process.execPath, [cliPath, '--version']);
console.log(`bootstrap --version (one run, whole process): ${((performance.now() - t) / 1000).toFixed(3)}s`);
await sshFloor();
for (const count of HOST_COUNTS) await benchmark(count);
