/**
 * Benchmark on the local lab (1 lb + 2 web): wall time of the first bootstrap of fresh nodes,
 * of a no-op re-run, and how long a (re)started app container takes to appear in nginx's
 * upstream. Prints numbers; asserts nothing about time.
 *   npm run bench:lab
 */
import { labAppsPlaybook, labDownCommand, labUpCommand, verifyUntilPassing } from '../../src/commands/lab.js';
import { defaultPlaybook } from '../../src/paths.js';
import { allPassed } from '../../src/verify/index.js';
import { runCli } from '../helpers/cli.js';
import { onNode } from '../helpers/lab.js';

const ms = (t: number) => `${(performance.now() - t).toFixed(0)}ms`;

await labDownCommand();
let t = performance.now();
const inventory = await labUpCommand({ lb: 1, web: 2 });
console.log(`lab up (fresh nodes, cached image and binaries): ${ms(t)}`);
const args = [inventory, '--playbook', defaultPlaybook, '--playbook', labAppsPlaybook];
t = performance.now();
const first = await runCli(args);
if (first.code !== 0) throw new Error(first.stdout.slice(-3000));
console.log(`first bootstrap of the 3-node lab: ${ms(t)}`);
t = performance.now();
if (!allPassed(await verifyUntilPassing(inventory, 120_000))) throw new Error('verify did not pass');
console.log(`until verify passed after it: ${ms(t)}`);
const reruns: number[] = [];
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  const again = await runCli(args);
  reruns.push(performance.now() - t0);
  if (!/No changes: 3 host/.test(again.stdout)) throw new Error(`re-run changed something:\n${again.stdout}`);
}
reruns.sort((a, b) => a - b);
console.log(`no-op re-run (whole CLI process, 5 runs): min=${reruns[0]!.toFixed(0)}ms median=${reruns[2]!.toFixed(0)}ms max=${reruns[4]!.toFixed(0)}ms`);
const inUpstream = async () => (await onNode('lb1', 'cat /etc/nginx/conf.d/demo.conf')).includes('172.30.20.51:8081');
await onNode('web1', 'docker stop -t 1 demo-1');
while (await inUpstream()) await new Promise((r) => setTimeout(r, 100));
t = performance.now();
await onNode('web1', 'docker start demo-1');
while (!(await inUpstream())) await new Promise((r) => setTimeout(r, 100));
console.log(`a started container in nginx's upstream after: ${ms(t)}`);
if (!process.env.BOOTSTRAP_KEEP_LAB) await labDownCommand();
