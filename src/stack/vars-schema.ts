import type { Field, Schema } from '../schema/types.js';

/*
 * Inventory variables of the LB + web stack. Every value that ends up in an nginx, HCL or unit
 * file is constrained here to what that format accepts, so no input can inject a directive.
 * Defaults live in `default` (applied by src/schema/defaults.ts) and are repeated in `description`
 * for `bootstrap validate` / readers of docs/stack.md.
 */

/** A Consul service name that is also a valid nginx upstream name and file name. */
export const APP_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
/** example.com, *.example.com, .example.com, www.example.* (nginx's wildcard forms); nothing that could end a directive. */
export const SERVER_NAME = new RegExp(`^(?=.{1,253}$)(\\*\\.|\\.)?${LABEL}(\\.${LABEL})*(\\.\\*)?$`);

/** nginx time: 30, 30s, 1m, 500ms, 1h30m. */
export const NGINX_TIME = /^(\d+(ms|s|m|h|d|w|M|y)?)+$/;
/** nginx size: 500m, 128k, 1g, 4096. */
export const NGINX_SIZE = /^\d+[kKmMgG]?$/;
/** Go duration as consul-template reads it: 2s, 500ms, 1m30s. */
const GO_DURATION = /^(\d+(ns|us|ms|s|m|h))+$/;
/** A Go duration field with its default (`like` is the example its error gives). */
const duration = (fallback: string, like: string, description = `default "${fallback}"`): Field => ({
  type: 'string', pattern: GO_DURATION, patternHint: `a duration like "${like}"`, default: fallback, description,
});
/** A semantic version as HashiCorp publishes releases: 1.16.6, 0.41.1. */
const RELEASE_VERSION = /^\d+\.\d+\.\d+(-[a-z0-9.]+)?$/;
/** repo[:tag][@digest] with an optional registry host; lands in a unit's ExecStart. */
export const DOCKER_IMAGE = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
/** An IPv4 address with an optional prefix length, for lb_vip. */
const VIP = /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)(\/([1-9]|[12]\d|3[0-2]))?$/;
/** An ACME directory: https only (the account key and orders go over it). */
const ACME_DIRECTORY = /^https:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~%\/-]*)?$/;
const LETS_ENCRYPT = 'https://acme-v02.api.letsencrypt.org/directory';
/** Ends up between single quotes in a shell script: no quote, space or shell character. */
const EMAIL = /^([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?$/;
const BASE_URL = /^https?:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~%\/-]*)?$/;

const TIME_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, M: 2_592_000_000, y: 31_536_000_000 };

/** Milliseconds of an nginx time (an integer is seconds; "1h30m", "500ms", "2M" as nginx reads them). */
export function nginxTimeMs(value: string | number): number {
  if (typeof value === 'number') return value * 1000;
  let total = 0;
  for (const [, n, unit] of value.matchAll(/(\d+)(ms|s|m|h|d|w|M|y)?/g)) total += Number(n) * TIME_UNITS_MS[unit ?? 's']!;
  return total;
}

/** HAProxy's timers are signed 32-bit milliseconds (about 24.8 days); nginx accepts more, but no proxy timeout needs that. */
export const MAX_TIME_MS = 2 ** 31 - 1;
const timeLimit = (value: string | number) =>
  nginxTimeMs(value) > MAX_TIME_MS ? `at most ${MAX_TIME_MS} ms (24d); ${JSON.stringify(value)} is longer than the load balancers' timers allow` : undefined;

const time = (dflt: string | number, what: string): Field => ({
  type: 'oneOf',
  alternatives: [
    { type: 'integer', min: 0, check: timeLimit },
    { type: 'string', pattern: NGINX_TIME, patternHint: 'an nginx time: seconds as an integer or a string like "90s", "2m", "500ms"', check: timeLimit },
  ],
  hint: 'an nginx time: seconds as an integer or a string like "90s", "2m", "500ms"',
  description: `${what} (default ${JSON.stringify(dflt)})`,
  default: dflt,
} as Field & { default: unknown });

const size = (dflt: string, what: string): Field => ({
  type: 'string',
  pattern: NGINX_SIZE,
  patternHint: 'an nginx size like "500m", "128k" or "4096"',
  description: `${what} (default "${dflt}")`,
  default: dflt,
});

export const appSchema: Schema = {
  type: 'map',
  description: 'one application behind the load balancer',
  fields: {
    name: {
      type: 'string',
      required: true,
      pattern: APP_NAME,
      patternHint: 'a Consul service name: lowercase letters, digits and -, at most 63 characters, not starting or ending with -',
      description: 'the Consul service name the containers register as (SERVICE_NAME for registrator); also the nginx upstream and file name',
    },
    server_name: {
      type: 'list',
      required: true,
      minItems: 1,
      items: {
        type: 'string',
        pattern: SERVER_NAME,
        patternHint: 'a host name (example.com), or a wildcard (*.example.com, .example.com, www.example.*), without spaces or ;{}"\'',
      },
      description: 'host names nginx answers for; the first is used by `bootstrap verify` for Host and SNI',
    },
    balance: {
      type: 'string',
      enum: ['round_robin', 'ip_hash', 'least_conn'],
      default: 'round_robin',
      description: 'load-balancing method (default round_robin)',
    },
    keepalive: {
      type: 'integer',
      min: 0,
      max: 100000,
      default: 64,
      description: 'idle keepalive connections to the backends per nginx worker; 0 disables (default 64)',
    },
    max_fails: { type: 'integer', min: 0, max: 1000, default: 1, description: 'failed attempts before a backend is considered down for fail_timeout (default 1)' },
    fail_timeout: time(0, 'nginx `fail_timeout` of each backend'),
    tls: {
      type: 'oneOf',
      alternatives: [
        { type: 'string', enum: ['acme'] },
        {
          type: 'map',
          fields: {
            cert: { type: 'localFile', required: true, description: 'PEM certificate (chain) file on the laptop' },
            key: { type: 'localFile', required: true, description: 'PEM private key file on the laptop; uploaded with mode 0600' },
          },
        },
      ],
      hint: '`acme` (a certificate from the ACME CA of the stack variable acme) or a map { cert, key } of local PEM files',
      description:
        'serve HTTPS; port 80 then redirects to https. `acme`: a certificate from the ACME CA (acme.directory), ordered once for the cluster and renewed on the LBs; { cert, key }: these local files (relative to the inventory)',
    },
    max_instances: {
      type: 'integer',
      min: 1,
      // consul's SRV answer has to fit the 8 KiB haproxy announces (about 65 bytes per instance)
      max: 100,
      default: 32,
      description: 'load_balancer haproxy: server slots of the app\'s backend (server-template), the most instances it balances over at once, 1-100 (default 32)',
    },
    http2: { type: 'boolean', default: true, description: 'enable HTTP/2 on the TLS server (default true)' },
    hsts_max_age: {
      type: 'integer',
      min: 0,
      default: 31536000,
      description: 'Strict-Transport-Security max-age in seconds on TLS apps; 0 sends no header (default 31536000)',
    },
    proxy_connect_timeout: time(150, 'proxy_connect_timeout'),
    proxy_send_timeout: time(100, 'proxy_send_timeout'),
    proxy_read_timeout: time(90, 'proxy_read_timeout'),
    proxy_buffers: {
      type: 'string',
      pattern: /^\d+ \d+[kKmM]?$/,
      patternHint: 'a count and a size, e.g. "4 32k"',
      default: '4 32k',
      description: 'proxy_buffers (default "4 32k")',
    },
    client_max_body_size: size('500m', 'client_max_body_size'),
    client_body_buffer_size: size('128k', 'client_body_buffer_size'),
  },
};

/** Where HashiCorp publishes release archives (<base>/<product>/<version>/...). */
export const DEFAULT_RELEASE_BASE_URL = 'https://releases.hashicorp.com';

const releaseComponent = (name: string, version: string): Field => ({
  type: 'map',
  description: `how ${name} is installed (default: version ${version} from the release archive, checked against its SHA256SUMS)`,
  fields: {
    version: {
      type: 'string',
      pattern: RELEASE_VERSION,
      patternHint: 'a release version like 1.16.6',
      default: version,
      description: `release to install (default ${version})`,
    },
    source: {
      type: 'string',
      enum: ['release', 'upload'],
      default: 'release',
      description: 'release = download <release_base_url>/<name>/<version>/ on the host; upload = copy `binary` from the laptop (default release)',
    },
    release_base_url: {
      type: 'string',
      pattern: BASE_URL,
      patternHint: 'an http(s) URL without a trailing query, e.g. https://releases.hashicorp.com',
      default: DEFAULT_RELEASE_BASE_URL,
      description: `where release archives are downloaded from; a mirror with the same layout works (default ${DEFAULT_RELEASE_BASE_URL})`,
    },
    binary: { type: 'localFile', description: `the ${name} executable on the laptop, for source: upload` },
  },
  check: (value: Record<string, unknown>) =>
    value.source === 'upload' && !value.binary ? 'source: upload needs `binary` (the path of the executable on the laptop)' : undefined,
} as Field);

/** Stack variables (merged into the inventory's known vars; `datacenter` and `apt_proxy` are declared there). */
export const stackVarsSchema: Record<string, Field> = {
  apps: {
    type: 'list',
    items: appSchema,
    uniqueBy: 'name',
    default: [],
    description: 'applications to load-balance; each app is one Consul service and one /etc/nginx/conf.d/<name>.conf (default none)',
  } as Field,
  acme: {
    type: 'map',
    description: 'the ACME CA that issues the certificates of apps with tls: acme (docs/stack.md "Automatic HTTPS")',
    fields: {
      directory: {
        type: 'string',
        pattern: ACME_DIRECTORY,
        patternHint: 'an https:// URL of an ACME directory, e.g. https://acme-staging-v02.api.letsencrypt.org/directory',
        default: LETS_ENCRYPT,
        description: `the CA's ACME directory URL (default Let's Encrypt production, ${LETS_ENCRYPT}; staging: https://acme-staging-v02.api.letsencrypt.org/directory)`,
      },
      email: {
        type: 'string',
        pattern: EMAIL,
        patternHint: 'an e-mail address like ops@example.com (or "" for none)',
        default: '',
        description: 'contact address of the ACME account: the CA writes to it about problems with the certificates (default none)',
      },
      ca_bundle: { type: 'localFile', description: 'PEM file of the CA(s) to trust for the directory\'s HTTPS, for private or test CAs (default: the hosts\' own trust store)' },
      check_interval: { type: 'integer', min: 10, max: 86400, default: 3600, description: 'seconds between two checks on each LB whether a certificate is due (the timer; plus up to a tenth at random); a check of valid certificates asks the CA only for its renewal information (ARI, where offered), at most as often as its Retry-After allows (default 3600)' },
      attempts: { type: 'integer', min: 1, max: 10, default: 3, description: 'orders tried per app in one check before it gives up until the next (default 3)' },
      retry_delay: { type: 'integer', min: 1, max: 3600, default: 60, description: 'seconds before the second attempt; doubled for each further one (default 60)' },
      expiry_warning_days: { type: 'integer', min: 0, max: 365, default: 14, description: '`bootstrap verify` fails an acme app whose served certificate expires within this many days (default 14)' },
    },
  },
  load_balancer: {
    type: 'string',
    enum: ['nginx', 'haproxy'],
    default: 'nginx',
    description: 'what the lb hosts run: nginx (with consul-template rendering its files) or haproxy (backends from Consul DNS at run time, no consul-template) (default nginx)',
  },
  consul: releaseComponent('consul', '1.16.6'),
  consul_template: releaseComponent('consul-template', '0.41.1'),
  download: {
    type: 'map',
    description: "curl's limits for what the hosts download (release archives, Docker's apt key): a stalled mirror fails the task instead of hanging the run",
    fields: {
      connect_timeout: { type: 'integer', min: 1, default: 10, description: 'seconds to connect (curl --connect-timeout; default 10)' },
      max_time: { type: 'integer', min: 1, default: 600, description: 'seconds one download may take in all (curl --max-time; default 600)' },
    },
  },
  consul_log_level: {
    type: 'string',
    enum: ['trace', 'debug', 'info', 'warn', 'error', 'TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'],
    default: 'INFO',
    description: 'log_level of every consul agent (default INFO); a change restarts consul, one server at a time',
  },
  consul_raft_multiplier: {
    type: 'integer',
    min: 1,
    max: 10,
    default: 1,
    description:
      "Consul servers' performance.raft_multiplier: raft timeouts are this many times the base (election timeout 1 s); 1 is Consul's production setting, raise it on slow or overloaded machines (default 1)",
  },
  consul_autopilot: {
    type: 'map',
    description: "Consul servers' autopilot settings (min_quorum is always the number of servers)",
    fields: {
      cleanup_dead_servers: { type: 'boolean', default: true, description: 'remove dead servers from the raft peer set while more than min_quorum remain, and when a replacement joins (default true)' },
      last_contact_threshold: duration('200ms', '200ms', 'a server is unhealthy when the leader has not heard from it for this long (default "200ms")'),
      max_trailing_logs: { type: 'integer', min: 1, max: 1000000, default: 250, description: 'a server is unhealthy when it is this many raft entries behind the leader (default 250)' },
      server_stabilization_time: duration('10s', '10s', 'how long a new server must be healthy before it gets a vote (default "10s")'),
    },
  },
  consul_rpc_tls: {
    type: 'string',
    enum: ['on', 'outgoing', 'offer', 'off'],
    default: 'on',
    description:
      "Consul agent RPC (8300) over mutual TLS: on = servers accept only clients with a certificate of the stack's CA (servers' made on the laptop, clients' through auto_encrypt) and every agent checks server.<datacenter>.consul; offer and outgoing are the first two steps of moving a plaintext cluster to on, one run each (docs/security.md \"Consul RPC TLS\"); off = plaintext RPC (default on)",
  },
  consul_ui: { type: 'boolean', default: false, description: "Consul's web UI on every agent's HTTP port (loopback only, behind ACLs); off unless asked for (default false)" },
  lb_vip: {
    type: 'string',
    default: '',
    check: (value: string) => (value === '' || VIP.test(value) ? undefined : `expected an IPv4 address, optionally with a prefix length (203.0.113.100 or 203.0.113.100/24), got ${JSON.stringify(value)}`),
    description:
      'a floating IPv4 address (optionally /prefix, default /32) that keepalived moves between the lb hosts: VRRP with unicast peers on the private network, held by an LB whose nginx (or haproxy) answers (default none)',
  },
  keepalived: {
    type: 'map',
    description: 'keepalived settings for lb_vip',
    fields: {
      interface: {
        type: 'string',
        pattern: /^[A-Za-z0-9_.:-]{1,15}$/,
        patternHint: 'a network interface name like eth0, or auto',
        default: 'auto',
        description: "the interface the floating address is added to, the one facing the clients; auto = the one holding the host's address (default auto)",
      },
      vrrp_interface: {
        type: 'string',
        pattern: /^[A-Za-z0-9_.:-]{1,15}$/,
        patternHint: 'a network interface name like eth1, or auto',
        default: 'auto',
        description: "the interface VRRP adverts go out on; auto = the one holding the host's private_address (default auto)",
      },
      virtual_router_id: { type: 'integer', min: 1, max: 255, default: 51, description: 'VRRP router id, unique among the VRRP groups on that network (default 51)' },
    },
  },
  consul_nofile_limit: {
    type: 'integer',
    min: 1024,
    max: 1048576,
    default: 65536,
    description: "open files consul may have (systemd LimitNOFILE, Upstart `limit nofile`); root on the host must be able to raise its limit that far (default 65536)",
  },
  consul_template_wait: {
    type: 'map',
    description: 'how long consul-template lets changes settle before rendering: it renders once nothing changed for `min`, and at the latest `max` after the first change; min 0s renders every change at once and leaves coalescing to nginx_reload_coalesce (default min 0s, max 0s)',
    fields: {
      min: duration('0s', '250ms', 'default "0s" (no wait)'),
      max: duration('0s', '5s'),
    },
  },
  nginx_reload_coalesce: {
    type: 'map',
    description: "how nginx-reload (consul-template's command) spaces nginx reloads: a change after a quiet spell reloads at once; changes less than `window` after a reload share one reload once they pause for `window`, at the latest `max` after the first of them (default window 250ms, max 5s)",
    fields: {
      window: duration('250ms', '250ms'),
      max: duration('5s', '5s'),
    },
  },
  registrator: {
    type: 'map',
    description: 'the registrator container on web nodes',
    fields: {
      enabled: { type: 'boolean', default: true, description: 'run registrator on web nodes (default true); false when containers are registered another way, e.g. Consul service definitions' },
      source: {
        type: 'string',
        enum: ['build', 'pull', 'tarball'],
        default: 'build',
        description:
          'build = registrator v7.4.0 built on the laptop (Go toolchain, or a cached build) and uploaded as an image tarball; pull = `docker pull image` on each web node; tarball = upload `image_tarball` (default build)',
      },
      image: {
        type: 'string',
        pattern: DOCKER_IMAGE,
        patternHint: 'a Docker image reference like registry.example.com/registrator:v7',
        description: 'image to run, for source pull or tarball (the tarball must contain this tag); source build runs bootstrap/registrator:v7.4.0',
      },
      image_tarball: { type: 'localFile', description: '`docker save` tarball on the laptop to upload and `docker load`, for source tarball' },
      resync: { type: 'integer', min: 0, max: 86400, default: 30, description: 'seconds between full re-syncs of containers into Consul; 0 = off (default 30)' },
    },
    // runs on the value as written, before defaults: no source means build
    check: (value: Record<string, unknown>) => {
      if ((value.source ?? 'build') === 'build' && (value.image !== undefined || value.image_tarball !== undefined)) {
        return 'source: build runs the image built on the laptop; `image` and `image_tarball` are for source pull or tarball';
      }
      if (value.source === 'pull' && value.image === undefined) return 'source: pull needs `image` (a registrator image your Docker can pull; gliderlabs/registrator:latest no longer pulls on Docker 26 and later)';
      if (value.source === 'tarball' && (value.image === undefined || value.image_tarball === undefined)) return 'source: tarball needs `image_tarball` and the `image` tag it holds';
      return undefined;
    },
  } as Field,
  docker_source: {
    type: 'string',
    enum: ['distro', 'docker'],
    default: 'distro',
    description: "distro = the distribution's docker.io package; docker = docker-ce from Docker's apt repository (default distro)",
  },
  docker_repo_url: {
    type: 'string',
    pattern: BASE_URL,
    patternHint: 'an http(s) URL like https://download.docker.com/linux',
    default: 'https://download.docker.com/linux',
    description: "Docker's apt repository base, for docker_source: docker (default https://download.docker.com/linux)",
  },
  docker_daemon_config: <Field>{
    type: 'map',
    fields: {},
    additional: { type: 'any' },
    default: {},
    description: "merged into /etc/docker/daemon.json over the stack's own setting ip: <private_address> (published ports bind to the private address), e.g. {storage-driver: vfs}; ip: 0.0.0.0 here publishes on every address again (default {})",
  },
  nginx_http2_directive: {
    type: 'string',
    enum: ['auto', 'listen', 'http2_on'],
    default: 'auto',
    description:
      'how TLS apps enable HTTP/2: listen = `listen 443 ssl http2` (nginx < 1.25.1), http2_on = `http2 on;` (nginx >= 1.25.1), auto = chosen from the OS release (Debian >= 13, Ubuntu >= 24.10 ship nginx >= 1.25.1) (default auto)',
  },
  nginx_worker_shutdown_timeout: {
    type: 'string',
    pattern: NGINX_TIME,
    patternHint: 'an nginx time like "30s" or "2m"',
    default: '30s',
    description: 'how long an old nginx worker may keep serving its open connections after a reload before it closes them (default "30s")',
  },
  nginx_default_status: {
    type: 'integer',
    min: 200,
    max: 599,
    default: 404,
    description: 'status the default server answers for host names no app claims (444 closes the connection) (default 404)',
  },
};
