/**
 * Benchmark on the local lab (1 lb + 2 web): wall time of the first bootstrap of fresh nodes,
 * of a no-op re-run, and where the time goes from `docker run` to serving through the LB and
 * from `docker kill` to leaving it, for nginx and then (switching the same lab over) haproxy.
 * Prints numbers; asserts nothing about time.
 *   npm run bench:lab [-- --skip-containers] [--wait MIN,MAX] [--lb nginx|haproxy|both]
 * --lb picks the load balancers the container timings run on (default both, nginx first).
 *
 * The first bootstrap runs with --output json, and its wall time is split by what the task
 * results say (lab-report.ts): per play, the host with the most node work sets the play's
 * (its apt installs, downloads, image loads, waits for services, other changes); the rest of
 * the wall time is the tool's own (start-up, validation, connections, facts, planning, the
 * tasks that changed nothing). --skip-containers leaves out the docker run / kill timings.
 * The container timings end with both LBs side by side: medians of 10 (with min and max) of
 * docker run -> serving and docker kill -> out, per series.
 * --wait 250ms,5s bootstraps the lab with that consul_template_wait instead of the default.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { labAppsPlaybook, labDownCommand, labUpCommand } from '../../src/lab/commands.js';
import { verifyUntilPassing } from '../../src/cli/commands/verify.js';
import { defaultPlaybook } from '../../src/paths.js';
import { DEMO_APP_IMAGE } from '../../src/lab/app-image.js';
import { allPassed } from '../../src/verify/index.js';
import { getModule } from '../../src/modules/index.js';
import { loadPlaybooks } from '../../src/playbook/load-playbooks.js';
import { bundledCliPath, events, runCli } from '../helpers/cli.js';
import { onNode } from '../helpers/lab.js';
import { formatSplit, medianText, sideBySide, splitFirstRun, type ResultEvent, type SeriesResult } from './lab-report.js';

const ms = (t: number) => `${(performance.now() - t).toFixed(0)}ms`;

await labDownCommand();
let t = performance.now();
const inventory = await labUpCommand({ lb: 1, web: 2 });
const waitOption = process.argv.indexOf('--wait');
if (waitOption > 0) {
  const [min, max] = process.argv[waitOption + 1]!.split(',');
  const doc = parseDocument(readFileSync(inventory, 'utf8'));
  doc.setIn(['all', 'vars', 'consul_template_wait'], doc.createNode({ min, max }));
  writeFileSync(inventory, doc.toString());
}
console.log(`lab up (fresh nodes, cached image and binaries): ${ms(t)}`);
const args = [inventory, '--playbook', defaultPlaybook, '--playbook', labAppsPlaybook];
const cli = { cli: bundledCliPath };
t = performance.now();
const first = await runCli([...args, '--output', 'json'], cli);
if (first.code !== 0) throw new Error(first.stdout.slice(-3000) + first.stderr.slice(-3000));
const firstWall = performance.now() - t;
console.log(`first bootstrap of the 3-node lab: ${firstWall.toFixed(0)}ms`);
printSplit(firstWall, events(first.stdout) as ResultEvent[]);
t = performance.now();
if (!allPassed(await verifyUntilPassing(inventory, 120_000))) throw new Error('verify did not pass');
console.log(`until verify passed after it: ${ms(t)}`);
/** Five no-op re-runs (whole CLI processes) with these extra options: min, median and max wall. */
async function noopReruns(extra: string[]): Promise<string> {
  const walls: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const again = await runCli([...args, ...extra], cli);
    walls.push(performance.now() - t0);
    if (!/No changes: 3 host/.test(again.stdout)) throw new Error(`re-run changed something:\n${again.stdout}`);
  }
  walls.sort((a, b) => a - b);
  return `min=${walls[0]!.toFixed(0)}ms median=${walls[2]!.toFixed(0)}ms max=${walls[4]!.toFixed(0)}ms`;
}
console.log(`no-op re-run (whole CLI process, 5 runs): ${await noopReruns([])}`);
// the first run with --persist starts the keeper and logs in; the five after it attach
await runCli([...args, '--persist', '60'], cli);
console.log(`no-op re-run with --persist 60 (kept connections, 5 runs): ${await noopReruns(['--persist', '60'])}`);
if (process.argv.includes('--skip-containers')) {
  if (!process.env.BOOTSTRAP_KEEP_LAB) await labDownCommand();
  process.exit(0);
}

function printSplit(wall: number, all: ResultEvent[]): void {
  const moduleOf = new Map<string, string>();
  for (const play of loadPlaybooks([defaultPlaybook, labAppsPlaybook], getModule)) {
    for (const task of [...play.tasks, ...play.handlers]) moduleOf.set(`${play.name}\0${task.name}`, task.module);
  }
  for (const line of formatSplit(splitFirstRun(wall, all, (play, task) => moduleOf.get(`${play}\0${task}`)))) console.log(line);
}

// Where the time goes between `docker run` returning and the container serving through nginx,
// and between `docker kill` and it leaving nginx's configuration. Pollers inside the nodes stamp
// each step with the kernel clock the containers share (date +%s%N), 10 ms apart.
const WEB1 = '172.30.20.51';
const now = `$(date +%s%N)`;
await onNode('web1', "sed 's/^CONSUL_HTTP_TOKEN=/X-Consul-Token: /' /etc/registrator/env > /run/bench.header");
const agent = (path: string) => `curl -fs -o /dev/null -H @/run/bench.header http://127.0.0.1:8500${path}`;
type Lb = 'nginx' | 'haproxy';
/** A shell condition on lb1 that holds while the LB balances over WEB1:port: nginx's rendered upstream, haproxy's pushed slot up. */
function inLb(lb: Lb, port: number): string {
  if (lb === 'nginx') return `grep -q '${WEB1}:${port} ' /etc/nginx/conf.d/demo.conf`;
  return `echo 'show servers state demo' | socat stdio unix-connect:/run/haproxy/admin.sock | awk '$4 ~ /^demo-[0-9]+$/ && $5 == "${WEB1}" && $19 == "${port}" && $6 == 2 && $7 % 2 == 0 { f = 1 } END { exit !f }'`;
}
const STEP: Record<Lb, { into: string; serving: string; out: string }> = {
  nginx: { into: 'passing -> rendered by consul-template:         ', serving: 'rendered -> answering (nginx-reload, reload):   ', out: "gone from nginx's configuration" },
  haproxy: { into: "passing -> pushed into haproxy's slot (up):     ", serving: 'pushed -> answering:                            ', out: "out of haproxy's servers (pushed slot not up)" },
};

/** Ten containers on web1, one at a time, started with `checkEnv`: each run -> serving, then kill -> gone. */
async function series(lb: Lb, label: string, checkEnv: string, first: number): Promise<{ serving: number[]; out: number[] }> {
  const samples: Record<string, number[]> = { registered: [], passing: [], rendered: [], serving: [], total: [], deregistered: [], gone: [], left: [] };
  for (let i = first; i < first + 10; i++) {
    const name = `bench-${i}`;
    const port = 9100 + i;
    const id = `web1:${name}:80`;
    const stamps = await Promise.all([
      onNode('web1', `until ${agent(`/v1/agent/service/${id}`)}; do sleep 0.01; done; echo ${now}; until ${agent(`/v1/agent/health/service/id/${id}`)}; do sleep 0.01; done; echo ${now}`),
      onNode('lb1', `until ${inLb(lb, port)}; do sleep 0.01; done; echo ${now}; ` +
        `until curl -fs -H 'Host: demo.lab.test' http://127.0.0.1/ | grep -q 'app=${name} '; do sleep 0.01; done; echo ${now}`),
      new Promise((r) => setTimeout(r, 300)).then(() => onNode('web1', `docker run -d --name ${name} -p ${port}:80 -e APP_NAME=${name} -e SERVICE_NAME=demo ${checkEnv} ${DEMO_APP_IMAGE} >/dev/null; echo ${now}`)),
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
      onNode('lb1', `while ${inLb(lb, port)}; do sleep 0.01; done; echo ${now}`),
      new Promise((r) => setTimeout(r, 300)).then(() => onNode('web1', `echo ${now}; docker kill ${name} >/dev/null`)),
    ]);
    samples.deregistered.push(msBetween(Number(left[2]), Number(left[0])));
    samples.gone.push(msBetween(Number(left[0]), Number(left[1])));
    samples.left.push(msBetween(Number(left[2]), Number(left[1])));
    await onNode('web1', `docker rm -f ${name} >/dev/null`);
  }
  const med = (k: string) => medianText(samples[k]!);
  console.log(`${lb}: ${label}`);
  console.log(`  docker run -> serving through ${lb}, medians of 10: ${med('total')}`);
  console.log(`    run -> registered by registrator in the agent:   ${med('registered')}`);
  console.log(`    registered -> health check passing:              ${med('passing')}`);
  console.log(`    ${STEP[lb].into} ${med('rendered')}`);
  console.log(`    ${STEP[lb].serving} ${med('serving')}`);
  console.log(`  docker kill -> ${STEP[lb].out}, medians of 10: ${med('left')}`);
  console.log(`    kill -> deregistered by registrator:             ${med('deregistered')}`);
  console.log(`    deregistered -> ${lb === 'nginx' ? 'rendered without it:            ' : 'out of the pushed slots:        '} ${med('gone')}`);
  return { serving: samples.total!, out: samples.left! };
}

const lbOption = process.argv.indexOf('--lb');
const lbChoice = lbOption > 0 ? process.argv[lbOption + 1] : 'both';
if (!['nginx', 'haproxy', 'both'].includes(lbChoice ?? '')) throw new Error(`--lb takes nginx, haproxy or both, not ${lbChoice}`);
const lbs: Lb[] = lbChoice === 'both' ? ['nginx', 'haproxy'] : [lbChoice as Lb];
let firstIndex = 0;
const results: SeriesResult[] = [];
for (const lb of lbs) {
  if (lb === 'haproxy') {
    const doc = parseDocument(readFileSync(inventory, 'utf8'));
    doc.setIn(['all', 'vars', 'load_balancer'], 'haproxy');
    writeFileSync(inventory, doc.toString());
    t = performance.now();
    const switched = await runCli(args, cli);
    if (switched.code !== 0) throw new Error(switched.stdout.slice(-3000) + switched.stderr.slice(-3000));
    console.log(`switch of the lab's LB to haproxy (a run): ${ms(t)}`);
    if (!allPassed(await verifyUntilPassing(inventory, 120_000))) throw new Error('verify did not pass with haproxy');
  } else {
    const wait = (await onNode('lb1', "grep -E '^ *(min|max) *=' /etc/consul-template/config.hcl | tr -s ' ' || true")).trim().split('\n').join(',');
    const coalesce = (await onNode('lb1', "grep -E '^(window|max)=' /usr/local/lib/bootstrap/nginx-reload")).trim().split('\n').join(' ms, ');
    console.log(`consul-template wait on lb1: ${wait || 'none'}; nginx-reload coalescing: ${coalesce} ms`);
  }
  results.push({ lb, series: 'no health check', ...(await series(lb, 'no health check (docker run -d -p P:80 -e SERVICE_NAME=demo):', '', firstIndex)) });
  // Consul runs a new check's first probe at a random point within its interval
  results.push({ lb, series: 'HTTP check every 1s', ...(await series(lb, 'SERVICE_CHECK_HTTP=/health, interval 1s (the first probe comes at a random point within the interval):', '-e SERVICE_CHECK_HTTP=/health -e SERVICE_CHECK_INTERVAL=1s -e SERVICE_CHECK_TIMEOUT=1s', firstIndex + 10)) });
  firstIndex += 20;
}
console.log(`\nboth load balancers, the same lab and containers, medians of 10:`);
for (const line of sideBySide(results)) console.log(line);
if (!process.env.BOOTSTRAP_KEEP_LAB) await labDownCommand();
