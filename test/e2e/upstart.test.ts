/**
 * The stack on Upstart for real: a small lab whose two nodes boot the Upstart the lab builds from
 * source as PID 1 (no systemd in the image), lb1 with consul server, consul-template and nginx,
 * web1 with consul client, the Docker engine, registrator and the demo app, every one an Upstart job
 * (the app is a container). Applied
 * over SSH by the CLI like any lab, then verified, re-run, and the jobs' Upstart behaviour
 * exercised: respawn, reload (SIGHUP), registrator's container restarted by its job, a graceful
 * stop (consul leaves), and a reboot in which the jobs start from their own `start on` events.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { labAppsPlaybook, labDownCommand, labUpCommand } from '../../src/lab/commands.js';
import { parseInits } from '../../src/lab/nodes.js';
import { defaultPlaybook } from '../../src/paths.js';
import { failureReport, runCli } from '../helpers/cli.js';
import { onNode } from '../helpers/lab.js';
import { expectVerifyPassing } from '../helpers/lab-verify.js';

const run = promisify(execFile);
const apply = (inventory: string, ...args: string[]) => runCli([inventory, '--playbook', defaultPlaybook, '--playbook', labAppsPlaybook, ...args]);

async function waitFor<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  let value = await probe().catch((error: Error) => error.message as T);
  while (!ok(value)) {
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
    value = await probe().catch((error: Error) => error.message as T);
  }
  return { value, ms: Date.now() - start };
}

/** `initctl status JOB` on a node: "consul start/running, process 123". */
const status = (node: string, job: string) => onNode(node, `initctl status ${job}`);
const pidOf = (line: string) => /process (\d+)/.exec(line)?.[1];
/** A member's status as the LB's consul server sees it. */
const member = (name: string) => onNode('lb1', `CONSUL_HTTP_TOKEN_FILE=/etc/consul/management.token consul members | awk '$1 == "${name}" { print $3 }'`);

describe('the stack on Upstart lab nodes (Upstart as PID 1)', { timeout: 20 * 60_000 }, () => {
  let inventory: string;

  before(async () => {
    await labDownCommand();
    inventory = await labUpCommand({ lb: 1, web: 1, inits: parseInits('upstart') });
  });
  after(async () => {
    if (!process.env.BOOTSTRAP_KEEP_LAB) await labDownCommand();
  });

  it('boots Upstart as PID 1, with sshd as a job and no systemd', async () => {
    for (const node of ['lb1', 'web1']) {
      assert.equal(await onNode(node, 'cat /proc/1/comm'), 'init');
      assert.match(await onNode(node, 'initctl version'), /upstart 1\.13\.2/);
      assert.match(await status(node, 'ssh'), /^ssh start\/running, process \d+$/);
      assert.equal(await onNode(node, 'command -v systemctl || test -d /run/systemd/system && echo systemd || echo none'), 'none');
    }
  });

  it('facts say upstart; the stack is laid down as Upstart jobs and verify passes', async () => {
    const facts = await runCli(['facts', inventory, '--output', 'json']);
    assert.equal(facts.code, 0, facts.stderr);
    assert.equal((facts.stdout.match(/"init":\s*"upstart"/g) ?? []).length, 2, facts.stdout);
    const first = await apply(inventory);
    assert.equal(first.code, 0, failureReport(first.stdout) + first.stderr);
    await expectVerifyPassing(inventory, 120_000);
    for (const [node, jobs] of [['lb1', ['consul', 'consul-template', 'nginx']], ['web1', ['consul', 'docker', 'registrator']]] as const) {
      for (const job of jobs) {
        assert.ok((await onNode(node, `test -f /etc/init/${job}.conf && echo yes`)) === 'yes', `${node}: /etc/init/${job}.conf`);
        assert.match(await status(node, job), new RegExp(`^${job} start/running, process \\d+$`), `${node} ${job}`);
      }
    }
    // the app container answers through the LB
    const { stdout } = await run('curl', ['-fsS', '-H', 'Host: demo.lab.test', 'http://172.30.10.11/']);
    assert.match(stdout, /app=demo/);
  });

  it('a re-run changes nothing', async () => {
    const again = await apply(inventory);
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /No changes: 2 host\(s\)/);
  });

  it('respawn: consul killed with SIGKILL is started again by Upstart and rejoins', async () => {
    const before = pidOf(await status('web1', 'consul'))!;
    await onNode('web1', `kill -9 ${before}`);
    const back = await waitFor('consul respawned on web1', () => status('web1', 'consul'), (s) => /start\/running/.test(s) && pidOf(s) !== before);
    console.log(`# consul respawned ${back.ms} ms after kill -9`);
    await waitFor('web1 alive in consul members', () => member('web1'), (s) => s === 'alive', 60_000);
  });

  it('reload: initctl reload delivers SIGHUP (consul reloads its configuration, nginx keeps its master)', async () => {
    const consulPid = pidOf(await status('web1', 'consul'));
    await onNode('web1', 'initctl reload consul');
    await waitFor('consul logged the SIGHUP', () => onNode('web1', 'grep -c "Caught.*signal=hangup" /var/log/upstart/consul.log || true'), (n) => Number(n) >= 1);
    assert.equal(pidOf(await status('web1', 'consul')), consulPid);
    // nginx on SIGHUP starts new workers and retires the old ones; the master stays
    const nginxPid = pidOf(await status('lb1', 'nginx'))!;
    const workers = () => onNode('lb1', `pgrep -P ${nginxPid} | sort`);
    const oldWorkers = await workers();
    assert.notEqual(oldWorkers, '');
    await onNode('lb1', 'initctl reload nginx');
    await waitFor('new nginx workers', workers, (w) => w !== '' && w.split('\n').every((pid) => !oldWorkers.split('\n').includes(pid)));
    assert.equal(pidOf(await status('lb1', 'nginx')), nginxPid);
  });

  it("registrator: its job runs the container in the foreground, so a removed container is started again by Upstart", async () => {
    const containerId = () => onNode('web1', "docker inspect --format '{{.Id}}' registrator");
    const before = await containerId();
    await onNode('web1', 'docker rm -f registrator');
    const back = await waitFor('a new registrator container', () => containerId(), (id) => /^[0-9a-f]{64}$/.test(id) && id !== before, 60_000);
    console.log(`# registrator's container was running again ${back.ms} ms after docker rm -f`);
    assert.match(await status('web1', 'registrator'), /start\/running/);
    // and it registers: the demo app is still a healthy instance in Consul
    const healthy = () => onNode('lb1', 'curl -fsS -H @/etc/consul/management.header "http://127.0.0.1:8500/v1/health/service/demo?passing=1"');
    await waitFor('demo registered', healthy, (body) => body.includes('"Port":8081'), 60_000);
  });

  it('stop: consul leaves the cluster gracefully (SIGTERM within the kill timeout), and starts again', async () => {
    await onNode('web1', 'initctl stop consul');
    assert.match(await status('web1', 'consul'), /stop\/waiting/);
    await waitFor('web1 left', () => member('web1'), (s) => s === 'left', 30_000);
    await onNode('web1', 'initctl start consul');
    await waitFor('web1 alive again', () => member('web1'), (s) => s === 'alive', 60_000);
  });

  it('reboot: the jobs start from their own start-on events, and verify passes again', async () => {
    const started = Date.now();
    await run('docker', ['restart', '-t', '20', 'bootstrap-lab-web1']);
    await waitFor('sshd on web1 after the restart', () => status('web1', 'ssh'), (s) => /start\/running/.test(s), 60_000);
    for (const job of ['consul', 'docker', 'registrator']) {
      await waitFor(`${job} on web1 after the restart`, () => status('web1', job), (s) => /start\/running/.test(s), 60_000);
    }
    await expectVerifyPassing(inventory, 120_000);
    console.log(`# web1 rebooted and the stack verified in ${Date.now() - started} ms`);
  });
});
