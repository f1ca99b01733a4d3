/**
 * Several load balancers on the local lab: 3 LBs (each a Consul server, nginx, consul-template and
 * keepalived with the floating address on the lab's public network) and 2 web nodes, bootstrapped
 * once and shared by the scenarios below, in order. Traffic goes only to the lab's containers.
 */
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseDocument } from 'yaml';
import { labAppsPlaybook, labDownCommand, labUpCommand } from '../../src/lab/commands.js';
import { verifyUntilPassing } from '../../src/cli/commands/verify.js';
import { docker } from '../../src/lab/docker-engine.js';
import { LAB_VIP, labDir } from '../../src/lab/state.js';
import { defaultPlaybook } from '../../src/paths.js';
import { events, failureReport, runCli } from '../helpers/cli.js';
import { onNode } from '../helpers/lab.js';
import { expectVerifyPassing } from '../helpers/lab-verify.js';
import { leaderSampler } from '../helpers/leader-sampler.js';
import { prober, steadyLoad } from '../helpers/load.js';
import { haltAllLoads } from '../helpers/running-loads.js';
import { ACME_LAB_VALIDITY_S, acmeCaUnreachable, acmeIssued, acmeIssuerStopped, acmeRenewalUnderLoad, type AcmeLab } from '../helpers/acme-scenarios.js';
import { portOpen } from '../helpers/traffic.js';
import { pollUntil } from '../helpers/until.js';

const LBS = ['lb1', 'lb2', 'lb3'];
const PUBLIC: Record<string, string> = { lb1: '172.30.10.11', lb2: '172.30.10.12', lb3: '172.30.10.13' };
const PRIVATE: Record<string, string> = { lb1: '172.30.20.11', lb2: '172.30.20.12', lb3: '172.30.20.13', web1: '172.30.20.51', web2: '172.30.20.52' };
const ADDRESSES = LBS.map((lb) => PUBLIC[lb]!);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const apply = (inventory: string, ...args: string[]) => runCli([inventory, '--playbook', defaultPlaybook, '--playbook', labAppsPlaybook, ...args]);

const waitFor = <T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, everyMs = 250) => pollUntil(what, probe, ok, timeoutMs, everyMs);

/** The LB holding the floating address, or undefined. */
async function vipHolder(lbs = LBS): Promise<string | undefined> {
  for (const lb of lbs) {
    const addrs = await onNode(lb, 'ip -o -4 addr show').catch(() => '');
    if (addrs.includes(`inet ${LAB_VIP}/`)) return lb;
  }
  return undefined;
}

/** Voters in the raft configuration, as one server's leader reports it. */
async function raftVoters(lb: string): Promise<string[]> {
  const json = await onNode(lb, 'curl -fsS --max-time 2 -H @/etc/consul/management.header http://127.0.0.1:8500/v1/operator/raft/configuration');
  return (JSON.parse(json) as { Servers: Array<{ Node: string; Voter: boolean }> }).Servers.filter((s) => s.Voter).map((s) => s.Node).sort();
}

const leaderOn = (lb: string) => onNode(lb, "curl -s --max-time 1 http://127.0.0.1:8500/v1/status/leader | tr -d '\"'").catch(() => '');

/** Backends in an app's rendered upstream on one LB (the placeholder excluded). */
async function upstream(lb: string, app: string): Promise<string[]> {
  const conf = await onNode(lb, `cat /etc/nginx/conf.d/${app}.conf`);
  return [...conf.matchAll(/^\s*server (\S+) max_fails/gm)].map((m) => m[1]!).filter((s) => s !== '127.0.0.1:65535').sort();
}

/** When a unit last started, in µs of the kernel's monotonic clock (one kernel for every lab node, so comparable across nodes). */
const startedAt = async (node: string, unit: string) => Number(await onNode(node, `systemctl show ${unit} -p ExecMainStartTimestampMonotonic --value`));
const uptimeMicros = async (node: string) => Math.round(Number((await onNode(node, 'cut -d" " -f1 /proc/uptime')).trim()) * 1e6);

function setVar(inventory: string, path: string[], value: unknown): void {
  const doc = parseDocument(readFileSync(inventory, 'utf8'));
  doc.setIn(['all', 'vars', ...path], value);
  writeFileSync(inventory, doc.toString());
}

/** Which batch each host was in for `play`, from the JSON events, and the event index where each host's `task` finished. */
function rollOrder(stdout: string, play: string, task: string) {
  const all = events(stdout);
  const batches = all.filter((e) => e.type === 'batch:start' && e.play === play).map((e) => ({ hosts: e.hosts as string[], at: all.indexOf(e) }));
  const done = new Map(all.filter((e) => e.type === 'task:result' && e.play === play && e.task === task).map((e) => [e.host as string, { at: all.indexOf(e), status: e.status as string }]));
  return { batches, done };
}

describe('several load balancers on the local lab', { timeout: 30 * 60_000 }, () => {
  afterEach(haltAllLoads);
  let inventory: string;
  let stopped: string | undefined;
  let firstApplyAt: number | undefined;
  const acmeLab: AcmeLab = { lbs: LBS, publicAddress: PUBLIC, inventory: () => inventory, apply, firstApplyStartedAt: () => firstApplyAt };

  before(async () => {
    await labDownCommand();
    inventory = await labUpCommand({ lb: 3, web: 2, acme: { validitySeconds: ACME_LAB_VALIDITY_S } });
  });
  /** After a scenario that failed with an LB still stopped, the next one starts from the whole lab again. */
  beforeEach(async () => {
    if (!stopped) return;
    const lb = stopped;
    await docker(['start', `bootstrap-lab-${lb}`], { check: false });
    stopped = undefined;
    await waitFor(`${lb} back in raft`, () => raftVoters(LBS.find((o) => o !== lb)!), (v) => Array.isArray(v) && v.length === 3, 120_000, 1000);
    await apply(inventory);
  });
  after(async () => {
    if (stopped) await docker(['start', `bootstrap-lab-${stopped}`], { check: false });
    if (!process.env.BOOTSTRAP_KEEP_LAB) await labDownCommand();
  });

  it('1. a fresh 3-LB lab bootstraps: raft has 3 voters and a leader, every LB and the VIP serve every app (HTTP and TLS), and verify checks it', async () => {
    const t0 = Date.now();
    firstApplyAt = t0;
    const first = await apply(inventory);
    const firstMs = Date.now() - t0;
    assert.equal(first.code, 0, failureReport(first.stdout) + first.stderr);
    assert.match(first.stdout, /PLAY \[consul servers\] on lb1, lb2, lb3 \(serial: 3 batches of 1, 1, 1\)/);
    const results = await expectVerifyPassing(inventory, 180_000);
    const raft = results.find((r) => r.check === 'consul raft')!;
    assert.match(raft.detail, /^3 voters \(lb1, lb2, lb3\), leader lb[123]$/);
    assert.match(results.find((r) => r.check === 'floating address')!.detail, new RegExp(`^${LAB_VIP.replace(/\./g, '\\.')} held by lb[123]$`));
    for (const lb of LBS) {
      for (const [app, scheme] of [['demo', 'http'], ['secure', 'https']] as const) {
        assert.ok(results.some((r) => r.host === lb && r.app === app && r.check === scheme && r.ok), `${lb} serves ${app} over ${scheme}`);
      }
    }
    for (const app of ['demo', 'secure']) assert.ok(results.some((r) => r.app === app && r.check.endsWith('via floating address') && r.ok), `${app} through the VIP`);

    const t1 = Date.now();
    const again = await apply(inventory);
    const noopMs = Date.now() - t1;
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /No changes: 5 host\(s\)/);
    console.log(`# 5-node lab: first bootstrap ${(firstMs / 1000).toFixed(1)} s, no-op re-run ${(noopMs / 1000).toFixed(1)} s`);
  });

  acmeIssued(acmeLab);
  acmeRenewalUnderLoad(acmeLab);
  acmeIssuerStopped(acmeLab);

  it('2. stopping the VIP holder under load: the others serve, consul keeps a leader, the VIP moves; a re-run reports it unreachable; it rejoins', async () => {
    const holder = (await vipHolder())!;
    assert.ok(holder, 'some LB holds the VIP');
    const others = LBS.filter((lb) => lb !== holder);
    const load = steadyLoad({ addresses: ADDRESSES, host: 'demo.lab.test', concurrency: 4 });
    const vip = prober(LAB_VIP, 'demo.lab.test');
    await sleep(2000);
    const tStop = Date.now();
    stopped = holder;
    await docker(['stop', '-t', '20', `bootstrap-lab-${holder}`]);
    const stopMs = Date.now() - tStop;
    const moved = await waitFor('the VIP on another LB', () => vipHolder(others), (h) => h !== undefined, 10_000, 100);
    const leader = await waitFor('a consul leader among the others', () => leaderOn(others[0]!), (l) => l !== '' && l !== `${PRIVATE[holder]}:8300`, 10_000);
    await sleep(3000);
    const seen = vip.stop();
    const { total, failed, failovers } = await load.stop();
    console.log(
      `# stopped ${holder} (docker stop took ${stopMs} ms): VIP on ${moved.value} ${moved.ms} ms after the stop returned; ` +
        `longest time the VIP did not answer: ${seen.longestGapMs} ms (${seen.failures} of ${seen.probes} probes failed); ` +
        `load over the LB addresses: ${failed.length} of ${total} requests failed, ${failovers} failed over; consul leader ${leader.value}`,
    );
    assert.ok(seen.longestGapMs <= 3000, `the VIP was unanswered for ${seen.longestGapMs} ms`);
    // A machine that shuts down resets the connections its kernel accepted but nginx did not yet:
    // only such resets, from the stopped LB's own address, are allowed; nothing else may fail.
    const cutByStop = failed.filter((f) => f.startsWith(`${PUBLIC[holder]}: `) && /ECONNRESET|socket hang up/.test(f));
    console.log(`# requests cut by ${holder}'s shutdown (connection reset): ${cutByStop.length}`);
    assert.deepEqual(failed.filter((f) => !cutByStop.includes(f)), [], `${failed.length} of ${total} requests failed`);
    for (const lb of others) assert.deepEqual(await upstream(lb, 'demo'), [`${PRIVATE.web1}:8081`, `${PRIVATE.web2}:8081`]);

    const down = await apply(inventory, '--output', 'json');
    assert.equal(down.code, 4, 'the unreachable exit code');
    const evs = events(down.stdout);
    assert.deepEqual(evs.filter((e) => e.type === 'host:unreachable').map((e) => e.host), [holder]);
    // the lab's ACME certificates live 120 s: one may fall due just as this run checks it, and be renewed
    const changed = evs.filter((e) => e.type === 'task:result' && e.status !== 'ok' && e.status !== 'skipped' && !String(e.task).startsWith('ACME certificates ordered'));
    assert.deepEqual(changed.map((e) => `${e.host} ${e.task} ${e.status}`), [], 'nothing changed on the other hosts');

    await docker(['start', `bootstrap-lab-${holder}`]);
    stopped = undefined;
    // The raft configuration keeps a stopped server as a voter, so it says nothing of the restart:
    // wait for what the re-run needs, its sshd answering, and for its own consul to follow a leader.
    const back = await waitFor(
      `${holder} back: sshd answers, its consul follows a leader, 3 voters`,
      async () => ({ ssh: await portOpen(PUBLIC[holder]!, 22), leader: await leaderOn(holder), voters: await raftVoters(others[0]!) }),
      (v) => v.ssh && v.leader !== '' && v.voters.length === 3,
      120_000,
      250,
    );
    console.log(`# ${holder} was back (sshd, a leader, a voter) ${back.ms} ms after docker start`);
    const rerun = await apply(inventory);
    assert.equal(rerun.code, 0, rerun.stdout.slice(-4000));
    await expectVerifyPassing(inventory, 120_000);
  });

  it('3. a setting that restarts consul, applied under load: servers restart one at a time, each back before the next, no request fails (the longest time without a leader is printed, not asserted: it is a timing)', async () => {
    const multiplier = (parse(readFileSync(inventory, 'utf8')).all.vars.consul_raft_multiplier as number | undefined) ?? 1;
    const electionTimeoutMs = 1000 * multiplier;
    const before = await uptimeMicros('lb1');
    setVar(inventory, ['consul_log_level'], 'DEBUG');
    const sampler = leaderSampler(LBS);
    const load = steadyLoad({ addresses: ADDRESSES, host: 'demo.lab.test', concurrency: 4 });
    await sleep(1000);
    const res = await apply(inventory, '--output', 'json');
    await sleep(1000);
    const { total, failed } = await load.stop();
    const sampled = sampler.stop();
    assert.equal(res.code, 0, res.stdout.slice(-4000));
    console.log(`# consul restarted on 3 servers under load: longest leaderless ${sampled.longestLeaderlessMs} ms (election timeout ${electionTimeoutMs} ms, ${sampled.samples} samples, leaders seen ${sampled.leaders.join(', ')}); ${failed.length} of ${total} requests failed`);
    assert.ok(sampled.samples > 30, 'the sampler sampled');
    assert.deepEqual(failed, []);

    const { batches, done } = rollOrder(res.stdout, 'consul servers', 'consul server back in the raft peer set');
    assert.deepEqual(batches.map((b) => b.hosts), [['lb1'], ['lb2'], ['lb3']]);
    const starts: number[] = [];
    for (const [i, b] of batches.entries()) {
      const host = b.hosts[0]!;
      assert.equal(done.get(host)?.status, 'changed', `${host} waited until it was back`);
      if (i > 0) assert.ok(done.get(batches[i - 1]!.hosts[0]!)!.at < b.at, `${host}'s batch started after the previous server was back`);
      starts.push(await startedAt(host, 'consul'));
    }
    assert.ok(starts.every((t, i) => t > before && (i === 0 || t > starts[i - 1]!)), `consul start times in batch order: ${starts.join(', ')}`);
    console.log(`# consul start times, s after lb1's: ${starts.map((t) => ((t - starts[0]!) / 1e6).toFixed(2)).join(', ')}`);
  });

  it('4. with 2 of 3 servers stopped nginx keeps serving and consul-template keeps running; the cluster recovers by itself and a new container shows up', async () => {
    const load = steadyLoad({ addresses: ADDRESSES, host: 'demo.lab.test', concurrency: 2 });
    await onNode('lb2', 'systemctl stop consul');
    await onNode('lb3', 'systemctl stop consul');
    await waitFor('lb1 without a leader', () => leaderOn('lb1'), (l) => l === '', 20_000);
    const noQuorum = await verifyUntilPassing(inventory, 1);
    const raft = noQuorum.find((r) => r.check === 'consul raft')!;
    assert.equal(raft.ok, false, `verify sees no leader: ${raft.detail}`);
    await sleep(8000); // consul-template retries against a cluster without leader
    for (const lb of LBS) {
      assert.equal(await onNode(lb, 'systemctl is-active consul-template'), 'active', `consul-template still runs on ${lb}`);
      assert.deepEqual(await upstream(lb, 'demo'), [`${PRIVATE.web1}:8081`, `${PRIVATE.web2}:8081`], `${lb} keeps its last upstreams`);
    }
    await onNode('lb2', 'systemctl start consul');
    await onNode('lb3', 'systemctl start consul');
    await waitFor('a leader again', () => leaderOn('lb1'), (l) => l !== '', 60_000);
    const { total, failed } = await load.stop();
    assert.deepEqual(failed, [], `${failed.length} of ${total} requests failed without quorum`);

    // a new instance: registrator registers it when the lab has one, else a Consul service definition
    const labVars = parse(readFileSync(inventory, 'utf8')).all.vars as { lab: { app_image: string }; registrator?: { enabled?: boolean } };
    await onNode('web1', `docker run -d --name demo-extra -p 8091:80 -e SERVICE_NAME=demo -e APP_NAME=demo --restart unless-stopped ${labVars.lab.app_image}`);
    if (labVars.registrator?.enabled === false) {
      const token = readFileSync(join(labDir(), '.bootstrap', 'secrets', 'registrator_token'), 'utf8').trim();
      await onNode('web1', `cat > /etc/consul.d/lab-demo-extra.hcl <<'EOF'
service {
  id = "demo-extra-web1"
  name = "demo"
  address = "${PRIVATE.web1}"
  port = 8091
  token = "${token}"
  check { http = "http://${PRIVATE.web1}:8091/health"
          interval = "2s"
          timeout = "1s" }
}
EOF
chgrp consul /etc/consul.d/lab-demo-extra.hcl; chmod 0640 /etc/consul.d/lab-demo-extra.hcl; systemctl reload consul`);
    }
    try {
      for (const lb of LBS) {
        const shown = await waitFor(`the new container in ${lb}'s upstream`, () => upstream(lb, 'demo'), (u) => u.includes(`${PRIVATE.web1}:8091`), 120_000, 500);
        console.log(`# ${lb}: new container in nginx after ${shown.ms} ms`);
      }
    } finally {
      await onNode('web1', 'docker rm -f demo-extra; rm -f /etc/consul.d/lab-demo-extra.hcl; systemctl reload consul');
    }
  });

  it('5. a daemon.json change rolls over the web nodes one at a time while the apps keep answering', async () => {
    const before = await uptimeMicros('web1');
    setVar(inventory, ['docker_daemon_config'], { 'log-level': 'warn' });
    const load = steadyLoad({ addresses: ADDRESSES, host: 'demo.lab.test', concurrency: 4 });
    const tls = steadyLoad({ addresses: ADDRESSES, host: 'secure.lab.test', concurrency: 1, tls: true });
    await sleep(1000);
    const res = await apply(inventory, '--output', 'json');
    await sleep(1000);
    const plain = await load.stop();
    const secure = await tls.stop();
    assert.equal(res.code, 0, res.stdout.slice(-4000));
    console.log(`# docker restarted on 2 web nodes under load: ${plain.failed.length} of ${plain.total} HTTP and ${secure.failed.length} of ${secure.total} HTTPS requests failed`);
    assert.deepEqual([...plain.failed, ...secure.failed], []);
    const { batches, done } = rollOrder(res.stdout, 'docker engine settings', 'docker back with its containers');
    assert.deepEqual(batches.map((b) => b.hosts), [['web1'], ['web2']]);
    assert.equal(done.get('web1')?.status, 'changed');
    assert.ok(done.get('web1')!.at < batches[1]!.at, "web2's engine restarted only after web1's containers were back");
    const [s1, s2] = [await startedAt('web1', 'docker'), await startedAt('web2', 'docker')];
    assert.ok(before < s1 && s1 < s2, `docker start times ${s1} < ${s2}`);
    console.log(`# docker on web2 started ${((s2 - s1) / 1e6).toFixed(1)} s after web1`);
  });

  acmeCaUnreachable(acmeLab);
});
