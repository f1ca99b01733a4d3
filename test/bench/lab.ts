/**
 * Benchmark on the local lab (1 lb + 2 web): wall time of the first bootstrap of fresh nodes,
 * of a no-op re-run, and where the time goes from `docker run` to serving through nginx and
 * from `docker kill` to leaving it. Prints numbers; asserts nothing about time.
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
// Where the time goes between `docker run` returning and the container serving through nginx,
// and between `docker kill` and it leaving nginx's configuration. Pollers inside the nodes stamp
// each step with the kernel clock the containers share (date +%s%N), 10 ms apart.
const WEB1 = '172.30.20.51';
const now = `$(date +%s%N)`;
await onNode('web1', "sed 's/^CONSUL_HTTP_TOKEN=/X-Consul-Token: /' /etc/registrator/env > /run/bench.header");
const agent = (path: string) => `curl -fs -o /dev/null -H @/run/bench.header http://127.0.0.1:8500${path}`;
const samples: Record<string, number[]> = { registered: [], passing: [], rendered: [], serving: [], total: [], deregistered: [], gone: [], left: [] };
for (let i = 0; i < 10; i++) {
  const name = `bench-${i}`;
  const port = 9100 + i;
  const id = `web1:${name}:80`;
  const stamps = await Promise.all([
    onNode('web1', `until ${agent(`/v1/agent/service/${id}`)}; do sleep 0.01; done; echo ${now}; until ${agent(`/v1/agent/health/service/id/${id}`)}; do sleep 0.01; done; echo ${now}`),
    onNode('lb1', `until grep -q '${WEB1}:${port} ' /etc/nginx/conf.d/demo.conf; do sleep 0.01; done; echo ${now}; ` +
      `until curl -fs -H 'Host: demo.lab.test' http://127.0.0.1/ | grep -q 'app=${name} '; do sleep 0.01; done; echo ${now}`),
    new Promise((r) => setTimeout(r, 300)).then(() => onNode('web1', `docker run -d --name ${name} -p ${port}:80 -e APP_NAME=${name} -e SERVICE_NAME=demo -e SERVICE_CHECK_HTTP=/health -e SERVICE_CHECK_INTERVAL=1s -e SERVICE_CHECK_TIMEOUT=1s bootstrap-lab/demo-app:2 >/dev/null; echo ${now}`)),
  ]);
  const [registered, passing] = stamps[0].split('\n').map(Number);
  const [rendered, serving] = stamps[1].split('\n').map(Number);
  const ran = Number(stamps[2]);
  const msBetween = (a: number, b: number) => (b - a) / 1e6;
  samples.registered.push(msBetween(ran, registered!));
  samples.passing.push(msBetween(registered!, passing!));
  samples.rendered.push(msBetween(passing!, rendered!));
  samples.serving.push(msBetween(rendered!, serving!));
  samples.total.push(msBetween(ran, serving!));
  const left = await Promise.all([
    onNode('web1', `while ${agent(`/v1/agent/service/${id}`)}; do sleep 0.01; done; echo ${now}`),
    onNode('lb1', `while grep -q '${WEB1}:${port} ' /etc/nginx/conf.d/demo.conf; do sleep 0.01; done; echo ${now}`),
    new Promise((r) => setTimeout(r, 300)).then(() => onNode('web1', `echo ${now}; docker kill ${name} >/dev/null`)),
  ]);
  samples.deregistered.push(msBetween(Number(left[2]), Number(left[0])));
  samples.gone.push(msBetween(Number(left[0]), Number(left[1])));
  samples.left.push(msBetween(Number(left[2]), Number(left[1])));
  await onNode('web1', `docker rm -f ${name} >/dev/null`);
}
const med = (k: string) => {
  const v = [...samples[k]!].sort((a, b) => a - b);
  return `${v[Math.floor(v.length / 2)]!.toFixed(0)}ms (min ${v[0]!.toFixed(0)}, max ${v[v.length - 1]!.toFixed(0)})`;
};
console.log(`docker run -> serving through nginx, medians of 10: ${med('total')}`);
console.log(`  run -> registered by registrator in the agent:   ${med('registered')}`);
console.log(`  registered -> first health check passed:         ${med('passing')}`);
console.log(`  passing -> rendered by consul-template (wait):   ${med('rendered')}`);
console.log(`  rendered -> answering (nginx reload):            ${med('serving')}`);
console.log(`docker kill -> gone from nginx's configuration, medians of 10: ${med('left')}`);
console.log(`  kill -> deregistered by registrator:             ${med('deregistered')}`);
console.log(`  deregistered -> rendered without it:             ${med('gone')}`);
if (!process.env.BOOTSTRAP_KEEP_LAB) await labDownCommand();
