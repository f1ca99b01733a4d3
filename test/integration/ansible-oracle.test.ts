/**
 * ansible-core as the oracle for the keywords and modules docs/playbooks.md says work as in Ansible.
 * Each case is one playbook intent: an Ansible playbook, run by ansible-playbook, and its
 * translation (Jinja to EJS/JavaScript, test/oracle/translate.ts), run by bootstrap. Both run on the same three real
 * sshd hosts (loopback; each host works under its own `root` directory, one per engine), and the
 * test compares what each left behind: the files under every host's root, every task's status on
 * every host (in order), the rescued/ignored counts and the exit class.
 */
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { startSshd } from '../helpers/sshd.js';
import { events, runCli } from '../helpers/cli.js';
import { ansiblePlaybook, runAnsible } from '../helpers/ansible.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { oracleCases, HOSTS, SERVED, type Host } from '../oracle/cases.js';
import { toBootstrap } from '../oracle/translate.js';

type Sshd = Awaited<ReturnType<typeof startSshd>>;
type Event = Record<string, any>;

/** What both engines are compared on. */
interface Outcome {
  exit: string;
  /** per host: "task: status" in the order the host ran them */
  results: Record<string, string[]>;
  recap: Record<string, { rescued: number; ignored: number }>;
  /** per host: every file under its root, by relative path */
  files: Record<string, Record<string, string>>;
}

const ANSIBLE_EXIT: Record<number, string> = { 0: 'ok', 2: 'failed', 4: 'unreachable' };
const BOOTSTRAP_EXIT: Record<number, string> = { 0: 'ok', 3: 'failed', 4: 'unreachable' };

/** Ansible's implicit fact-gathering task: bootstrap gathers in the first round trip, with no task of its own (docs/playbooks.md, Coming from Ansible). */
const IMPLICIT = new Set(['Gathering Facts']);

function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[relative(dir, full)] = readFileSync(full, 'utf8');
    }
  };
  walk(dir);
  return out;
}

function outcomeOf(exit: string, evs: Event[], recap: Record<string, any>, root: (h: Host) => string, leftOut: string[] = []): Outcome {
  const results: Record<string, string[]> = {};
  const counts: Outcome['recap'] = {};
  const files: Outcome['files'] = {};
  for (const h of HOSTS) {
    results[h] = evs
      .filter((e) => e.type === 'task:result' && e.host === h && !IMPLICIT.has(e.task) && !leftOut.includes(e.task))
      .map((e) => `${e.task}: ${e.status}${e.ignored ? ' (ignored)' : ''}`);
    counts[h] = { rescued: recap[h]?.rescued ?? 0, ignored: recap[h]?.ignored ?? 0 };
    files[h] = filesUnder(root(h));
  }
  return { exit, results, recap: counts, files };
}

/**
 * Cases run side by side (each has its own roots, lock files and Ansible work directory on the
 * shared hosts), and within a case both engines run at once unless it changes the machine
 * (cleanup). BOOTSTRAP_ORACLE_CONCURRENCY=1 runs everything one after the other.
 */
const CONCURRENCY = Number(process.env.BOOTSTRAP_ORACLE_CONCURRENCY ?? 3);

describe('ansible-core as the oracle: the same playbook intent, the same outcome', { concurrency: CONCURRENCY }, () => {
  const servers = {} as Record<Host, Sshd>;
  let dir: string;
  /** what the cases download: SERVED at @@URL@@ (oracle/cases.ts), on loopback */
  let http: Server;
  let baseUrl: string;
  before(async () => {
    // as a web server serving files does: Last-Modified, and 304 to a request for a copy at least as new
    const modified = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    http = createServer((req, res) => {
      const body = SERVED[req.url ?? ''];
      if (body === undefined) return void res.writeHead(404).end('not found');
      if (typeof body === 'function') {
        const reply = body(req);
        return void res.writeHead(reply.status, reply.headers).end(reply.body);
      }
      const since = Date.parse(req.headers['if-modified-since'] ?? '');
      if (since >= modified.getTime()) return void res.writeHead(304).end();
      res.writeHead(200, { 'last-modified': modified.toUTCString() }).end(body);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    ansiblePlaybook(); // fails the suite at once, saying where ansible-core should be, when it is missing
    const first = await startSshd();
    servers.h1 = first;
    for (const h of HOSTS.slice(1)) servers[h] = await startSshd({ clientKeyPath: first.clientKeyPath });
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-oracle-'));
    writeFileSync(join(dir, 'known_hosts'), HOSTS.map((h) => readFileSync(servers[h].knownHostsFile, 'utf8')).join(''));
  });
  after(async () => {
    http?.close();
    for (const h of HOSTS) await servers[h]?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * The loopback hosts share one filesystem: each gets its own lock file and state directory (the
   * pending handlers), as real hosts have, so one host's pending handler is not another's and
   * cases running side by side do not meet.
   */
  const inventories = (caseDir: string, root: (engine: string, h: Host) => string) => {
    const key = servers.h1.clientKeyPath;
    const knownHosts = join(dir, 'known_hosts');
    const ansible = `all:
  vars:
    ansible_user: root
    ansible_ssh_private_key_file: ${key}
    ansible_ssh_common_args: -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes
    ansible_python_interpreter: /usr/bin/python3
  children:
    app:
      hosts:
${HOSTS.map((h) => `        ${h}: { ansible_host: 127.0.0.1, ansible_port: ${servers[h].port}, root: ${root('ansible', h)} }`).join('\n')}
`;
    const bootstrap = `all:
  vars:
    ssh: { user: root, key: ${key}, known_hosts: ${knownHosts} }
  children:
    app:
      hosts:
${HOSTS.map((h) => `        ${h}: { address: 127.0.0.1, port: ${servers[h].port}, vars: { root: ${root('bootstrap', h)}, lock_file: ${join(caseDir, `${h}.lock`)}, state_dir: ${join(caseDir, `${h}.state`)} } }`).join('\n')}
`;
    return { ansible, bootstrap };
  };

  oracleCases.forEach((c, i) => {
    it(c.name, async (t) => {
      const caseDir = join(dir, `case${i}`);
      const root = (engine: string, h: Host) => join(caseDir, engine, 'roots', h);
      for (const engine of ['ansible', 'bootstrap']) for (const h of HOSTS) mkdirSync(root(engine, h), { recursive: true });
      const inv = inventories(caseDir, root);
      for (const engine of ['ansible', 'bootstrap']) {
        for (const [name, text] of Object.entries(c.files ?? {})) {
          mkdirSync(dirname(join(caseDir, engine, name)), { recursive: true });
          writeFileSync(join(caseDir, engine, name), engine === 'bootstrap' ? toBootstrap(text) : text);
        }
        c.prepare?.(join(caseDir, engine));
      }
      writeFileSync(join(caseDir, 'ansible', 'inventory.yml'), inv.ansible);
      writeFileSync(join(caseDir, 'ansible', 'site.yml'), c.ansible.replaceAll('@@URL@@', baseUrl));
      writeFileSync(join(caseDir, 'bootstrap', 'inventory.yaml'), inv.bootstrap);
      writeFileSync(join(caseDir, 'bootstrap', 'site.yml'), toBootstrap(c.ansible, c.js).replaceAll('@@URL@@', baseUrl));

      const cleanup = () => {
        for (const argv of c.cleanup ?? []) spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
      };
      const timed = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
        const start = Date.now();
        return [await run(), Date.now() - start];
      };
      const ansible = () => timed(() => runAnsible(join(caseDir, 'ansible', 'inventory.yml'), join(caseDir, 'ansible', 'site.yml'), c.args ?? [], join(caseDir, 'ansible')));
      const bootstrap = () => timed(() => runCli([join(caseDir, 'bootstrap', 'inventory.yaml'), '--playbook', join(caseDir, 'bootstrap', 'site.yml'), '--output', 'json', ...(c.args ?? [])]));
      let runs: [[Awaited<ReturnType<typeof runAnsible>>, number], [Awaited<ReturnType<typeof runCli>>, number]];
      if (c.cleanup || CONCURRENCY === 1) {
        // what the case changes outside the roots is shared by both engines: one after the other, each from a clean machine
        cleanup();
        const first = await ansible();
        cleanup();
        runs = [first, await bootstrap()];
        cleanup();
      } else {
        runs = await Promise.all([ansible(), bootstrap()]);
      }
      const [[a, aMs], [b, bMs]] = runs;
      t.diagnostic(`ansible-playbook ${aMs} ms, bootstrap ${bMs} ms`);
      const aEnd = a.events.find((e) => e.type === 'run:end');
      assert.ok(aEnd, `ansible-playbook ended without a recap (exit ${a.code}):\n${a.stderr}\n${a.stdout}`);
      const expected = outcomeOf(ANSIBLE_EXIT[a.code!] ?? `exit ${a.code}`, a.events, aEnd.recap, (h) => root('ansible', h), c.includes);
      const evs = b.code === 2 ? [] : events(b.stdout);
      const bEnd = evs.find((e) => e.type === 'run:end');
      const got = outcomeOf(BOOTSTRAP_EXIT[b.code!] ?? `exit ${b.code}`, evs, bEnd?.recap ?? {}, (h) => root('bootstrap', h));

      const failures = evs.filter((e) => e.type === 'task:result' && e.failure).map((e) => `${e.host} ${e.task}: ${e.failure.message}`);
      const detail = `--- bootstrap failures:\n${failures.join('\n')}\n--- bootstrap stderr:\n${b.stderr}\n--- ansible stdout:\n${a.stdout}`;
      assert.deepEqual(got, expected, `bootstrap (first) differs from ansible-core (second)\n${detail}`);
      c.check?.(expected);
    });
  });
});
