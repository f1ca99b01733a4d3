import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Inventory } from '../../src/inventory/types.js';
import { DEBIAN_12, factsFor, GOLDEN, loadCase, renderHostFiles, renderHostTasks, type RenderedFile } from '../golden/stack-harness.js';

/*
 * load_balancer: haproxy on the golden inventories: golden files of what lands on the lb hosts
 * (UPDATE_GOLDEN=1 rewrites them), and Debian's real haproxy accepting every rendered
 * configuration (`haproxy -c`, with the certificates the playbook uploads).
 */

const CASES = ['plain', 'tls', 'iphash-keepalive', 'three-lb', 'acme'];
const SRC_GOLDEN = GOLDEN.replace(/\/dist\/test\/golden$/, '/test/golden');
/** What the haproxy path adds on an lb host; everything else is the nginx golden's (consul.hcl included). */
const HAPROXY_FILE = /^\/etc\/haproxy\/|^\/etc\/systemd\/system\/haproxy(-servers)?\.service$|^\/usr\/local\/lib\/bootstrap\/(haproxy-servers|acme-install)$/;

function withHaproxy(name: string): Inventory {
  const inv = loadCase(name);
  for (const host of inv.hosts.values()) host.vars.load_balancer = 'haproxy';
  return inv;
}

function lbFiles(inv: Inventory, host: string): Map<string, RenderedFile> {
  return new Map(renderHostFiles(inv, host, factsFor(DEBIAN_12)).map((f) => [f.dest, f]));
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => (statSync(join(dir, entry)).isDirectory() ? listFiles(join(dir, entry)) : [join(dir, entry)]));
}

const work = mkdtempSync(join(tmpdir(), 'stack-haproxy-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** `haproxy -c` on a rendered haproxy.cfg, with /etc/haproxy moved to a scratch directory holding the uploaded certificates. */
function haproxyCheck(inv: Inventory, host: string, files: Map<string, RenderedFile>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(work, `${host}-`));
  const move = (text: string) => text.replaceAll('/etc/haproxy/', `${dir}/`).replaceAll('/var/lib/haproxy/server-state', `${dir}/server-state`);
  writeFileSync(join(dir, 'server-state'), '1\n'); // what the unit's ExecStartPre leaves before a start
  mkdirSync(join(dir, 'tls'));
  mkdirSync(join(dir, 'acme'));
  for (const copy of renderHostTasks(inv, host, factsFor(DEBIAN_12), 'copy')) {
    const dest = String(copy.params.dest);
    if (!dest.startsWith('/etc/haproxy/')) continue;
    if (copy.params.src !== undefined) copyFileSync(String(copy.params.src), move(dest));
    else writeFileSync(move(dest), String(copy.params.content));
  }
  for (const dest of ['/etc/haproxy/certs.list', '/etc/haproxy/haproxy.cfg', '/etc/haproxy/acme-challenge.map']) {
    if (files.has(dest)) writeFileSync(move(dest), move(files.get(dest)!.content));
  }
  // the acme apps' placeholders, as the playbook makes them before haproxy -c
  const install = files.get('/usr/local/lib/bootstrap/acme-install');
  if (install) {
    const made = spawnSync('sh', ['-c', install.content, 'acme-install', 'placeholders'], { encoding: 'utf8', env: { ...process.env, ACME_HAPROXY_DIR: dir } });
    if (made.status !== 0) return { status: made.status, output: made.stderr };
  }
  const result = spawnSync('haproxy', ['-c', '-f', join(dir, 'haproxy.cfg')], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('load_balancer haproxy: golden files', () => {
  for (const name of CASES) {
    test(name, () => {
      const inv = withHaproxy(name);
      const expectedDir = join(SRC_GOLDEN, name, 'expected-haproxy');
      const actual = new Map<string, string>();
      for (const host of inv.groups.get('lb') ?? []) {
        for (const file of lbFiles(inv, host).values()) if (HAPROXY_FILE.test(file.dest)) actual.set(join(host, file.dest), file.content);
      }
      if (process.env.UPDATE_GOLDEN) {
        rmSync(expectedDir, { recursive: true, force: true });
        for (const [path, content] of actual) {
          mkdirSync(dirname(join(expectedDir, path)), { recursive: true });
          writeFileSync(join(expectedDir, path), content);
        }
      }
      const expected = listFiles(expectedDir).map((f) => relative(expectedDir, f));
      assert.deepEqual([...actual.keys()].sort(), expected.sort(), 'the set of rendered files differs from the golden set');
      for (const [path, content] of actual) assert.equal(content, readFileSync(join(expectedDir, path), 'utf8'), `${name}/expected-haproxy/${path} differs`);
    });
  }
});

describe("load_balancer haproxy: Debian's haproxy accepts every rendered configuration", () => {
  const version = spawnSync('haproxy', ['-v'], { encoding: 'utf8' });
  test(`haproxy is installed (${version.stdout?.split('\n')[0] ?? 'missing'})`, () => {
    assert.equal(version.status, 0, 'haproxy is not installed (.ci/setup installs it)');
  });
  for (const name of CASES) {
    test(`haproxy -c: ${name}`, () => {
      const inv = withHaproxy(name);
      for (const host of inv.groups.get('lb') ?? []) {
        const result = haproxyCheck(inv, host, lbFiles(inv, host));
        assert.equal(result.status, 0, `${name}/${host}:\n${result.output}`);
        assert.doesNotMatch(result.output, /WARNING/, `${name}/${host} has warnings:\n${result.output}`);
      }
    });
  }

  test('haproxy -c fails on a broken configuration (the check can fail)', () => {
    const inv = withHaproxy('tls');
    const files = lbFiles(inv, 'lb1');
    const cfg = files.get('/etc/haproxy/haproxy.cfg')!;
    files.set(cfg.dest, { ...cfg, content: cfg.content.replace('balance roundrobin', 'balance round_robin') });
    const result = haproxyCheck(inv, 'lb1', files);
    assert.notEqual(result.status, 0);
    assert.match(result.output, /balance only supports/);
  });
});

describe('load_balancer haproxy: what the configuration says', () => {
  const tls = lbFiles(withHaproxy('tls'), 'lb1');
  const cfg = tls.get('/etc/haproxy/haproxy.cfg')!.content;
  const api = lbFiles(withHaproxy('iphash-keepalive'), 'lb1').get('/etc/haproxy/haproxy.cfg')!.content;

  test('one frontend per port; backends are server slots over the SRV records of the Consul service', () => {
    assert.equal(cfg.match(/^frontend /gm)?.length, 2);
    assert.match(cfg, /^    bind :80$/m);
    assert.match(cfg, /^    bind :443 ssl crt-list \/etc\/haproxy\/certs\.list$/m);
    // slots the runtime API sets (haproxy-servers), and backup slots DNS fills
    assert.match(cfg, /^    server-template shop- 32 localhost:1 init-addr last,libc disabled pool-max-conn 64 observe layer4 error-limit 1 on-error mark-down$/m);
    assert.match(cfg, /^    server-template shop-dns- 32 _shop\._tcp\.service\.consul backup init-addr last,none resolvers consul resolve-prefer ipv4 resolve-opts allow-dup-ip pool-max-conn 64 observe layer4 error-limit 1 on-error mark-down$/m);
    assert.match(cfg, /^    nameserver consul 127\.0\.0\.1:8600$/m);
  });

  test('routing by Host in nginx order: exact names, then the longest leading wildcard; unknown hosts get a clear 404', () => {
    const http = /^frontend http\n[\s\S]*?\n\n/m.exec(api)![0];
    const rules = [...http.matchAll(/^    http-request set-var\(txn\.app\) str\((\S+)\) if .*\{ var\(txn\.host\) (-m \S+ .*) \}$/gm)].map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual(rules, ['api -m str api.example.test', 'secure -m str secure.example.test', 'worker -m str worker.example.test', 'api -m end .api.example.test']);
    assert.match(cfg, /http-request return status 404 content-type text\/plain string "no app is configured for this host name\\n" unless \{ var\(txn\.app\) -m found \}/);
    // nginx_default_status 444 closes the connection
    assert.match(api, /^    http-request reject unless \{ var\(txn\.app\) -m found \}$/m);
  });

  test('TLS apps: 301 to https on port 80, HSTS where hsts_max_age > 0, 421 for a Host of another app than the SNI', () => {
    assert.match(cfg, /^    http-request redirect location https:\/\/%\[var\(txn\.host\)\]%\[pathq\] code 301 if \{ var\(txn\.app\) -m str shop shop-next \}$/m);
    assert.match(cfg, /http-after-response set-header Strict-Transport-Security "max-age=31536000" if \{ var\(txn\.app\) -m str shop \}/);
    assert.doesNotMatch(cfg, /Strict-Transport-Security.*shop-next/);
    assert.match(cfg, /http-request return status 421 /);
    const list = tls.get('/etc/haproxy/certs.list')!.content;
    assert.match(list, /^\/etc\/haproxy\/tls\/shop\.pem \[alpn h2,http\/1\.1\] shop\.example\.test www\.shop\.example\.test$/m);
    assert.match(list, /^\/etc\/haproxy\/tls\/shop-next\.pem \[alpn http\/1\.1\] next\.shop\.example\.test$/m);
  });

  test("the app's settings: balance, timeouts, body size, keepalive", () => {
    const backend = (text: string, app: string) => new RegExp(`^backend ${app}\\n((?:    .*\\n)+)`, 'm').exec(text)![1];
    assert.match(backend(api, 'api'), /balance source\n    timeout connect 5s\n    timeout server 120s\n/);
    assert.match(backend(api, 'api'), /^    server-template api- 32 localhost:1 /m);
    assert.match(backend(api, 'api'), /^    server-template api-dns- 32 _api\._tcp\.service\.consul backup /m);
    assert.match(backend(api, 'api'), /deny_status 413 if \{ req\.hdr_val\(content-length\) gt 10485760 \}/);
    assert.match(backend(api, 'api'), /pool-max-conn 32 observe layer4 error-limit 3 on-error mark-down/);
    assert.match(backend(api, 'worker'), /balance leastconn\n    timeout connect 150s\n    timeout server 100s\n/);
    assert.match(backend(cfg, 'status-page'), /http-reuse never/);
  });

  test('the runtime API is a root-only local socket; there is no stats page', () => {
    assert.match(cfg, /^    stats socket \/run\/haproxy\/admin\.sock mode 600 level admin expose-fd listeners$/m);
    assert.doesNotMatch(cfg, /stats (enable|uri)/);
    const unit = tls.get('/etc/systemd/system/haproxy.service')!.content;
    assert.match(unit, /ExecStart=\/usr\/sbin\/haproxy -Ws .* -S \/run\/haproxy-master\.sock,mode,600\n/);
    // checked, then the servers' state saved for the new workers, then the reload
    assert.match(unit, /ExecReload=\/usr\/sbin\/haproxy -c -q -f \$CONFIG\nExecReload=\/bin\/sh -c 'echo "show servers state" \| socat stdio unix-connect:\/run\/haproxy\/admin\.sock > \/var\/lib\/haproxy\/server-state'\n/);
    // then the pushed slots set again by the new workers' side of the reload, and after a start
    assert.match(unit, /ExecReload=\/bin\/kill -USR2 \$MAINPID\nExecReload=-\/usr\/local\/lib\/bootstrap\/haproxy-servers --after-reload \/run\/haproxy\/worker\.pid\n/);
    assert.match(unit, /^ExecStartPost=-\/usr\/local\/lib\/bootstrap\/haproxy-servers$/m);
    assert.match(cfg, /^    server-state-file \/var\/lib\/haproxy\/server-state$/m);
    assert.match(cfg, /^    load-server-state-from-file global$/m);
  });

  test('consul on an LB resolves DNS with the read-only DNS token, the same with nginx (a switch never restarts consul); not on web hosts', () => {
    const hcl = tls.get('/etc/consul.d/consul.hcl')!;
    assert.match(hcl.content, /^    default += "[0-9a-f-]{36}"$/m);
    assert.equal(hcl.sensitive, true);
    assert.equal(lbFiles(loadCase('tls'), 'lb1').get('/etc/consul.d/consul.hcl')!.content, hcl.content);
    assert.doesNotMatch(lbFiles(withHaproxy('tls'), 'web1').get('/etc/consul.d/consul.hcl')!.content, /default +=/);
  });

  test('nginx and consul-template files are not laid down on a haproxy LB', () => {
    assert.deepEqual([...tls.keys()].filter((dest) => /nginx|consul-template/.test(dest)), []);
  });

  test('haproxy-servers: consul-template with no quiescence wait, one template per app, the sync script as the command', () => {
    const hcl = tls.get('/etc/haproxy/servers.hcl')!.content;
    assert.doesNotMatch(hcl, /^wait/m);
    assert.deepEqual([...hcl.matchAll(/destination += "(\S+)"/g)].map((m) => m[1]), ['/etc/haproxy/servers/shop.list', '/etc/haproxy/servers/status-page.list', '/etc/haproxy/servers/shop-next.list']);
    assert.equal(hcl.match(/command += "\/usr\/local\/lib\/bootstrap\/haproxy-servers"/g)?.length, 3);
    assert.equal(tls.get('/etc/haproxy/servers.env')!.sensitive, true);
    assert.match(tls.get('/etc/systemd/system/haproxy-servers.service')!.content, /^ExecStart=\/usr\/local\/bin\/consul-template -config=\/etc\/haproxy\/servers\.hcl$/m);
  });

  test('tls: acme: port 80 answers tokens from Consul KV and redirects the rest, a placeholder answers 503, haproxy-servers installs the certificates', () => {
    const acme = lbFiles(withHaproxy('acme'), 'lb1');
    const acmeCfg = acme.get('/etc/haproxy/haproxy.cfg')!.content;
    // only GET/HEAD of a token-shaped path of an acme app (shop) goes to consul; the redirect leaves it alone
    assert.match(acmeCfg, /^    http-request set-var\(txn\.acme_challenge\) bool\(true\) if METH_GET \{ var\(txn\.app\) -m str shop \} \{ path_reg \^\/\\\.well-known\/acme-challenge\/\[A-Za-z0-9_-\]\{1,128\}\$ \}$/m);
    assert.match(acmeCfg, /^    http-request redirect location https:\/\/%\[var\(txn\.host\)\]%\[pathq\] code 301 if \{ var\(txn\.app\) -m str shop status-page \} !\{ var\(txn\.acme_challenge\) -m found \}$/m);
    assert.match(acmeCfg, /^    use_backend acme_challenge if \{ var\(txn\.acme_challenge\) -m found \}\n    use_backend %\[var\(txn\.app\)\]$/m);
    // the backend: the token's key read raw, none of the client's headers, the token from the 0600 map
    assert.match(acmeCfg, /^    http-request set-path \/v1\/kv\/acme\/challenges\/%\[path,field\(4,\/\)\]\n    http-request set-query raw\n    http-request del-header \.\* -m reg\n/m);
    assert.match(acmeCfg, /^    http-request set-header X-Consul-Token %\[str\(consul\),map\(\/etc\/haproxy\/acme-challenge\.map\)\]$/m);
    assert.doesNotMatch(acmeCfg, /[0-9a-f]{8}-[0-9a-f]{4}-/, 'no token in the 0644 haproxy.cfg');
    const map = acme.get('/etc/haproxy/acme-challenge.map')!;
    assert.deepEqual([map.mode, map.sensitive], ['0600', true]);
    assert.match(map.content, /^consul [0-9a-f-]{36}$/m);
    assert.match(acmeCfg, /http-request return status 503 .* if \{ ssl_f_s_dn\(CN\) -m str bootstrap-acme-placeholder \}/);
    assert.match(acme.get('/usr/local/lib/bootstrap/acme-install')!.content, /^placeholder_cn=bootstrap-acme-placeholder$/m);
    const hcl = acme.get('/etc/haproxy/servers.hcl')!.content;
    assert.match(hcl, /source += "\/etc\/haproxy\/acme\/shop\.ctmpl"\n  destination += "\/etc\/haproxy\/acme\/shop\.pem"\n  perms += 0600\n  command += "\/usr\/local\/lib\/bootstrap\/acme-install"/);
    assert.match(acme.get('/etc/haproxy/certs.list')!.content, /^\/etc\/haproxy\/tls\/shop\.pem \[alpn h2,http\/1\.1\] shop\.example\.test www\.shop\.example\.test$/m);
    assert.ok(acme.has('/etc/systemd/system/acme-renew.timer'), 'the renewal timer on the haproxy LB');
    // without acme apps, none of it
    assert.doesNotMatch(cfg, /acme/);
  });
});

describe('load_balancer haproxy: bad input stops the run before any host is contacted', () => {
  test('apply exits 2 naming file, line, column and key path; the host never sees a connection', async () => {
    const { createServer } = await import('node:net');
    const { runCli } = await import('../helpers/cli.js');
    let connections = 0;
    const server = createServer((s) => (connections++, s.destroy()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const file = join(work, 'bad.yaml');
    writeFileSync(
      file,
      `all:\n  vars:\n    load_balancer: haproxy\n    apps:\n      - name: shop\n        server_name: ["shop.test }\\n    server evil 10.0.0.9:80"]\n  children:\n    lb:\n      hosts:\n        lb1: { address: 127.0.0.1, port: ${port} }\n`,
    );
    try {
      const result = await runCli([file]);
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.match(result.stderr + result.stdout, /bad\.yaml:6:\d+ all\.vars\.apps\.0\.server_name\.0: expected a host name/);
      assert.equal(connections, 0);
    } finally {
      server.close();
    }
  });
});
