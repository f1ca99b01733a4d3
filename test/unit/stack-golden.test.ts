import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { DEBIAN_12, factsFor, GOLDEN, loadCase, renderHostFiles, type RenderedFile } from '../golden/stack-harness.js';

/* Golden files of everything the playbooks render, per case and host. UPDATE_GOLDEN=1 rewrites them. */

const CASES = ['plain', 'tls', 'iphash-keepalive', 'three-lb', 'upstart', 'three-lb-vip', 'consul-servers', 'acme'];
const SRC_GOLDEN = GOLDEN.replace(/\/dist\/test\/golden$/, '/test/golden');

function caseFacts(name: string) {
  const file = join(SRC_GOLDEN, name, 'facts.yaml');
  if (!existsSync(file)) return factsFor(DEBIAN_12);
  const raw = parse(readFileSync(file, 'utf8')) as { os: typeof DEBIAN_12; init: 'systemd' | 'upstart' };
  return factsFor(raw.os, raw.init);
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const full = join(dir, entry);
    return statSync(full).isDirectory() ? listFiles(full) : [full];
  });
}

function rendered(name: string): Map<string, Map<string, RenderedFile>> {
  const inv = loadCase(name);
  const facts = caseFacts(name);
  const out = new Map<string, Map<string, RenderedFile>>();
  for (const host of inv.hosts.keys()) {
    const files = new Map<string, RenderedFile>();
    for (const file of renderHostFiles(inv, host, facts)) {
      assert.ok(!files.has(file.dest), `${host}: ${file.dest} written by two tasks`);
      files.set(file.dest, file);
    }
    out.set(host, files);
  }
  return out;
}

describe('stack golden files', () => {
  for (const name of CASES) {
    test(name, () => {
      const expectedDir = join(SRC_GOLDEN, name, 'expected');
      const hosts = rendered(name);
      if (process.env.UPDATE_GOLDEN) {
        rmSync(expectedDir, { recursive: true, force: true });
        for (const [host, files] of hosts) {
          for (const file of files.values()) {
            const path = join(expectedDir, host, file.dest);
            mkdirSync(dirname(path), { recursive: true });
            writeFileSync(path, file.content);
          }
        }
      }
      const expected = new Set(listFiles(expectedDir).map((f) => relative(expectedDir, f)));
      const actual = new Set([...hosts].flatMap(([host, files]) => [...files.keys()].map((dest) => join(host, dest))));
      assert.deepEqual([...actual].sort(), [...expected].sort(), 'the set of rendered files differs from the golden set');
      for (const [host, files] of hosts) {
        for (const file of files.values()) {
          assert.equal(file.content, readFileSync(join(expectedDir, host, file.dest), 'utf8'), `${name}/${host}${file.dest} differs from the golden file`);
        }
      }
    });
  }
});

describe('rendered files hold what the stack needs', () => {
  const plain = rendered('plain');
  const three = rendered('three-lb');

  test('secrets only in files marked sensitive and never world-readable', () => {
    for (const files of [...plain.values(), ...three.values()]) {
      for (const file of files.values()) {
        const holdsSecret = /encrypt =|initial_management|agent +=|agent_recovery +=|CONSUL_HTTP_TOKEN=[0-9a-f-]{36}|X-Consul-Token: [0-9a-f-]{36}/.test(file.content) || file.dest === '/etc/consul/management.token';
        if (!holdsSecret) continue;
        assert.equal(file.sensitive, true, `${file.dest} holds a secret but is not sensitive`);
        assert.match(file.mode ?? '', /^0[67][04]0$/, `${file.dest} mode ${file.mode}`);
      }
    }
  });

  test('consul servers expect every lb host and join every server, themselves included; clients join all servers; HTTP on loopback only', () => {
    const lb2 = three.get('lb2')!.get('/etc/consul.d/consul.hcl')!.content;
    assert.match(lb2, /bootstrap_expect = 3/);
    assert.match(lb2, /retry_join = \["10\.10\.0\.2", "10\.10\.0\.12", "10\.10\.0\.22"\]/);
    assert.match(lb2, /bind_addr += "10\.10\.0\.12"/);
    assert.match(lb2, /client_addr += "127\.0\.0\.1"/);
    const web = three.get('web1')!.get('/etc/consul.d/consul.hcl')!.content;
    assert.match(web, /server = false/);
    assert.match(web, /retry_join = \["10\.10\.0\.2", "10\.10\.0\.12", "10\.10\.0\.22"\]/);
    assert.doesNotMatch(web, /initial_management/);
  });

  test('one consul-template template block per app, with backup and one shared validating reload command', () => {
    const tls = rendered('tls').get('lb1')!.get('/etc/consul-template/config.hcl')!.content;
    assert.equal(tls.match(/^template \{/gm)?.length, 3);
    assert.match(tls, /destination += "\/etc\/nginx\/conf\.d\/shop-next\.conf"/);
    assert.match(tls, /backup += true/);
    // identical commands run once per render pass, so a pass that changed every app reloads nginx once
    assert.equal(tls.match(/^\s*command += "\/usr\/local\/lib\/bootstrap\/nginx-reload"$/gm)?.length, 3);
  });

  test('registrator runs with its options before the consul URI and the token from an env file', () => {
    const unit = plain.get('web2')!.get('/etc/systemd/system/registrator.service')!.content;
    assert.match(unit, /--env-file \/etc\/registrator\/env bootstrap\/registrator:v7\.4\.0 -ip 10\.10\.0\.4 -cleanup -resync 30 -retry-attempts -1 -retry-interval 1000 consul:\/\/localhost:8500\n/);
    assert.doesNotMatch(unit, /CONSUL_HTTP_TOKEN/);
  });
});

describe('nginx accepts the http-level files', () => {
  test('00-bootstrap.conf and 00-default.conf pass nginx -t', () => {
    const files = rendered('iphash-keepalive').get('lb1')!;
    const prefix = mkdtempSync(join(tmpdir(), 'stack-nginx-'));
    try {
      for (const name of ['00-bootstrap.conf', '00-default.conf']) {
        writeFileSync(join(prefix, name), files.get(`/etc/nginx/conf.d/${name}`)!.content.replaceAll('/var/log/nginx/', `${prefix}/`).replace('listen 80', 'listen 127.0.0.1:18080'));
      }
      writeFileSync(
        join(prefix, 'nginx.conf'),
        `pid ${prefix}/nginx.pid;\nerror_log ${prefix}/error.log;\nevents {}\nhttp {\n  include ${prefix}/00-*.conf;\n}\n`,
      );
      const result = spawnSync('nginx', ['-t', '-p', prefix, '-c', join(prefix, 'nginx.conf')], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  });

  test('the haproxy-servers script is valid sh', () => {
    const inv = loadCase('plain');
    for (const host of inv.hosts.values()) host.vars.load_balancer = 'haproxy';
    const script = renderHostFiles(inv, 'lb1', caseFacts('plain')).find((f) => f.dest === '/usr/local/lib/bootstrap/haproxy-servers')!.content;
    const result = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
  });

  test('the reload script is valid sh', () => {
    const script = rendered('plain').get('lb1')!.get('/usr/local/lib/bootstrap/nginx-reload')!.content;
    const result = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
  });
});

describe('playbooks', () => {
  test('site.yml loads with the real module registry (every parameter valid, every notify has a handler)', async () => {
    const { loadPlaybooks } = await import('../../src/playbook/load-playbooks.js');
    const { getModule } = await import('../../src/modules/index.js');
    const plays = loadPlaybooks([join(SRC_GOLDEN, '..', '..', 'playbooks', 'site.yml')], getModule);
    assert.deepEqual(
      plays.map((p) => [p.name, p.hosts, p.serial]),
      [
        ['consul agent prerequisites', 'consul_servers:lb:web', undefined],
        ['consul servers', 'consul_servers', [1]], // one server at a time: quorum is never lost
        ['consul ACLs', 'consul_servers', undefined],
        ['consul clients', 'lb:web:!consul_servers', [1]], // a stopping client takes its node's instances along
        ['load balancer', 'lb', undefined], // nginx reloads are graceful
        ['load balancer (haproxy)', 'lb', undefined], // haproxy reloads are graceful too
        ['floating address', 'lb', undefined],
        ['docker engine settings', 'web', [1]], // a Docker restart stops the node's containers
        ['web', 'web', undefined],
      ],
    );
    const servers = plays[1]!;
    assert.deepEqual(
      servers.handlers.map((h) => h.name),
      ['hand over raft leadership', 'restart consul', 'consul server back in the raft peer set', 'consul agent back with its checks passing', 'reload consul for new TLS files'],
      'handlers run in this order: hand over, restart, wait until back; a renewed certificate only needs a reload',
    );
    const lb = plays.find((p) => p.name === 'load balancer')!;
    assert.ok(lb.handlers.some((h) => h.name === 'reload nginx' && h.params.state === 'reloaded'), 'nginx is reloaded, never restarted');
    assert.ok(!plays.flatMap((p) => [...p.tasks, ...p.handlers]).some((t) => t.params.name === 'nginx' && t.params.state === 'restarted'));
    // each LB play runs only for its load_balancer
    assert.ok(lb.tasks.every((t) => t.when?.startsWith("(load_balancer === 'nginx')") || t.when === "load_balancer === 'nginx'"));
    const haproxy = plays.find((p) => p.name === 'load balancer (haproxy)')!;
    assert.ok(haproxy.tasks.every((t) => t.when?.startsWith("(load_balancer === 'haproxy')") || t.when === "load_balancer === 'haproxy'"));
    assert.ok(haproxy.handlers.some((h) => h.name === 'reload haproxy' && h.params.state === 'reloaded'));
    assert.ok(!haproxy.handlers.some((h) => h.params.name === 'haproxy' && h.params.state === 'restarted'), 'a new configuration reloads haproxy');
  });
});

describe('the playbooks use the keywords instead of working around them', () => {
  const plays = async () => {
    const { loadPlaybooks } = await import('../../src/playbook/load-playbooks.js');
    const { getModule } = await import('../../src/modules/index.js');
    return loadPlaybooks([join(SRC_GOLDEN, '..', '..', 'playbooks', 'site.yml')], getModule);
  };

  test('the once-per-cluster ACL steps are run_once, and no task picks a host by its place in a group', async () => {
    const all = await plays();
    const acl = all.find((p) => p.name === 'consul ACLs')!;
    assert.deepEqual(acl.tasks.filter((t) => t.runOnce).map((t) => t.name), ['wait until consul has elected a leader and bootstrapped its ACLs', 'consul ACL policies', 'consul ACL tokens']);
    const wait = acl.tasks.find((t) => t.name.startsWith('wait until'))!;
    assert.deepEqual([wait.module, (wait.params.argv as string[])[0], wait.until, wait.retries, wait.delay], ['command', 'curl', '!acl_ready.failed', 90, 2], 'the leader wait is an until on curl');
    for (const t of all.flatMap((p) => [...p.tasks, ...p.handlers])) assert.doesNotMatch(`${t.when ?? ''} ${t.delegateTo ?? ''}`, /groups\.\w+\[0\]/, t.name);
  });

  test('a cleanup and its guard are one script: the guard runs it with `check` instead of `remove`', async () => {
    const tasks = (await plays()).flatMap((p) => p.tasks).filter((t) => t.name.includes('no longer in the inventory'));
    assert.equal(tasks.length, 3, tasks.map((t) => t.name).join(', '));
    for (const t of tasks) {
      const { argv, unless } = t.params as { argv: string[]; unless: string[] };
      assert.deepEqual([argv.slice(0, 2), argv[3]], [['sh', '-c'], 'remove'], t.name);
      assert.deepEqual(unless, [...argv.slice(0, 3), 'check', ...argv.slice(4)], t.name);
    }
  });
});

describe('every download and local API call of the playbooks is bounded', () => {
  /** Each curl invocation in a parameter value: an argv list starting with curl, or the text from a `curl` word to the end of its command in a shell string. */
  function curls(value: unknown): string[] {
    if (Array.isArray(value)) return value[0] === 'curl' ? [value.join(' ')] : value.flatMap(curls);
    if (typeof value === 'string') return [...value.matchAll(/(?:^|[\s;|&(])(curl\s[^;|&\n]*)/g)].map((m) => m[1]!);
    if (value && typeof value === 'object') return Object.values(value).flatMap(curls);
    return [];
  }

  test('every curl has --connect-timeout and --max-time; every binary download has connect_timeout and max_time', async () => {
    const { loadPlaybooks } = await import('../../src/playbook/load-playbooks.js');
    const { getModule } = await import('../../src/modules/index.js');
    const plays = loadPlaybooks([join(SRC_GOLDEN, '..', '..', 'playbooks', 'site.yml')], getModule);
    const tasks = plays.flatMap((p) => [...p.tasks, ...p.handlers]);
    const found = tasks.flatMap((t) => curls(t.params).map((c) => ({ task: t.name, curl: c })));
    assert.ok(found.length >= 8, `the playbooks' curls were found (${found.length})`);
    for (const { task, curl } of found) {
      assert.match(curl, /--connect-timeout[ =]\S+/, `${task}: ${curl}`);
      assert.match(curl, /--max-time[ =]\S+/, `${task}: ${curl}`);
    }
    const downloads = tasks.filter((t) => t.module === 'binary' && t.params.url !== undefined);
    assert.ok(downloads.length >= 2);
    for (const t of downloads) assert.deepEqual([t.params.connect_timeout, t.params.max_time], ['<%= download.connect_timeout %>', '<%= download.max_time %>'], t.name);
  });
});

describe('Upstart accepts every job (the real init-checkconf of the Upstart the lab builds)', async () => {
  const { ensureUpstartBuild } = await import('../../src/lab/upstart-build.js');
  const { UPSTART_NODE_JOBS_DIR } = await import('../../src/lab/upstart-node.js');
  const { initCheckconf } = await import('../helpers/upstart.js');
  const build = await ensureUpstartBuild();
  const templatesDir = join(SRC_GOLDEN, '..', '..', 'templates');
  const jobTemplates = readdirSync(templatesDir).flatMap((dir) =>
    existsSync(join(templatesDir, dir)) && statSync(join(templatesDir, dir)).isDirectory()
      ? readdirSync(join(templatesDir, dir)).filter((f) => f.endsWith('.upstart.ejs')).map((f) => f.replace(/\.upstart\.ejs$/, ''))
      : [],
  );
  const jobs = new Map<string, string>();
  for (const files of rendered('upstart').values()) {
    for (const file of files.values()) {
      const match = /^\/etc\/init\/([^/]+)\.conf$/.exec(file.dest);
      if (match) jobs.set(match[1]!, file.content);
    }
  }

  const nodeJobs = new Map(readdirSync(UPSTART_NODE_JOBS_DIR).filter((f) => f.endsWith('.conf')).map((f) => [f.replace(/\.conf$/, ''), readFileSync(join(UPSTART_NODE_JOBS_DIR, f), 'utf8')]));
  const consul = jobs.get('consul')!;
  const broken = {
    stanza: initCheckconf(build, 'consul', consul.replace('respawn limit', 'respawn limt')),
    shell: initCheckconf(build, 'registrator', jobs.get('registrator')!.replace('|| true', '|| then')),
  };
  // each check starts its own init and polls it once a second: run them side by side
  const checks = new Map(await Promise.all([...jobs, ...[...nodeJobs].map(([n, c]) => [`lab node ${n}`, c] as const)]
    .map(async ([name, content]) => [name, await initCheckconf(build, name.replace(/^lab node /, ''), content)] as const)));

  test('every templates/*/*.upstart.ejs is rendered by the upstart case', () => {
    assert.deepEqual([...jobs.keys()].sort(), [...jobTemplates].sort());
  });

  for (const [name, check] of checks) {
    test(`${name} job`, () => {
      assert.ok(check.ok, check.output);
      assert.match(check.output, /syntax ok/);
    });
  }

  test('a broken job fails: an unknown stanza, and a shell syntax error in a script block', async () => {
    const stanza = await broken.stanza;
    assert.equal(stanza.ok, false);
    assert.match(stanza.output, /consul\.conf:\d+: Unknown stanza/);
    const shell = await broken.shell;
    assert.equal(shell.ok, false);
    assert.match(shell.output, /shell syntax invalid in pre-start section/);
  });
});
