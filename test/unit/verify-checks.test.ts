import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { batchScript, parseBatch } from '../../src/facts/batch.js';
import { commandOutputFact } from '../../src/facts/command-output.js';
import { exitCodeFact } from '../../src/facts/guard-facts.js';
import type { Fact } from '../../src/facts/types.js';
import { haproxyServersCheck, lbConfigCheck, memberChecks, registeredCheck, serviceCheck, upstreamCheck } from '../../src/verify/checks.js';
import { floatingAddressCheck, raftCheck } from '../../src/verify/cluster.js';
import { haproxySpread, nginxSpread, spreadCheck } from '../../src/verify/traffic.js';

/** One `sh -s` fed the batch script, as a host session sends it. */
function gather(facts: Fact<unknown>[]): Map<string, unknown> {
  const script = batchScript(facts);
  const run = spawnSync('sh', ['-s'], { input: script, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return parseBatch(run.stdout, facts, script);
}

test('a command as a fact: its stdout byte for byte, its stderr and exit code, stdin piped in, one after the other in one batch', () => {
  const noisy = commandOutputFact(['sh', '-c', 'printf "one\\ntwo"; echo "it failed" >&2; exit 3']);
  const fed = commandOutputFact(['cat'], 'show stat demo 4 -1\n');
  const forged = commandOutputFact(['sh', '-c', 'echo "BOOTSTRAP-OUTPUT-0 0"; echo "BOOTSTRAP-OUTPUT-0 0" >&2']);
  const missing = commandOutputFact(['bootstrap-no-such-command']);
  const quoted = commandOutputFact(['echo', "it's $HOME"]);
  const values = gather([noisy, fed, forged, missing, quoted, exitCodeFact(['false']), exitCodeFact(['true'])]);
  assert.deepEqual(values.get(noisy.key), { code: 3, stdout: 'one\ntwo', stderr: 'it failed' });
  assert.deepEqual(values.get(fed.key), { code: 0, stdout: 'show stat demo 4 -1\n', stderr: '' });
  assert.deepEqual(values.get(forged.key), { code: 0, stdout: 'BOOTSTRAP-OUTPUT-0 0\n', stderr: 'BOOTSTRAP-OUTPUT-0 0' });
  assert.equal((values.get(missing.key) as { code: number }).code, 127);
  assert.match((values.get(missing.key) as { stderr: string }).stderr, /bootstrap-no-such-command/);
  assert.deepEqual(values.get(quoted.key), { code: 0, stdout: "it's $HOME\n", stderr: '' });
  assert.equal(values.get('exit-code::false'), 1, 'the other facts of the batch are answered as before');
  assert.equal(commandOutputFact(['cat'], 'a').key === commandOutputFact(['cat'], 'b').key, false, 'stdin is part of the question');
});

const ok = (stdout: string) => ({ code: 0, stdout, stderr: '' });
const failed = (code: number, stderr: string) => ({ code, stdout: '', stderr });

test('service, member and LB configuration checks are pure functions of what the host printed', () => {
  assert.deepEqual(serviceCheck('lb1', 'consul', ok('active\n')), { check: 'service consul', host: 'lb1', ok: true, detail: 'active' });
  assert.deepEqual(serviceCheck('lb1', 'nginx', failed(3, 'nginx: unrecognized service\n')), { check: 'service nginx', host: 'lb1', ok: false, detail: 'nginx: unrecognized service' });
  assert.deepEqual(serviceCheck('lb1', 'nginx', failed(3, '')), { check: 'service nginx', host: 'lb1', ok: false, detail: 'exit 3' });
  const members = `Node  Address         Status  Type    Build   Protocol  DC\nlb1   10.0.0.2:8301   alive   server  1.16.6  2         dc1\nweb1  10.0.0.3:8301   failed  client  1.16.6  2         dc1\n`;
  assert.deepEqual(memberChecks('lb1', ok(members), ['lb1', 'web1', 'web2']).map((c) => [c.host, c.ok, c.detail]), [
    ['lb1', true, 'alive (server, 10.0.0.2:8301)'],
    ['web1', false, 'failed (client, 10.0.0.3:8301)'],
    ['web2', false, 'not a member of the cluster'],
  ]);
  assert.deepEqual(memberChecks('lb1', failed(1, 'Error: 403\n'), ['lb1']), [{ check: 'consul members', host: 'lb1', ok: false, detail: 'consul members exited 1: Error: 403' }]);
  assert.deepEqual(lbConfigCheck('lb1', false, failed(1, 'a\nb\nc\nnginx: configuration file /etc/nginx/nginx.conf test failed\n')).detail, 'b\nc\nnginx: configuration file /etc/nginx/nginx.conf test failed');
  assert.deepEqual(lbConfigCheck('lb1', true, ok('')), { check: 'haproxy -c', host: 'lb1', ok: true, detail: 'configuration valid' });
});

const app = { name: 'demo', server_name: ['demo.test'], balance: 'round_robin' };
const health = JSON.stringify([
  { Node: { Node: 'web1', Address: '10.0.0.3' }, Service: { ID: 'web1:demo-1:80', Address: '10.0.0.3', Port: 8081 } },
  { Node: { Node: 'web2', Address: '10.0.0.4' }, Service: { ID: 'web2:demo-1:80', Address: '10.0.0.4', Port: 8081 } },
]);

test('what consul has, what the LB balances over, and the two compared', () => {
  const { result, instances } = registeredCheck(app, ok(health));
  assert.deepEqual(instances, ['10.0.0.3:8081', '10.0.0.4:8081']);
  assert.equal(result.detail, '2 healthy: 10.0.0.3:8081 from web1/demo-1 (registrator), 10.0.0.4:8081 from web2/demo-1 (registrator)');
  assert.deepEqual(registeredCheck(app, failed(7, 'curl: (7) Failed to connect\n')), { result: { check: 'registered in consul', app: 'demo', ok: false, detail: 'curl exited 7: curl: (7) Failed to connect' }, instances: [] });
  const conf = 'upstream demo {\n    server 10.0.0.3:8081;\n    server 10.0.0.4:8081;\n}\n';
  assert.deepEqual(upstreamCheck('lb1', app, ok(conf), instances), { check: 'nginx upstream', host: 'lb1', app: 'demo', ok: true, detail: 'lists exactly 10.0.0.3:8081, 10.0.0.4:8081' });
  assert.equal(upstreamCheck('lb1', app, ok(conf), ['10.0.0.3:8081']).detail, 'lists 10.0.0.3:8081, 10.0.0.4:8081, consul has 10.0.0.3:8081');
  assert.equal(upstreamCheck('lb1', app, ok('upstream demo {\n    server 127.0.0.1:65535 down;\n}\n'), []).ok, true);
  assert.equal(upstreamCheck('lb1', app, failed(1, 'cat: /etc/nginx/conf.d/demo.conf: No such file or directory\n'), []).detail, '/etc/nginx/conf.d/demo.conf not rendered: cat: /etc/nginx/conf.d/demo.conf: No such file or directory');
  const state = `1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_port\n3 demo 1 demo-1 10.0.0.3 2 64 8081\n3 demo 2 demo-2 10.0.0.4 0 64 8081\n`;
  assert.deepEqual(haproxyServersCheck('lb1', app, ok(state), instances), { check: 'haproxy servers', host: 'lb1', app: 'demo', ok: false, detail: 'up: 10.0.0.3:8081, consul has 10.0.0.3:8081, 10.0.0.4:8081' });
  assert.equal(haproxyServersCheck('lb1', app, failed(1, 'E connect(...): No such file or directory\n'), instances).detail, 'runtime API: socat exited 1: E connect(...): No such file or directory');
});

test('the spread over backends, from the access log (nginx) or the growth of the session counters (haproxy)', () => {
  const instances = ['10.0.0.3:8081', '10.0.0.4:8081'];
  const log = ['"m1" upstream=10.0.0.3:8081 upstream_status=200', '"other" upstream=10.0.0.9:80 upstream_status=200', '"m1" upstream=10.0.0.4:8081 upstream_status=200'].join('\n');
  const served = nginxSpread.served(app, 'm1', undefined, ok(log));
  assert.deepEqual(spreadCheck('lb1', app, instances, served), { check: 'spread over backends', host: 'lb1', app: 'demo', ok: true, detail: '2 requests served by 10.0.0.3:8081, 10.0.0.4:8081' });
  assert.deepEqual(nginxSpread.served(app, 'm2', undefined, failed(1, 'tail: cannot open\n')), { error: 'none of the requests found in the access log: tail: cannot open' });
  const stat = (a: number, b: number) => ok(`# pxname,svname,stot,addr\ndemo,demo-1,${a},10.0.0.3:8081\ndemo,demo-2,${b},10.0.0.4:8081\ndemo,BACKEND,${a + b},\n`);
  const grown = haproxySpread.served(app, 'm', stat(5, 7), stat(6, 7));
  assert.deepEqual(grown, { perRequest: [['10.0.0.3:8081']] });
  assert.equal(spreadCheck('lb1', app, instances, grown).detail, '1 requests served by 10.0.0.3:8081; never 10.0.0.4:8081');
  assert.equal(spreadCheck('lb1', { ...app, balance: 'ip_hash' }, instances, grown).ok, true, 'ip_hash: one client, one backend');
  assert.deepEqual(haproxySpread.served(app, 'm', undefined, stat(0, 0)), { error: 'no server session counter grew during the requests' });
  assert.deepEqual(spreadCheck('lb1', app, instances, { error: 'x' }), { check: 'spread over backends', host: 'lb1', app: 'demo', ok: false, detail: 'x' });
});

test('raft and the floating address', () => {
  const raft = JSON.stringify({ Servers: [{ Node: 'lb1', Address: 'a', Leader: true, Voter: true }, { Node: 'lb9', Address: 'b', Leader: false, Voter: true }] });
  assert.deepEqual(raftCheck('lb1', ok(raft), ['lb1', 'lb2']), { check: 'consul raft', host: 'lb1', ok: false, detail: '2 voters (lb1, lb9), leader lb1; not voting: lb2; not in the inventory: lb9' });
  assert.equal(raftCheck('lb1', failed(22, ''), ['lb1']).detail, 'no raft configuration (no leader?): curl exit 22');
  const ip = (address: string) => ok(`2: eth0    inet ${address}/24 brd 10.0.0.255 scope global eth0\n`);
  assert.deepEqual(floatingAddressCheck('10.0.0.5', [{ lb: 'lb1', r: ip('10.0.0.5') }, { lb: 'lb2', r: ip('10.0.0.6') }, { lb: 'lb3', r: undefined }]), {
    check: 'floating address',
    ok: true,
    detail: '10.0.0.5 held by lb1; not known on lb3',
  });
  assert.equal(floatingAddressCheck('10.0.0.5', [{ lb: 'lb1', r: ip('10.0.0.5') }, { lb: 'lb2', r: ip('10.0.0.5') }]).detail, '10.0.0.5 held by lb1, lb2 (more than one holder: VRRP adverts do not get through)');
});
