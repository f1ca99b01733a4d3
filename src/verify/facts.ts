import { sh } from '../argv.js';
import { commandOutputFact } from '../facts/command-output.js';

/** Files the playbooks lay down on lb hosts (playbooks/lb.yml). */
export const MANAGEMENT_TOKEN_FILE = '/etc/consul/management.token';
export const MANAGEMENT_HEADER_FILE = '/etc/consul/management.header';
export const CONSUL_HTTP = 'http://127.0.0.1:8500';

export const appConfFile = (app: string) => `/etc/nginx/conf.d/${app}.conf`;
/** playbooks/lb-haproxy.yml */
export const HAPROXY_CONFIG = '/etc/haproxy/haproxy.cfg';
export const HAPROXY_SOCKET = '/run/haproxy/admin.sock';
export const appAccessLog = (app: string) => `/var/log/nginx/${app}.access.log`;

/**
 * What verify reads on a host: each the output and exit code of one command, as facts of the
 * host's batch (verify gathers them with root's rights, through `sudo -n` unless the login user
 * is root). The checks (checks.ts, cluster.ts, traffic.ts) are pure functions of these values.
 */

// the token file path goes in the environment, the token itself never leaves the host
export const consulMembersFact = () => commandOutputFact(['env', `CONSUL_HTTP_TOKEN_FILE=${MANAGEMENT_TOKEN_FILE}`, '/usr/local/bin/consul', 'members', `-http-addr=${CONSUL_HTTP}`]);

/** active/inactive on systemd hosts, Upstart's status line on Upstart hosts */
export const serviceStatusFact = (service: string) =>
  commandOutputFact([...sh('if [ -d /run/systemd/system ]; then systemctl is-active "$1"; else status "$1" 2>/dev/null || service "$1" status 2>&1; fi'), 'sh', service]);

export const healthyInstancesFact = (app: string) => commandOutputFact(['curl', '-fsS', '-H', `@${MANAGEMENT_HEADER_FILE}`, `${CONSUL_HTTP}/v1/health/service/${app}?passing=1`]);

export const raftConfigurationFact = () => commandOutputFact(['curl', '-fsS', '--max-time', '5', '-H', `@${MANAGEMENT_HEADER_FILE}`, `${CONSUL_HTTP}/v1/operator/raft/configuration`]);

export const ipv4AddressesFact = () => commandOutputFact(['ip', '-o', '-4', 'addr', 'show']);

export const appConfFact = (app: string) => commandOutputFact(['cat', appConfFile(app)]);

export const nginxTestFact = () => commandOutputFact(['nginx', '-t']);

export const haproxyCheckFact = () => commandOutputFact(['haproxy', '-c', '-q', '-f', HAPROXY_CONFIG]);

/** One command of haproxy's runtime API (e.g. "show servers state demo"), over its local socket. */
export const haproxyRuntimeFact = (command: string) => commandOutputFact(['socat', '-t', '5', 'stdio', `unix-connect:${HAPROXY_SOCKET}`], `${command}\n`);

export const accessLogTailFact = (app: string, lines: number) => commandOutputFact(['tail', '-n', String(lines), appAccessLog(app)]);
