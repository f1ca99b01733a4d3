import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runLocal } from '../../src/artifacts/exec-local.js';
import { docker, ensureDockerEngine } from '../../src/lab/docker-engine.js';
import { labStatus, labUp, stopLab, type LabUp } from '../../src/lab/nodes.js';
import { PRIVATE_NETWORK, PUBLIC_NETWORK } from '../../src/lab/state.js';
import { batchScript, parseBatch } from '../../src/facts/batch.js';
import { systemdUnitFact } from '../../src/facts/service.js';
import { connectSsh } from '../../src/transport/ssh.js';
import { perUnitFact } from '../helpers/per-path-facts.js';

/**
 * Units in every state the batched systemd facts tell apart, made on a node: disabled, masked,
 * static and failed, a SysV script's generated unit, plus what the image has: an alias (sshd for
 * ssh), a template instance, the root mount whose name starts with a dash, a socket, a missing unit.
 */
const ODD_UNITS_SETUP = `set -e
d=/etc/systemd/system
printf '[Service]\\nExecStart=/bin/true\\n[Install]\\nWantedBy=multi-user.target\\n' > $d/bootstrap-off.service
cp $d/bootstrap-off.service /lib/systemd/system/bootstrap-masked.service
printf '[Service]\\nType=oneshot\\nExecStart=/bin/false\\n' > $d/bootstrap-fails.service
printf '#!/bin/sh\\n### BEGIN INIT INFO\\n# Provides: bootstrap-sysv\\n# Default-Start: 2 3 4 5\\n# Default-Stop: 0 1 6\\n### END INIT INFO\\nexit 0\\n' > /etc/init.d/bootstrap-sysv
chmod +x /etc/init.d/bootstrap-sysv
systemctl daemon-reload
systemctl mask bootstrap-masked.service
systemctl start bootstrap-fails.service || true
echo '# changed on disk since systemd loaded it (a failed unit stays loaded)' >> $d/bootstrap-fails.service`;
const ODD_UNITS_CLEANUP = `systemctl reset-failed bootstrap-fails.service || true
systemctl unmask bootstrap-masked.service || true
rm -f /etc/systemd/system/bootstrap-off.service /lib/systemd/system/bootstrap-masked.service /etc/systemd/system/bootstrap-fails.service /etc/init.d/bootstrap-sysv /run/bootstrap-systemctl-calls
systemctl daemon-reload`;
const ODD_UNITS = [
  'ssh.service', 'sshd.service', 'bootstrap-off.service', 'bootstrap-masked.service', 'bootstrap-fails.service',
  'bootstrap-sysv.service', 'getty@tty1.service', '-.mount', 'systemd-journald.socket', 'no-such-unit.service',
];

/** Strict host key checking against the lab's known_hosts: an unknown or changed key fails. */
function sshArgs(lab: LabUp, address: string, command: string[]): string[] {
  return [
    '/usr/bin/ssh', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${lab.knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=10', '-i', lab.clientKey, `root@${address}`, ...command,
  ];
}

describe('lab nodes (docker containers booting systemd with sshd)', { timeout: 1_800_000 }, () => {
  let lab: LabUp;

  before(async () => {
    const started = Date.now();
    lab = await labUp({ lb: 1, web: 1 });
    console.log(`# lab up (1 lb + 1 web) took ${Date.now() - started} ms`);
  });

  after(async () => {
    await stopLab();
  });

  it('starts lb1 and web1 with a public and a private address each', () => {
    assert.deepEqual(lab.nodes.map((n) => [n.name, n.role]), [['lb1', 'lb'], ['web1', 'web']]);
    for (const node of lab.nodes) {
      assert.ok(node.address.startsWith(PUBLIC_NETWORK.prefix), node.address);
      assert.ok(node.privateAddress.startsWith(PRIVATE_NETWORK.prefix), node.privateAddress);
    }
  });

  it('assigns both addresses inside each node', async () => {
    for (const node of lab.nodes) {
      const addresses = (await docker(['exec', node.container, 'ip', '-4', '-o', 'addr', 'show'])).stdout;
      assert.match(addresses, new RegExp(`inet ${node.address.replace(/\./g, '\\.')}/24`));
      assert.match(addresses, new RegExp(`inet ${node.privateAddress.replace(/\./g, '\\.')}/24`));
    }
  });

  it('boots systemd to running inside each node', async () => {
    for (const node of lab.nodes) {
      const result = await docker(['exec', node.container, 'systemctl', 'is-system-running'], { check: false });
      assert.equal(result.stdout.trim(), 'running', `${node.name}: ${result.stdout}${result.stderr}`);
      assert.equal((await docker(['exec', node.container, 'cat', '/proc/1/comm'])).stdout.trim(), 'systemd');
    }
  });

  it('lets the lab key in over SSH with strict host key checking on both addresses', async () => {
    const knownHosts = readFileSync(lab.knownHosts, 'utf8');
    for (const node of lab.nodes) {
      for (const address of [node.address, node.privateAddress]) {
        assert.match(knownHosts, new RegExp(`^${address.replace(/\./g, '\\.')} ssh-ed25519 `, 'm'));
        const result = await runLocal(sshArgs(lab, address, ['hostname']));
        assert.equal(result.stdout.trim(), node.name);
      }
    }
  });

  it('refuses a node whose host key is not the pinned one', async () => {
    const [lb, web] = lab.nodes;
    // web1's address pinned with lb1's key: ssh must refuse, proving the check is real
    const wrong = `${lab.knownHosts}.wrong`;
    const lbKey = readFileSync(lab.knownHosts, 'utf8').split('\n').find((line) => line.startsWith(`${lb!.address} `))!.split(' ').slice(1).join(' ');
    await import('node:fs').then((fs) => fs.writeFileSync(wrong, `${web!.address} ${lbKey}\n`));
    const result = await runLocal(sshArgs({ ...lab, knownHosts: wrong }, web!.address, ['true']), { check: false });
    assert.equal(result.code, 255);
    assert.match(result.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it('runs apt-get update inside a node through the apt proxy (nodes have no other way out)', async () => {
    const [node] = lab.nodes;
    const result = await runLocal(
      sshArgs(lab, node!.address, ['apt-get', '-o', `Acquire::http::Proxy=${lab.aptProxy}`, '-o', 'Acquire::Retries=2', 'update']),
      { timeoutMs: 300_000 },
    );
    assert.match(result.stdout, /bookworm\S* InRelease|Reading package lists/);
    const lists = (await docker(['exec', node!.container, 'sh', '-c', 'ls /var/lib/apt/lists | grep -c _Packages$'])).stdout.trim();
    assert.ok(Number(lists) >= 1, `no Packages lists downloaded: ${lists}`);
  });

  it('systemd unit facts: one systemctl show returns what is-enabled / is-active / show NeedDaemonReload asked per unit return', async () => {
    const [node] = lab.nodes;
    await docker(['exec', node!.container, 'sh', '-c', ODD_UNITS_SETUP]);
    const transport = await connectSsh({
      name: node!.name, address: node!.address, port: 22, user: 'root', key: lab.clientKey,
      knownHosts: [lab.knownHosts], acceptNewHostKeys: false, sshConfig: '/nonexistent/ssh_config',
    });
    try {
      const shell = async (script: string) => {
        const res = await transport.exec({ argv: ['sh', '-s'], stdin: script });
        assert.equal(res.code, 0, res.stderr);
        return res.stdout;
      };
      const facts = ODD_UNITS.map((u) => systemdUnitFact(u));
      // every systemctl call of the batch is logged, to see that it took the show path
      const script = `systemctl() { printf '%s\\n' "$1" >> /run/bootstrap-systemctl-calls; command systemctl "$@"; }\n${batchScript(facts)}`;
      const batched = parseBatch(await shell(script), facts, script);
      const calls = (await docker(['exec', node!.container, 'cat', '/run/bootstrap-systemctl-calls'])).stdout.trim().split('\n');
      assert.equal(calls[0], 'show', calls.join(' '));
      assert.equal(calls.filter((c) => c === 'show').length, 1, calls.join(' '));
      assert.ok(calls.every((c) => c === 'show' || c === 'is-enabled') && calls.length < ODD_UNITS.length, `show plus a few is-enabled: ${calls.join(' ')}`);
      for (const unit of ODD_UNITS) {
        const each = perUnitFact(unit);
        const eachScript = batchScript([each]);
        assert.deepEqual(batched.get(systemdUnitFact(unit).key), parseBatch(await shell(eachScript), [each], eachScript).get(each.key), unit);
      }
      const states = Object.fromEntries(ODD_UNITS.map((u) => [u, batched.get(systemdUnitFact(u).key)]));
      assert.deepEqual(
        [states['bootstrap-off.service'], states['bootstrap-masked.service'], states['bootstrap-fails.service'], states['bootstrap-sysv.service'], states['no-such-unit.service']],
        [
          { unit: 'bootstrap-off.service', enabled: 'disabled', active: 'inactive', needsReload: false },
          { unit: 'bootstrap-masked.service', enabled: 'masked', active: 'inactive', needsReload: false },
          { unit: 'bootstrap-fails.service', enabled: 'static', active: 'failed', needsReload: true },
          // systemctl show says UnitFileState=generated; is-enabled asks the script's rc.d links (none)
          { unit: 'bootstrap-sysv.service', enabled: 'disabled', active: 'inactive', needsReload: false },
          { unit: 'no-such-unit.service', enabled: 'not-found', active: 'inactive', needsReload: false },
        ],
        'the cases are the ones meant',
      );
    } finally {
      await transport.close();
      await docker(['exec', node!.container, 'sh', '-c', ODD_UNITS_CLEANUP], { check: false });
    }
  });

  it('is idempotent: a second up keeps the running containers', async () => {
    const before = (await docker(['inspect', '--format', '{{.Id}}', ...lab.nodes.map((n) => n.container)])).stdout;
    const started = Date.now();
    const again = await labUp({ lb: 1, web: 1 });
    console.log(`# warm lab up took ${Date.now() - started} ms`);
    assert.deepEqual(again.nodes, lab.nodes);
    assert.equal((await docker(['inspect', '--format', '{{.Id}}', ...lab.nodes.map((n) => n.container)])).stdout, before);
    const status = await labStatus();
    assert.deepEqual(status.map((n) => [n.name, n.state, n.system]), [['lb1', 'running', 'running'], ['web1', 'running', 'running']]);
  });

  it('down removes every lab container and both networks', async () => {
    await stopLab();
    await ensureDockerEngine(); // down also stops an engine the lab started: look with one running
    assert.deepEqual(await labStatus(), []);
    for (const network of [PUBLIC_NETWORK.name, PRIVATE_NETWORK.name]) {
      assert.notEqual((await docker(['network', 'inspect', network], { check: false })).code, 0, `${network} still exists`);
    }
    const leftovers = (await docker(['ps', '-aq', '--filter', 'name=bootstrap-lab-'])).stdout.trim();
    assert.equal(leftovers, '');
  });
});
