import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isActiveOutput, parseConsulMembers, parseHealthInstances, parseInstanceOrigins, parseServerSessions, parseServersState, parseUpstreamAddrs, parseUpstreamServers, pushedSlots, upServers } from '../../src/verify/parse.js';
import { allPassed, formatCheckTable } from '../../src/verify/table.js';
import { parsePublishedPorts } from '../../src/facts/docker.js';
import type { Host } from '../../src/inventory/types.js';
import { publishedPortsResult } from '../../src/verify/published-ports.js';

test('consul members table', () => {
  const out = `Node  Address          Status  Type    Build   Protocol  DC   Partition  Segment
lb1   10.10.0.2:8301   alive   server  1.16.6  2         dc1  default    <all>
web1  10.10.0.3:8301   failed  client  1.16.6  2         dc1  default    <default>
`;
  assert.deepEqual(parseConsulMembers(out), [
    { node: 'lb1', address: '10.10.0.2:8301', status: 'alive', type: 'server' },
    { node: 'web1', address: '10.10.0.3:8301', status: 'failed', type: 'client' },
  ]);
  assert.deepEqual(parseConsulMembers('Error retrieving members: Unexpected response code: 403'), []);
});

test('health answer: the service address, else the node address', () => {
  const json = JSON.stringify([
    { Node: { Address: '10.0.0.3' }, Service: { Address: '', Port: 32768 } },
    { Node: { Address: '10.0.0.4' }, Service: { Address: '10.0.0.9', Port: 80 } },
  ]);
  assert.deepEqual(parseHealthInstances(json), ['10.0.0.3:32768', '10.0.0.9:80']);
});

test('instance origins: the node and, for registrator IDs, the container', () => {
  const json = JSON.stringify([
    { Node: { Node: 'web2', Address: '10.0.0.4' }, Service: { ID: 'web2:shop-1:80', Address: '10.0.0.4', Port: 32768 } },
    { Node: { Node: 'web1', Address: '10.0.0.3' }, Service: { ID: 'web1:dns:53:udp', Address: '10.0.0.3', Port: 53 } },
    { Node: { Node: 'web1', Address: '10.0.0.3' }, Service: { ID: 'shop-web1', Address: '', Port: 8080 } },
  ]);
  assert.deepEqual(parseInstanceOrigins(json), [
    '10.0.0.3:53 from web1/dns (registrator)',
    '10.0.0.3:8080 from web1 (service shop-web1)',
    '10.0.0.4:32768 from web2/shop-1 (registrator)',
  ]);
});

test('upstream servers and the placeholder', () => {
  const conf = `upstream my-app {\n    ip_hash;\n    server 10.0.0.3:32768 max_fails=1 fail_timeout=0;\n    server 10.0.0.4:32770 max_fails=1 fail_timeout=0;\n    keepalive 64;\n}\nserver { listen 80; }\n`;
  assert.deepEqual(parseUpstreamServers(conf, 'my-app'), { servers: ['10.0.0.3:32768', '10.0.0.4:32770'], placeholder: false, found: true });
  const empty = `upstream my-app {\n    # none\n    server 127.0.0.1:65535 down;\n}\n`;
  assert.deepEqual(parseUpstreamServers(empty, 'my-app'), { servers: [], placeholder: true, found: true });
  assert.equal(parseUpstreamServers(conf, 'other').found, false);
});

test('access log lines carrying the marker give the backends, retries included', () => {
  const log = [
    '1.2.3.4 - - [x] "GET / HTTP/1.1" 200 5 "-" "bootstrap-verify/abc" host=a.test upstream=10.0.0.3:80 upstream_status=200 request_time=0.001',
    '1.2.3.4 - - [x] "GET / HTTP/1.1" 200 5 "-" "curl" host=a.test upstream=10.0.0.9:80 upstream_status=200 request_time=0.001',
    '1.2.3.4 - - [x] "GET / HTTP/1.1" 200 5 "-" "bootstrap-verify/abc" host=a.test upstream=10.0.0.4:80, 10.0.0.3:80 upstream_status=502, 200 request_time=0.002',
  ].join('\n');
  assert.deepEqual(parseUpstreamAddrs(log, 'bootstrap-verify/abc'), [['10.0.0.3:80'], ['10.0.0.4:80', '10.0.0.3:80']]);
});

test('service states of systemd, Upstart and SysV', () => {
  assert.equal(isActiveOutput('active\n'), true);
  assert.equal(isActiveOutput('inactive\n'), false);
  assert.equal(isActiveOutput('activating\n'), false);
  assert.equal(isActiveOutput('consul start/running, process 812\n'), true);
  assert.equal(isActiveOutput('consul stop/waiting\n'), false);
  assert.equal(isActiveOutput(' * nginx is running\n'), true);
});

test('the table names every check and says what failed', () => {
  const table = formatCheckTable([
    { check: 'service consul', host: 'lb1', ok: true, detail: 'active' },
    { check: 'nginx upstream', host: 'lb1', app: 'shop', ok: false, detail: 'lists 10.0.0.3:80, consul has 10.0.0.3:80, 10.0.0.4:80' },
  ]);
  const lines = table.split('\n');
  assert.match(lines[1], /^ok\s+service consul\s+lb1\s+active$/);
  assert.match(lines[2], /^FAIL\s+nginx upstream\s+lb1\s+shop\s+lists/);
  assert.match(table, /1 of 2 checks failed/);
  assert.equal(allPassed([{ check: 'x', ok: true, detail: '' }]), true);
  assert.equal(allPassed([]), false);
});

test('raft configuration and addresses for the cluster checks', async () => {
  const { parseRaftConfiguration, parseIpAddresses } = await import('../../src/verify/parse.js');
  const json = JSON.stringify({
    Servers: [
      { ID: 'a', Node: 'lb1', Address: '10.0.0.1:8300', Leader: false, Voter: true, ProtocolVersion: '3' },
      { ID: 'b', Node: 'lb2', Address: '10.0.0.2:8300', Leader: true, Voter: true, ProtocolVersion: '3' },
      { ID: 'c', Node: 'lb4', Address: '10.0.0.4:8300', Leader: false, Voter: false, ProtocolVersion: '3' },
    ],
    Index: 42,
  });
  assert.deepEqual(parseRaftConfiguration(json), [
    { node: 'lb1', address: '10.0.0.1:8300', leader: false, voter: true },
    { node: 'lb2', address: '10.0.0.2:8300', leader: true, voter: true },
    { node: 'lb4', address: '10.0.0.4:8300', leader: false, voter: false },
  ]);
  assert.throws(() => parseRaftConfiguration('"No cluster leader"'), /expected \{"Servers"/);
  const ip = `1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: eth0    inet 172.30.10.11/24 brd 172.30.10.255 scope global eth0\\       valid_lft forever preferred_lft forever
2: eth0    inet 172.30.10.250/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever`;
  assert.deepEqual(parseIpAddresses(ip), ['127.0.0.1', '172.30.10.11', '172.30.10.250']);
});

// what haproxy 2.6 answers on its runtime API for a server-template backend (three slots, one filled by DNS)
const SERVERS_STATE = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 demo 1 demo-1 172.30.20.51 2 64 1 1 12 6 3 4 6 0 0 0 ac1e1433.addr.dc1.consul 8081 _demo._tcp.service.consul 0 0 - - 0
3 demo 2 demo-2 172.30.20.52 0 64 1 1 3 8 2 0 6 0 0 0 ac1e1434.addr.dc1.consul 8081 _demo._tcp.service.consul 0 0 - - 0
3 demo 3 demo-3 - 0 32 1 1 1 1 0 0 14 0 0 0 - 0 _demo._tcp.service.consul 0 0 - - 0
4 other 1 other-1 172.30.20.51 2 0 1 1 12 6 3 4 6 0 0 0 ac1e1433.addr.dc1.consul 8082 _other._tcp.service.consul 0 0 - - 0

`;

test('haproxy servers state: slots, their addresses and which are up', () => {
  const servers = parseServersState(SERVERS_STATE, 'demo');
  assert.deepEqual(servers, [
    { name: 'demo-1', addr: '172.30.20.51:8081', opState: 2, adminState: 64 },
    { name: 'demo-2', addr: '172.30.20.52:8081', opState: 0, adminState: 64 },
    { name: 'demo-3', addr: undefined, opState: 0, adminState: 32 },
  ]);
  assert.deepEqual(upServers(servers), ['172.30.20.51:8081']);
  assert.deepEqual(upServers([{ name: 'x', addr: '10.0.0.1:80', opState: 2, adminState: 64 | 0x01 }]), [], 'forced into maintenance');
  // a slot configured `disabled` and then set ready keeps 0x04, and serves
  assert.deepEqual(upServers([{ name: 'x', addr: '10.0.0.1:80', opState: 2, adminState: 0x04 }]), ['10.0.0.1:80']);
  const slots = ['demo-1', 'demo-12', 'demo-dns-1', 'demo-x-1', 'demox-1'].map((name) => ({ name, opState: 2, adminState: 0 }));
  assert.deepEqual(pushedSlots(slots, 'demo').map((s) => s.name), ['demo-1', 'demo-12']);
  assert.throws(() => parseServersState('Unknown command.\n', 'demo'), /not a format-1/);
});

test('haproxy show stat: sessions per server address of one backend', () => {
  const csv = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,addr
demo,FRONTEND,0,0,0,0,,40,0,
demo,demo-1,0,0,0,0,,12,0,172.30.20.51:8081
demo,demo-2,0,0,0,0,,9,0,172.30.20.52:8081
demo,demo-3,0,0,0,0,,0,0,
demo,BACKEND,0,0,0,0,,21,0,
other,other-1,0,0,0,0,,5,0,172.30.20.51:8082
`;
  assert.deepEqual([...parseServerSessions(csv, 'demo')], [['172.30.20.51:8081', 12], ['172.30.20.52:8081', 9]]);
});

test('published ports: parsed from docker inspect, and a binding on every address or the public one names its container', () => {
  // as docker inspect prints them: a port bound to the private address, one to every address, an unpublished one
  const inspect = JSON.stringify([
    { Name: '/demo-1', NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '10.10.0.3', HostPort: '8081' }] } } },
    { Name: '/shop-1', NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }], '9000/tcp': null } } },
  ]);
  const ports = parsePublishedPorts(inspect)!;
  assert.deepEqual(ports, [
    { container: 'demo-1', containerPort: '80/tcp', hostIp: '10.10.0.3', hostPort: '8081' },
    { container: 'shop-1', containerPort: '80/tcp', hostIp: '0.0.0.0', hostPort: '8080' },
    { container: 'shop-1', containerPort: '80/tcp', hostIp: '::', hostPort: '8080' },
  ]);
  assert.equal(parsePublishedPorts('no-docker'), null);
  assert.deepEqual(parsePublishedPorts(''), []);
  const web1 = { name: 'web1', address: '203.0.113.11', privateAddress: '10.10.0.3', groups: ['all', 'web'], vars: {}, pos: { file: 'i.yml', line: 1, col: 1 } } as unknown as Host;
  const bad = publishedPortsResult(web1, ports);
  assert.equal(bad.ok, false);
  assert.equal(bad.detail, 'answer on the public address 203.0.113.11: shop-1 publishes 80/tcp on 0.0.0.0:8080; shop-1 publishes 80/tcp on :::8080');
  const good = publishedPortsResult(web1, ports.slice(0, 1));
  assert.deepEqual(good, { check: 'published ports', host: 'web1', ok: true, detail: '1 published, none on 203.0.113.11 (on 10.10.0.3)' });
  assert.equal(publishedPortsResult(web1, [{ container: 'x', containerPort: '80/tcp', hostIp: '203.0.113.11', hostPort: '80' }]).ok, false);
  assert.equal(publishedPortsResult(web1, null).detail, 'docker is not installed');
});
