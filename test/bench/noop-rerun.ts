/**
 * Benchmark: wall time of a no-op re-run of a 30-task playbook on 3 real sshd hosts on
 * loopback. Prints numbers; asserts nothing about time (machines are noisy).
 *   npm run bench
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd } from '../helpers/sshd.js';
import { runCli } from '../helpers/cli.js';

const HOSTS = 3;
const RUNS = 5;

function playbook(): string {
  const tasks: string[] = [];
  for (let i = 0; i < 10; i++) {
    tasks.push(`    - name: dir ${i}\n      file: { path: "<%= root %>/d${i}", state: directory, mode: "0755" }`);
    tasks.push(`    - name: file ${i}\n      copy: { dest: "<%= root %>/d${i}/f", content: "file ${i} on <%= inventory_hostname %>\\n", mode: "0644" }`);
    tasks.push(`    - name: guarded ${i}\n      command: { argv: [touch, "<%= root %>/d${i}/done"], creates: "<%= root %>/d${i}/done" }`);
  }
  return `- name: bench\n  hosts: all\n  become: false\n  tasks:\n${tasks.join('\n')}\n`;
}

const dir = mkdtempSync(join(tmpdir(), 'bootstrap-bench-'));
const first = await startSshd();
const servers = [first, ...(await Promise.all(Array.from({ length: HOSTS - 1 }, () => startSshd({ clientKeyPath: first.clientKeyPath }))))];
try {
  writeFileSync(join(dir, 'known_hosts'), servers.map((s) => readFileSync(s.knownHostsFile, 'utf8')).join(''));
  writeFileSync(join(dir, 'site.yml'), playbook());
  const hosts = servers.map((s, i) => `        h${i + 1}: { address: 127.0.0.1, port: ${s.port}, vars: { root: ${join(dir, `h${i + 1}`)} } }`).join('\n');
  writeFileSync(
    join(dir, 'inventory.yaml'),
    `all:\n  vars:\n    ssh: { user: root, key: ${first.clientKeyPath}, known_hosts: ${join(dir, 'known_hosts')} }\n  children:\n    bench:\n      hosts:\n${hosts}\n`,
  );
  const args = [join(dir, 'inventory.yaml'), '--playbook', join(dir, 'site.yml')];
  const t0 = performance.now();
  const cold = await runCli(args);
  const coldMs = performance.now() - t0;
  if (cold.code !== 0) throw new Error(`first run failed:\n${cold.stdout}\n${cold.stderr}`);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const res = await runCli(args);
    times.push(performance.now() - t);
    if (!/No changes: 3 host/.test(res.stdout)) throw new Error(`re-run was not a no-op:\n${res.stdout}`);
  }
  const version = await runCli(['--version']);
  times.sort((a, b) => a - b);
  const t = performance.now();
  await runCli(['--version']);
  const startupMs = performance.now() - t;
  console.log(`hosts=${HOSTS} tasks=30 first-run=${coldMs.toFixed(0)}ms`);
  console.log(`no-op re-run (whole CLI process, ${RUNS} runs): min=${times[0]!.toFixed(0)}ms median=${times[Math.floor(RUNS / 2)]!.toFixed(0)}ms max=${times[RUNS - 1]!.toFixed(0)}ms`);
  console.log(`of which node start-up + CLI load (bootstrap --version ${version.stdout.trim()}): ${startupMs.toFixed(0)}ms`);
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
}
