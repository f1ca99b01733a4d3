import { sh, type ArgvCommand } from '../argv.js';
import type { Fact } from '../facts/types.js';
import type { HostSession } from '../host/session.js';

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
 * Runs argv on a host with root's rights, as a `become` task does: through `sudo -n` unless the
 * login user is root (the host's gathered `isRoot` fact, so a user from ~/.ssh/config counts
 * too). Never throws for a non-zero exit.
 */
export class RemoteHost {
  constructor(
    readonly name: string,
    private readonly session: HostSession,
  ) {}

  run(argv: readonly string[], extra: Omit<ArgvCommand, 'argv'> = {}) {
    return this.session.exec({ argv, ...extra }, true);
  }

  /** A fact of the host, gathered with root's rights through the run's fact batches. */
  async fact<T>(fact: Fact<T>): Promise<T> {
    await this.session.gather([fact], true);
    return this.session.cache.get(fact.key) as T;
  }

  consulMembers() {
    // the token file path goes in the environment, the token itself never leaves the host
    return this.run(['env', `CONSUL_HTTP_TOKEN_FILE=${MANAGEMENT_TOKEN_FILE}`, '/usr/local/bin/consul', 'members', `-http-addr=${CONSUL_HTTP}`]);
  }

  /** active/inactive on systemd hosts, Upstart's status line on Upstart hosts */
  serviceStatus(service: string) {
    const script = 'if [ -d /run/systemd/system ]; then systemctl is-active "$1"; else status "$1" 2>/dev/null || service "$1" status 2>&1; fi';
    return this.run([...sh(script), 'sh', service]);
  }

  healthyInstances(app: string) {
    return this.run(['curl', '-fsS', '-H', `@${MANAGEMENT_HEADER_FILE}`, `${CONSUL_HTTP}/v1/health/service/${app}?passing=1`]);
  }

  raftConfiguration() {
    return this.run(['curl', '-fsS', '--max-time', '5', '-H', `@${MANAGEMENT_HEADER_FILE}`, `${CONSUL_HTTP}/v1/operator/raft/configuration`]);
  }

  ipv4Addresses() {
    return this.run(['ip', '-o', '-4', 'addr', 'show']);
  }

  readFile(path: string) {
    return this.run(['cat', path]);
  }

  nginxTest() {
    return this.run(['nginx', '-t']);
  }

  haproxyCheck() {
    return this.run(['haproxy', '-c', '-q', '-f', HAPROXY_CONFIG]);
  }

  /** One command of haproxy's runtime API (e.g. "show servers state demo"), over its local socket. */
  haproxyRuntime(command: string) {
    return this.run(['socat', '-t', '5', 'stdio', `unix-connect:${HAPROXY_SOCKET}`], { stdin: `${command}\n` });
  }

  accessLogTail(app: string, lines: number) {
    return this.run(['tail', '-n', String(lines), appAccessLog(app)]);
  }
}
