/**
 * End to end on the local lab: fresh Debian nodes (containers booting systemd + sshd; lb1 and
 * web1 on Debian 13, web2 on 12), the real stack (consul, consul-template and registrator built
 * from source, nginx and docker.io from Debian), applied over SSH by the CLI, then exercised. The demo containers are plain
 * `docker run -p ... -e SERVICE_NAME=...` containers that registrator registers in the web
 * node's consul agent. Traffic goes only to the lab's own containers.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { parseDocument } from 'yaml';
import { labAppsPlaybook, labDownCommand, labUpCommand } from '../../src/lab/commands.js';
import { DEMO_APP_IMAGE } from '../../src/lab/app-image.js';
import { parseDistros } from '../../src/lab/nodes.js';
import { defaultPlaybook } from '../../src/paths.js';
import { formatCheckTable } from '../../src/verify/index.js';
import { events, failureReport, runCli } from '../helpers/cli.js';
import { onNode } from '../helpers/lab.js';
import { expectVerifyPasses, expectVerifyPassing } from '../helpers/lab-verify.js';
import { batchScript, parseBatch } from '../../src/facts/batch.js';
import { dockerContainerFact, dockerImageFact, type ContainerState, type DockerObject, type ImageState } from '../../src/facts/docker.js';
import { LB_PUBLIC, get, portOpen, steadyLoad, upstream, waitFor } from '../helpers/traffic.js';
import { haltAllLoads } from '../helpers/running-loads.js';

const LB_PRIVATE = '172.30.20.11';
/** A docker command on this machine (the lab node containers themselves). */
const docker = (...args: string[]) => promisify(execFile)('docker', args);
const WEB = { web1: '172.30.20.51', web2: '172.30.20.52' };

/** What a user runs to put a container behind the LB: a published port, SERVICE_NAME and a health check. */
const runApp = (name: string, extra = '') =>
  `docker run -d --name ${name} -p 80 -e APP_NAME=demo -e SERVICE_NAME=demo -e SERVICE_CHECK_HTTP=/health -e SERVICE_CHECK_INTERVAL=1s -e SERVICE_CHECK_TIMEOUT=1s ${extra} ${DEMO_APP_IMAGE}`;

/** Consul's passing instances of an app, asked on lb1 with the management token (from a header file, not argv). */
async function passing(app: string): Promise<Array<{ id: string; node: string; address: string }>> {
  const json = await onNode('lb1', `curl -fsS -H @/etc/consul/management.header 'http://127.0.0.1:8500/v1/health/service/${app}?passing=1'`);
  return (JSON.parse(json) as Array<{ Node: { Node: string }; Service: { ID: string; Address: string; Port: number } }>)
    .map((e) => ({ id: e.Service.ID, node: e.Node.Node, address: `${e.Service.Address}:${e.Service.Port}` }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** The host port docker gave a container's port 80. */
async function hostPort(node: string, container: string): Promise<string> {
  return (await onNode(node, `docker port ${container} 80/tcp | head -n 1`)).replace(/^.*:/, '');
}

/** Sends requests until one is answered by the container whose hostname (its short id) is `id`. */
async function answeredBy(id: string, timeoutMs = 20_000): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const a = await get('demo.lab.test').catch(() => undefined);
    if (a?.body.includes(`host=${id.slice(0, 12)}`)) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 20));
  }
  return assert.fail(`no answer from container ${id.slice(0, 12)} through the LB within ${timeoutMs} ms`);
}

/** nginx reloads by nginx-reload (consul-template's command, at once or in its coalescing background run) so far on lb1. */
async function reloads(): Promise<number> {
  return Number(await onNode('lb1', "journalctl -o cat _SYSTEMD_UNIT=consul-template.service + SYSLOG_IDENTIFIER=nginx-reload | grep -c 'nginx-reload: reloading nginx' || true"));
}

const apply = (inventory: string, ...args: string[]) => runCli([inventory, '--playbook', defaultPlaybook, '--playbook', labAppsPlaybook, ...args]);

describe('the stack on the local lab', { timeout: 40 * 60_000 }, () => {
  afterEach(haltAllLoads);
  let inventory: string;

  before(async () => {
    await labDownCommand();
    inventory = await labUpCommand({ lb: 1, web: 2, distros: parseDistros('lb1=trixie,web1=trixie') });
  });
  after(async () => {
    if (!process.env.BOOTSTRAP_KEEP_LAB) await labDownCommand();
  });

  it('1. bootstraps fresh nodes (lb1 and web1 on Debian 13, web2 on 12), and verify passes: members, registrations, balancing, HTTP and TLS', async () => {
    assert.equal(await onNode('lb1', '. /etc/os-release; echo $VERSION_CODENAME'), 'trixie');
    assert.equal(await onNode('web2', '. /etc/os-release; echo $VERSION_CODENAME'), 'bookworm');
    const first = await apply(inventory);
    assert.equal(first.code, 0, failureReport(first.stdout) + first.stderr);
    await expectVerifyPassing(inventory, 120_000);
    const verify = await expectVerifyPasses(inventory);
    assert.match(verify.stdout, /consul member\s+web2\s+alive/);
    // registered by registrator (service IDs are <docker host>:<container>:<port>), not by definitions
    assert.match(verify.stdout, /172\.30\.20\.51:8081 from web1\/demo-1 \(registrator\)/);
    assert.deepEqual(await passing('demo'), [
      { id: 'web1:demo-1:80', node: 'web1', address: `${WEB.web1}:8081` },
      { id: 'web2:demo-1:80', node: 'web2', address: `${WEB.web2}:8081` },
    ]);
    assert.equal(await onNode('web1', 'ls /etc/consul.d/'), 'consul.hcl\ntls');
    assert.equal(await onNode('web1', 'systemctl is-active registrator'), 'active');

    // every backend answers at least once over 20 requests, seen from here by the body they serve
    const hosts = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const a = await get('demo.lab.test');
      assert.equal(a.status, 200);
      hosts.add(/host=(\S+)/.exec(a.body)?.[1] ?? '?');
    }
    assert.equal(hosts.size, 2, `backends seen: ${[...hosts].join(', ')}`);
    // Debian 13: the real nginx 1.26 reads the `http2 on;` form, and registrator's 2018-era Docker
    // client registered web1's containers on docker.io 26
    assert.match(await onNode('lb1', 'nginx -v 2>&1'), /nginx\/1\.(2[6-9]|[3-9]\d)/);
    assert.match(await onNode('lb1', 'cat /etc/nginx/conf.d/secure.conf'), /^\s*http2 on;$/m);
    assert.ok(Number((await onNode('web1', "docker version -f '{{.Server.Version}}'")).split('.')[0]) >= 26);
    const redirect = await get('secure.lab.test');
    assert.equal(redirect.status, 301);
    assert.equal(redirect.location, 'https://secure.lab.test/');
    const tls = await get('secure.lab.test', { tls: true });
    assert.equal(tls.status, 200);
    assert.match(tls.body, /app=secure/);
  });

  it('keeps consul HTTP off the public and private interfaces', async () => {
    assert.equal(await portOpen(LB_PUBLIC, 8500), false);
    assert.equal(await portOpen(LB_PRIVATE, 8500), false);
    assert.equal(await onNode('lb1', 'curl -s -o /dev/null -w %{http_code} http://127.0.0.1:8500/v1/agent/self'), '403'); // ACLs: no token, no answer
  });

  it('hardened by default: app ports only on the private address (verify says so), no nginx version, consul RPC refuses an agent without a certificate of the CA, no script checks, remote exec or UI', async () => {
    // published container ports: on the private address only, whatever `docker run -p PORT` asked
    const PUBLIC = { web1: '172.30.10.51', web2: '172.30.10.52' };
    for (const [node, address] of Object.entries(PUBLIC)) {
      assert.equal(await portOpen(address, 8081), false, `${node}: demo-1 answers on the public address ${address}:8081`);
      assert.equal(await portOpen(WEB[node as keyof typeof WEB], 8081), true, `${node}: demo-1 does not answer on its private address`);
    }
    const verify = await runCli(['verify', inventory, '--limit', 'web1']);
    assert.match(verify.stdout, /published ports\s+web1\s+.*none on 172\.30\.10\.51 \(on 172\.30\.20\.51\)/);
    // verify names a container that does answer on the public address (docker run -p 0.0.0.0:...: the documented opt-out)
    await onNode('web1', `docker run -d --name exposed -e SERVICE_IGNORE=1 -p 0.0.0.0:8099:80 ${DEMO_APP_IMAGE} >/dev/null`);
    try {
      // docker run returns once the container starts; its published port may open a moment later
      await waitFor('exposed answering on the public address', () => portOpen(PUBLIC.web1, 8099), (open) => open, 15_000);
      const exposed = await runCli(['verify', inventory, '--limit', 'web1']);
      assert.notEqual(exposed.code, 0);
      assert.match(exposed.stdout, /published ports\s+web1\s+.*exposed publishes 80\/tcp on 0\.0\.0\.0:8099/);
    } finally {
      await onNode('web1', 'docker rm -f exposed >/dev/null');
    }

    // nginx: no version in the Server header nor on its own error pages
    const page = await get('demo.lab.test');
    assert.equal(page.headers.server, 'nginx');
    const unknown = await get('nobody.lab.test');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.server, 'nginx');
    assert.doesNotMatch(unknown.body, /nginx\/\d/);

    // consul RPC: a connection that speaks plain RPC, without TLS and so without a certificate of
    // the CA, is refused by the servers. The first byte of a consul RPC connection names its type
    // (0: plain RPC); a server with verify_incoming closes it and says why.
    const since = await onNode('lb1', "date '+%Y-%m-%d %H:%M:%S'");
    await waitFor('the server refusing a plaintext RPC connection from web1', async () => {
      await onNode('web1', `bash -c 'exec 3<>/dev/tcp/${LB_PRIVATE}/8300 && printf "\\000" >&3 && sleep 0.3' || true`);
      return onNode('lb1', `journalctl -u consul --since '${since}' -o cat | grep -c 'Non-TLS connection attempted with VerifyIncoming set' || true`);
    }, (n) => Number(n) > 0, 30_000);
    // the stack's own agents speak TLS (client certificates through auto_encrypt)
    assert.match(await onNode('web1', 'stat -c %a /etc/consul.d/tls; ls /etc/consul.d/tls'), /^750\nca\.pem$/);
    assert.match(await onNode('lb1', 'ls /etc/consul.d/tls; stat -c %U:%G:%a /etc/consul.d/tls/server-key.pem'), /^ca\.pem\nserver-key\.pem\nserver\.pem\nroot:consul:640$/);

    // HashiCorp's hardening items as the server runs them, and a script check refused
    type AgentSelf = { DebugConfig: Record<string, any> };
    const self = (JSON.parse(await onNode('lb1', 'curl -fsS -H @/etc/consul/management.header http://127.0.0.1:8500/v1/agent/self')) as AgentSelf).DebugConfig;
    assert.equal(self.TLS?.InternalRPC?.VerifyIncoming, true);
    assert.equal(self.TLS?.InternalRPC?.VerifyServerHostname, true);
    assert.equal(self.AutoEncryptAllowTLS, true);
    assert.equal(self.DisableRemoteExec, true);
    assert.equal(self.EnableRemoteScriptChecks, false);
    assert.equal(self.EnableLocalScriptChecks, false);
    const script = await onNode('lb1', `curl -s -o /dev/null -w '%{http_code}' -X PUT -H @/etc/consul/management.header --data '{"Name":"x","Args":["true"],"Interval":"10s"}' http://127.0.0.1:8500/v1/agent/check/register`);
    assert.notEqual(script, '200', 'a script check was registered');
    assert.equal(await onNode('lb1', "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8500/ui/"), '404');
  });

  it('2. a re-run changes nothing, and --check after it has nothing to do', async () => {
    const again = await apply(inventory);
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /No changes: 3 host\(s\)/);
    const check = await apply(inventory, '--check');
    assert.equal(check.code, 0);
    assert.match(check.stdout, /No changes: 3 host\(s\)/);
  });

  it('docker facts: the Engine API over its socket (one curl) and docker inspect (where DOCKER_HOST is set) read the same container and image; a missing one is null', async () => {
    const read = async (prefix: string, image: string) => {
      const facts = [dockerContainerFact('registrator'), dockerImageFact(image), dockerContainerFact('no-such-container')];
      const script = batchScript(facts);
      const output = await onNode('web1', `${prefix}${script}`);
      const values = facts.map((f) => parseBatch(`${output}\n`, facts, script).get(f.key) as DockerObject<any>);
      // registrator's environment holds its consul token: compared by names, never printed
      return { output: output.split('\n').filter((line) => line.startsWith('@@') || line.includes(' begin ')).join('\n'), values: values.map((v) => (v.value?.env ? { ...v, value: { ...v.value, env: Object.keys(v.value.env) } } : v)) };
    };
    const first = await read('', 'none');
    const image = (first.values[0]!.value as ContainerState).image;
    const api = await read('', image);
    const cli = await read('DOCKER_HOST=unix:///var/run/docker.sock; export DOCKER_HOST\n', image);
    assert.match(api.output, /^BOOTSTRAP-FACT-\S+ begin 0\n@@api$/m);
    assert.match(cli.output, /^@@(all|one) container$/m);
    assert.deepEqual(api.values, cli.values);
    const [container, img, missing] = api.values as [DockerObject<ContainerState>, DockerObject<ImageState>, DockerObject<ContainerState>];
    assert.equal(container.value?.running, true);
    assert.equal(img.value?.id, container.value?.imageId);
    assert.deepEqual(missing, { dockerPresent: true, value: null });
  });

  it('3. a stopped instance leaves the upstream; with none left nginx stays valid and answers 502 while other apps work', async () => {
    const both = [`${WEB.web1}:8081`, `${WEB.web2}:8081`];
    assert.deepEqual(await upstream('demo'), both);
    await onNode('web1', 'docker stop -t 1 demo-1');
    const gone = await waitFor('demo upstream after stopping web1', () => upstream('demo'), (u) => u.length === 1);
    assert.deepEqual(gone.value, [`${WEB.web2}:8081`]);
    console.log(`# instance left nginx's upstream ${gone.ms} ms after its container stopped`);
    await onNode('web2', 'docker stop -t 1 demo-1');
    await waitFor('demo upstream with no instance', () => upstream('demo'), (u) => u.length === 0);
    assert.match(await onNode('lb1', 'nginx -t 2>&1'), /test is successful/);
    assert.equal((await get('demo.lab.test')).status, 502);
    assert.equal((await get('secure.lab.test', { tls: true })).status, 200);
    await onNode('web1', 'docker start demo-1');
    await onNode('web2', 'docker start demo-1');
    const back = await waitFor('demo upstream after restarting both', () => upstream('demo'), (u) => u.length === 2);
    console.log(`# restarted instances were back in nginx's upstream after ${back.ms} ms`);
    // the file is written before consul-template's command has reloaded nginx
    await waitFor('demo answering again', async () => (await get('demo.lab.test')).status, (s) => s === 200, 5000);
  });

  it('4. changing an app setting changes only the files that depend on it and reloads (not restarts) nginx', async () => {
    const pid = await onNode('lb1', 'cat /run/nginx.pid');
    const doc = parseDocument(readFileSync(inventory, 'utf8'));
    doc.setIn(['all', 'vars', 'apps', 0, 'balance'], 'least_conn');
    writeFileSync(inventory, doc.toString());
    const res = await apply(inventory, '--output', 'json');
    assert.equal(res.code, 0, res.stdout);
    const changed = events(res.stdout).filter((e) => e.type === 'task:result' && e.status === 'changed');
    assert.deepEqual(
      changed.map((e) => `${e.host} ${e.task}`).sort(),
      ['lb1 consul-template template per app', 'lb1 consul-template reads its new templates and configuration'].sort(),
    );
    await waitFor('least_conn in demo.conf', () => onNode('lb1', 'cat /etc/nginx/conf.d/demo.conf'), (c) => c.includes('least_conn;'));
    assert.equal(await onNode('lb1', 'cat /run/nginx.pid'), pid, 'the nginx master process is the same: reloaded, not restarted');
    assert.equal((await get('demo.lab.test')).status, 200);
  });

  it('5. consul restarting on the LB or dying on a web node leaves nginx serving; the stack recovers', async () => {
    const load = steadyLoad('demo.lab.test', 2);
    await onNode('lb1', 'systemctl restart consul');
    await new Promise((r) => setTimeout(r, 5000));
    await onNode('web1', 'systemctl kill -s KILL consul');
    await new Promise((r) => setTimeout(r, 5000));
    const { total, failed } = await load.stop();
    assert.deepEqual(failed, [], `${failed.length} of ${total} requests failed`);
    await waitFor('consul back on web1', () => onNode('web1', 'systemctl is-active consul || true'), (s) => s === 'active', 60_000);
    await waitFor('both demo instances back', () => upstream('demo'), (u) => u.length === 2, 90_000);
    await expectVerifyPassing(inventory, 90_000);
  });

  it('a login user that is not root works through sudo, for facts and for changes', async () => {
    await onNode(
      'web1',
      'id deploy >/dev/null 2>&1 || useradd -m -s /bin/sh deploy; install -d -m 0700 -o deploy /home/deploy/.ssh; ' +
        'install -m 0600 -o deploy /root/.ssh/authorized_keys /home/deploy/.ssh/authorized_keys; ' +
        "echo 'deploy ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/deploy; chmod 0440 /etc/sudoers.d/deploy",
    );
    const doc = parseDocument(readFileSync(inventory, 'utf8'));
    doc.setIn(['all', 'children', 'web', 'hosts', 'web1', 'user'], 'deploy');
    const asDeploy = inventory.replace(/\.yaml$/, '-deploy.yaml');
    writeFileSync(asDeploy, doc.toString());
    const facts = await runCli(['facts', asDeploy, '--limit', 'web1', '--output', 'json']);
    assert.equal(facts.code, 0, facts.stderr);
    assert.equal(JSON.parse(facts.stdout).web1.user, 'deploy');
    assert.equal(JSON.parse(facts.stdout).web1.isRoot, false);
    // root-only files (consul.hcl is 0640 root:consul) are read through sudo: nothing to do
    const same = await apply(asDeploy, '--limit', 'web1');
    assert.equal(same.code, 0, same.stdout);
    assert.match(same.stdout, /No changes: 1 host/);
    await onNode('web1', 'chmod 0644 /etc/registrator/env');
    const fixed = await apply(asDeploy, '--limit', 'web1');
    assert.equal(fixed.code, 0, fixed.stdout);
    assert.match(fixed.stdout, /changed\s+web1\s+registrator ACL token/);
    assert.equal(await onNode('web1', 'stat -c %U:%G:%a /etc/registrator/env'), 'root:root:600');
  });

  it('no secret (under .bootstrap/secrets/, nor the TLS key) shows in any output mode, while the files holding them are written anew', async () => {
    const dir = dirname(inventory);
    const secretDir = join(dir, '.bootstrap', 'secrets');
    const secrets = new Map(readdirSync(secretDir).map((f) => [f, readFileSync(join(secretDir, f), 'utf8').trim()]));
    readFileSync(join(dir, 'tls', 'secure.lab.test.key'), 'utf8').split('\n').filter((l) => l.length >= 40).forEach((l, i) => secrets.set(`secure.lab.test.key line ${i + 1}`, l));
    assert.ok(secrets.size >= 12, `secrets found: ${[...secrets.keys()].join(', ')}`);
    // removed before each run, so every run shows (or would show) these files written again; web2's
    // consul.hcl (whose rewrite restarts its consul and waits for its checks) only where diffs show
    const drop = (diff: boolean) => Promise.all([
      onNode('lb1', 'rm -f /etc/consul-template/env /etc/consul/management.header /etc/nginx/tls/secure/key.pem'),
      onNode('web1', 'rm -f /etc/registrator/env'),
      diff ? onNode('web2', 'rm -f /etc/consul.d/consul.hcl') : undefined,
    ]);
    const outputs: string[] = [];
    for (const mode of [['--check', '--diff', '-v'], [], ['-v', '--diff'], ['--output', 'json'], ['--output', 'json', '--diff', '-v']]) {
      await drop(mode.includes('--diff'));
      const res = await apply(inventory, ...mode);
      assert.equal(res.code, 0, `${mode.join(' ')}: ${res.stdout.slice(-3000)}`);
      outputs.push(res.stdout + res.stderr);
    }
    assert.match(outputs[1]!, /registrator ACL token/, 'the text run wrote the token files again');
    for (const cmd of [['facts', inventory], ['facts', inventory, '--output', 'json'], ['verify', inventory], ['verify', inventory, '--output', 'json', '-v'], ['validate', inventory, '-v']]) {
      const res = await runCli(cmd);
      outputs.push(res.stdout + res.stderr);
    }
    const all = outputs.join('\n');
    for (const [name, secret] of secrets) assert.ok(!all.includes(secret), `the secret ${name} shows in the output`);
    await expectVerifyPasses(inventory);
  });

  it('6. under steady load, stopping and starting backends fails no request', async () => {
    // The rendered file shows a backend before nginx serves it (the reload is deferred while
    // changes come in a burst, and new workers start after `nginx -s reload` returns). An operator
    // stops the other backend only once this one answers through the LB, and so does this test.
    const gaps: number[] = [];
    const backInTheLb = async (node: 'web1' | 'web2') => {
      await waitFor(`${node} back in the upstream`, () => upstream('demo'), (u) => u.length === 2);
      gaps.push(await answeredBy(await onNode(node, "docker inspect -f '{{.Id}}' demo-1")));
    };
    const load = steadyLoad('demo.lab.test', 4);
    await new Promise((r) => setTimeout(r, 2000));
    await onNode('web1', 'docker stop -t 1 demo-1');
    await waitFor('web1 out of the upstream', () => upstream('demo'), (u) => u.length === 1);
    await onNode('web1', 'docker start demo-1');
    await backInTheLb('web1');
    await onNode('web2', 'docker stop -t 1 demo-1');
    await waitFor('web2 out of the upstream', () => upstream('demo'), (u) => u.length === 1);
    await onNode('web2', 'docker start demo-1');
    await backInTheLb('web2');
    await new Promise((r) => setTimeout(r, 2000));
    const { total, failed } = await load.stop();
    console.log(`# ${total} requests under load while backends stopped and started, ${failed.length} failed; a started backend first answered through nginx ${gaps.join(', ')} ms after the rendered file showed it`);
    assert.ok(total > 50, `only ${total} requests were made`);
    assert.deepEqual(failed, []);
  });

  it('R2. a container run with SERVICE_NAME and a random host port serves through the LB; after docker stop or docker kill it leaves, and no request fails', async () => {
    const served: number[] = [];
    const left: Record<string, number> = {};
    const load = steadyLoad('demo.lab.test', 3);
    for (const how of ['stop', 'kill'] as const) {
      const name = `r2-${how}`;
      const id = await onNode('web1', runApp(name));
      served.push(await answeredBy(id));
      const port = await hostPort('web1', name);
      assert.ok((await upstream('demo')).includes(`${WEB.web1}:${port}`), `web1:${port} in the upstream`);
      assert.ok((await passing('demo')).some((p) => p.id === `web1:${name}:80`));
      const t0 = Date.now();
      await onNode('web1', how === 'stop' ? `docker stop -t 1 ${name}` : `docker kill ${name}`);
      await waitFor(`${name} out of the upstream`, () => upstream('demo'), (u) => !u.includes(`${WEB.web1}:${port}`), 15_000);
      left[how] = Date.now() - t0;
      await onNode('web1', `docker rm -f ${name}`);
    }
    const { total, failed } = await load.stop();
    console.log(`# docker run -> first answer through nginx: ${served.join(', ')} ms; out of the upstream after docker stop ${left.stop} ms (the app drains in-flight requests first), after docker kill ${left.kill} ms`);
    console.log(`# ${total} requests under load while containers came and went, ${failed.length} failed`);
    assert.deepEqual(failed, []);
  });

  it('R3. a container whose health check starts failing leaves the upstream while it runs, and comes back when it recovers', async () => {
    await onNode('web1', 'docker exec demo-1 /bin/busybox rm /www/health');
    const out = await waitFor('web1 demo-1 out of the upstream', () => upstream('demo'), (u) => !u.includes(`${WEB.web1}:8081`), 15_000);
    assert.equal(await onNode('web1', "docker inspect -f '{{.State.Running}}' demo-1"), 'true');
    await onNode('web1', "docker exec demo-1 /bin/busybox sh -c 'echo ok > /www/health'");
    const back = await waitFor('web1 demo-1 back', () => upstream('demo'), (u) => u.includes(`${WEB.web1}:8081`), 15_000);
    console.log(`# failing health check: out of the upstream after ${out.ms} ms, back ${back.ms} ms after it recovered`);
  });

  it('R4. registrator restarted under load fails no request; a service deregistered behind its back comes back within the resync interval', async () => {
    const load = steadyLoad('demo.lab.test', 3);
    await onNode('web1', 'systemctl restart registrator');
    await waitFor('registrator active', () => onNode('web1', 'systemctl is-active registrator || true'), (s) => s === 'active', 30_000);
    await new Promise((r) => setTimeout(r, 3000));
    const { total, failed } = await load.stop();
    assert.deepEqual(failed, [], `${failed.length} of ${total} requests failed`);
    assert.deepEqual((await passing('demo')).map((p) => p.id), ['web1:demo-1:80', 'web2:demo-1:80']);
    // the agent token may deregister any service; the header file keeps it out of argv
    await onNode('web2', "sed 's/^CONSUL_HTTP_TOKEN=/X-Consul-Token: /' /etc/registrator/env > /run/r4.header && " +
      "curl -fsS -X PUT -H @/run/r4.header http://127.0.0.1:8500/v1/agent/service/deregister/web2:demo-1:80; rm -f /run/r4.header");
    await waitFor('web2 demo-1 gone', () => passing('demo'), (p) => !p.some((x) => x.id === 'web2:demo-1:80'), 10_000);
    const back = await waitFor('web2 demo-1 re-registered by the resync', () => passing('demo'), (p) => p.some((x) => x.id === 'web2:demo-1:80'), 45_000);
    console.log(`# a service deregistered behind registrator's back was back after ${back.ms} ms (resync 30 s)`);
  });

  it('R5. a whole web node stopped under load: its instances leave, the other serves; started again, it comes back with no manual step', async () => {
    const load = steadyLoad('demo.lab.test', 3, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = Date.now();
    await docker('stop', '-t', '5', 'bootstrap-lab-web2');
    await waitFor('web2 out of the upstream', () => upstream('demo'), (u) => u.length === 1 && u[0] === `${WEB.web1}:8081`, 60_000);
    const gone = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 2000));
    const during = await load.stop();
    console.log(`# web node stopped: its instances out of nginx after ${gone} ms; ${during.total} requests, ${during.failed.length} failed (${[...new Set(during.failed)].join(', ')})`);
    assert.deepEqual(during.failed, [], 'nginx retried the idempotent requests on the other backend');
    await docker('start', 'bootstrap-lab-web2');
    const back = await waitFor('web2 back in the upstream', () => upstream('demo'), (u) => u.length === 2, 180_000);
    console.log(`# web node started again: its instances back in nginx after ${back.ms} ms`);
    await expectVerifyPassing(inventory, 90_000);
  });

  it('R6. a container with no published port, or with SERVICE_IGNORE=1, never reaches consul or nginx', async () => {
    const before = await upstream('demo');
    await onNode('web1', `docker run -d --name r6-noport -e SERVICE_NAME=demo ${DEMO_APP_IMAGE} && ${runApp('r6-ignored', '-e SERVICE_IGNORE=1')}`);
    await new Promise((r) => setTimeout(r, 4000));
    assert.deepEqual(await upstream('demo'), before);
    assert.deepEqual((await passing('demo')).map((p) => p.id), ['web1:demo-1:80', 'web2:demo-1:80']);
    await onNode('web1', 'docker rm -f r6-noport r6-ignored');
  });

  it('R8. registrator.enabled: false on web2 retires registrator and its registrations, and service definitions take over; turned back on, registrator registers again', async () => {
    const original = readFileSync(inventory, 'utf8');
    const doc = parseDocument(original);
    doc.setIn(['all', 'children', 'web', 'hosts', 'web2', 'vars', 'registrator'], { enabled: false });
    writeFileSync(inventory, doc.toString());
    let on: Awaited<ReturnType<typeof apply>>;
    try {
      const off = await apply(inventory);
      assert.equal(off.code, 0, off.stdout.slice(-4000));
      assert.equal(await onNode('web2', 'systemctl is-active registrator || true'), 'inactive');
      assert.equal(await onNode('web2', 'ls /etc/consul.d/'), 'consul.hcl\nlab-demo.hcl\nlab-secure.hcl\ntls');
      assert.equal(await onNode('web2', 'ls -d /etc/registrator /etc/systemd/system/registrator.service 2>/dev/null || true'), '');
      await waitFor('web2 registered by its service definition', async () => (await passing('demo')).map((p) => p.id).join(' '), (ids) => ids === 'demo-web2 web1:demo-1:80');
      const table = formatCheckTable(await expectVerifyPassing(inventory, 30_000));
      assert.match(table, /172\.30\.20\.52:8081 from web2 \(service demo-web2\)/);
      assert.match(table, /172\.30\.20\.51:8081 from web1\/demo-1 \(registrator\)/);
      assert.doesNotMatch(table, /service registrator +web2/);
      // nothing registers a new container on web2 any more
      await onNode('web2', runApp('r8-unregistered'));
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal((await passing('demo')).length, 2);
      await onNode('web2', 'docker rm -f r8-unregistered');
      const again = await apply(inventory);
      assert.match(again.stdout, /No changes: 3 host\(s\)/, again.stdout.slice(-3000));
    } finally {
      writeFileSync(inventory, original);
      on = await apply(inventory); // turned back on even when an assertion above failed, for the tests after this one
    }
    assert.equal(on.code, 0, on.stdout.slice(-4000));
    await waitFor('web2 registered by registrator again', async () => (await passing('demo')).map((p) => p.id).join(' '), (ids) => ids === 'web1:demo-1:80 web2:demo-1:80');
    assert.equal(await onNode('web2', 'ls /etc/consul.d/'), 'consul.hcl\ntls');
    const noop = await apply(inventory);
    assert.match(noop.stdout, /No changes: 3 host\(s\)/, noop.stdout.slice(-3000));
  });

  it('R7. 20 containers reaching consul at once reload nginx at most 3 times, and old workers are bounded by worker_shutdown_timeout', async () => {
    // started while registrator is stopped, so that they reach consul together when it starts
    // (it registers every running container at once): 20 parallel docker starts on the lab's
    // nested Docker spread over 20-30 s, which measured docker, not the coalescing of reloads
    const nodes = ['web1', 'web2'];
    const create = runApp('r7-$i').replace('docker run -d', 'docker create');
    await Promise.all(nodes.map((node) => onNode(node, `systemctl stop registrator && for i in $(seq 1 10); do ${create} >/dev/null; done && docker start $(docker ps -aq --filter name=r7-) >/dev/null`)));
    const before = await reloads();
    const started = Date.now();
    await Promise.all(nodes.map((node) => onNode(node, 'systemctl start registrator')));
    await waitFor('22 demo instances in the upstream', () => upstream('demo'), (u) => u.length === 22, 60_000);
    await new Promise((r) => setTimeout(r, 6000)); // nginx_reload_coalesce max is 5 s: any later reload would have happened
    const count = (await reloads()) - before;
    console.log(`# 20 containers registered at once (registrator started on both web nodes): all in nginx ${Date.now() - started} ms after, with ${count} reload(s)`);
    assert.ok(count >= 1 && count <= 3, `${count} reloads`);
    // a slow upload holds a connection on an old worker across reloads; it is closed at worker_shutdown_timeout
    const slow = connect({ host: LB_PUBLIC, port: 80 });
    await new Promise((r) => slow.once('connect', r));
    slow.write('POST / HTTP/1.1\r\nHost: demo.lab.test\r\nContent-Length: 1000000\r\n\r\nx');
    const trickle = setInterval(() => slow.write('x'), 500);
    let closedAt = 0;
    slow.on('close', () => (closedAt = Date.now()));
    slow.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < 3; i++) {
      await onNode('lb1', 'nginx -s reload');
      await new Promise((r) => setTimeout(r, 700));
    }
    const reloadedAt = Date.now();
    const shutting = Number(await onNode('lb1', "ps -eo args | grep -c '^nginx: worker process is shutting down' || true"));
    assert.ok(shutting >= 1, 'an old worker still serves the slow upload');
    await waitFor('old workers gone', async () => Number(await onNode('lb1', "ps -eo args | grep -c '^nginx: worker process is shutting down' || true")), (n) => n === 0, 30_000);
    clearInterval(trickle);
    slow.destroy();
    console.log(`# ${shutting} old worker(s) kept by a slow upload across 3 reloads; gone ${Date.now() - reloadedAt} ms after the last (worker_shutdown_timeout 10s); the upload's connection closed ${closedAt ? closedAt - reloadedAt : 'never'} ms after`);
    await Promise.all(['web1', 'web2'].map((node) => onNode(node, 'docker rm -f $(docker ps -aq --filter name=r7-) >/dev/null')));
    await waitFor('back to 2 instances', () => upstream('demo'), (u) => u.length === 2, 30_000);
  });
});
