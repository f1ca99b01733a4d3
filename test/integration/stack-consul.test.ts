import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureConsulBinary, ensureConsulTemplateBinary } from '../../src/lab/go-builds.js';
import { batchScript, parseBatch } from '../../src/facts/batch.js';
import type { Fact, FactReader } from '../../src/facts/types.js';
import { getModule } from '../../src/modules/index.js';
import type { Module, Plan } from '../../src/modules/types.js';
import { parseHealthInstances, parseUpstreamServers } from '../../src/verify/parse.js';
import {
  DEBIAN_12,
  factsFor,
  fakeSecret,
  GOLDEN,
  loadCase,
  nginxPrefixConfig,
  renderHostFiles,
  renderHostTasks,
  run,
  startDevConsul,
  type DevConsul,
} from '../golden/stack-harness.js';

/*
 * The rendered consul and consul-template files against the real programs: `consul validate`,
 * the playbook's ACL bootstrap commands against a real agent, consul-template rendering the app
 * templates with the least-privilege token, and nginx -t on what it rendered.
 */

const SRC_GOLDEN = GOLDEN.replace(/\/dist\/test\/golden$/, '/test/golden');
let consul: string;
let consulTemplate: string;
let work: string;
let agent: DevConsul;

function files(caseName: string, host: string, facts = factsFor(DEBIAN_12)) {
  return new Map(renderHostFiles(loadCase(caseName), host, facts).map((f) => [f.dest, f.content]));
}

before(async () => {
  consul = await ensureConsulBinary();
  consulTemplate = await ensureConsulTemplateBinary();
  work = mkdtempSync(join(tmpdir(), 'stack-consul-'));
  agent = await startDevConsul(consul, work);
});

after(async () => {
  await agent?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('consul configuration', () => {
  for (const [caseName, host] of [['plain', 'lb1'], ['plain', 'web1'], ['three-lb', 'lb2'], ['tls', 'lb1']] as const) {
    test(`consul validate accepts ${caseName}/${host}`, async () => {
      const dir = join(work, `validate-${caseName}-${host}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'consul.hcl'), files(caseName, host).get('/etc/consul.d/consul.hcl')!);
      const result = await run([consul, 'validate', dir]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
    });
  }

  test('consul validate rejects a broken file (the check can fail)', async () => {
    const dir = join(work, 'validate-broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'consul.hcl'), files('plain', 'lb1').get('/etc/consul.d/consul.hcl')!.replace('bootstrap_expect = 1', 'bootstrap_expect = "one"'));
    const result = await run([consul, 'validate', dir]);
    assert.notEqual(result.code, 0);
  });
});

describe('the ACL tasks of playbooks/common.yml against a real agent', () => {
  const inv = () => loadCase('plain');
  const ACL_MODULES = ['consul_acl_policy', 'consul_acl_token'];

  /** The rendered ACL tasks of lb1, pointed at the dev agent and a header file with its management token. */
  function aclTasks(inventory = inv()): Array<{ name: string; module: Module; params: Record<string, unknown> }> {
    const header = join(work, 'management.header');
    writeFileSync(header, files('plain', 'lb1').get('/etc/consul/management.header')!, { mode: 0o600 });
    return ACL_MODULES.flatMap((name) =>
      renderHostTasks(inventory, 'lb1', factsFor(DEBIAN_12), name).map((t) => ({
        name: t.name,
        module: getModule(name)!,
        params: { ...(t.params as Record<string, unknown>), url: `http://127.0.0.1:${agent.httpPort}`, header_file: header },
      })),
    );
  }

  /** What the modules read of consul, through the real fact batch script run by sh (all tasks' facts in one batch, as a run sends them). */
  async function gathered(tasks: ReturnType<typeof aclTasks>): Promise<{ read: FactReader; script: string; stdout: string }> {
    const facts = tasks.flatMap((t) => t.module.facts(t.params, undefined as never));
    const script = batchScript(facts);
    const result = await run(['sh', '-s'], { input: script });
    assert.equal(result.code, 0, result.stderr);
    const values = parseBatch(result.stdout, facts, script);
    return { read: <T>(fact: Fact<T>) => values.get(fact.key) as T, script, stdout: result.stdout };
  }

  async function plans(tasks: ReturnType<typeof aclTasks>): Promise<Plan[]> {
    const { read } = await gathered(tasks);
    return Promise.all(tasks.map((t) => t.module.plan(t.params, read, undefined as never)));
  }

  async function apply(plan: Plan): Promise<void> {
    for (const command of plan.changes.flatMap((c) => c.commands)) {
      const result = await run([...command.argv], { input: command.stdin as string });
      assert.equal(result.code, 0, `${command.argv.join(' ')}: ${result.stderr}`);
    }
  }

  test('policies and tokens are created, then read back as described, all of them by one curl', async () => {
    const tasks = aclTasks();
    // a policy and a token each for the agents, consul-template, consul DNS (haproxy LBs), registrator,
    // acme-renew and nginx's ACME challenges
    assert.equal(tasks.length, 12, tasks.map((t) => t.name).join(', '));
    const { script, stdout } = await gathered(tasks);
    assert.equal(script.match(/\bcurl\b/g)?.length, 1, 'one curl for the twelve objects');
    assert.doesNotMatch(stdout, new RegExp(fakeSecret('registrator_token', 'uuid')), 'no token secret leaves the host');
    const before = await plans(tasks);
    assert.deepEqual(before.map((p) => p.changes.length), tasks.map(() => 1), 'nothing exists yet');
    assert.match(before[0]!.changes[0]!.title, /^create ACL policy bootstrap-agent/);
    // policies first, as the play runs them: the tokens link them by name
    for (const plan of before) await apply(plan);
    const after = await plans(tasks);
    assert.deepEqual(after.map((p) => p.changes.length), tasks.map(() => 0), after.flatMap((p) => p.changes.map((c) => c.title)).join('; '));
    assert.match(after[0]!.reason!, /consul has ACL policy bootstrap-agent as described/);
    // the tokens carry the secrets consul-template and registrator are configured with
    const self = await agent.api('GET', '/v1/acl/token/self', undefined, fakeSecret('consul_template_token', 'uuid'));
    assert.equal(self.status, 200, self.text);
    assert.match(self.text, /bootstrap-consul-template/);
    // the agent token the stack writes into consul.hcl (acl.tokens.agent), given to the dev agent at run time
    const agentToken = await agent.api('PUT', '/v1/agent/token/agent', { Token: fakeSecret('consul_agent_token', 'uuid') });
    assert.equal(agentToken.status, 200, agentToken.text);
  });

  test('a changed rule or description updates the policy in place, and a changed token description the token; nothing else changes', async () => {
    const policyOf = async (name: string) => JSON.parse((await agent.api('GET', `/v1/acl/policy/name/${name}`)).text) as { ID: string; Description: string; Rules: string };
    const before = await policyOf('bootstrap-registrator');
    // the inventory's vars win over the play's: an operator who narrows registrator's rules
    const changed = inv();
    const lb1 = changed.hosts.get('lb1')!;
    const rules = 'service_prefix "" { policy = "write" }\nnode_prefix "lb" { policy = "read" }\n';
    lb1.vars = {
      ...lb1.vars,
      consul_acl_tokens: [{ policy: 'bootstrap-registrator', description: 'registrator, narrowed', secret: 'registrator_token', accessor: 'registrator_accessor', rules }],
    };
    const tasks = aclTasks(changed);
    assert.deepEqual(tasks.map((t) => t.name), ['consul ACL policies', 'consul ACL tokens']);
    const stale = await plans(tasks);
    assert.deepEqual(stale.map((p) => p.changes.map((c) => c.title)), [['update ACL policy bootstrap-registrator (description and rules differ)'], ['update ACL token "registrator, narrowed" (description differs)']]);
    for (const plan of stale) await apply(plan);
    assert.deepEqual((await plans(tasks)).map((p) => p.changes.length), [0, 0]);
    const after = await policyOf('bootstrap-registrator');
    assert.deepEqual([after.ID, after.Description, after.Rules], [before.ID, 'registrator, narrowed', rules], 'updated, not created anew');
    const token = JSON.parse((await agent.api('GET', `/v1/acl/token/${fakeSecret('registrator_accessor', 'uuid')}`)).text) as { Description: string; Policies: Array<{ ID: string }> };
    assert.equal(token.Description, 'registrator, narrowed');
    assert.deepEqual(token.Policies.map((p) => p.ID), [before.ID]);
    // the other policies and tokens were left as they were
    const all = aclTasks();
    const plansNow = await plans(all);
    all.forEach((task, i) => {
      const registrator = JSON.stringify(task.params).includes('bootstrap-registrator');
      assert.equal(plansNow[i]!.changes.length, registrator ? 1 : 0, `${task.name}: ${JSON.stringify(task.params.name ?? task.params.description)}`);
    });
  });

  test('an agent that does not answer reads as status 0 for every object (a create is planned; its PUT would fail)', async () => {
    const tasks = aclTasks().map((t) => ({ ...t, params: { ...t.params, url: 'http://127.0.0.1:1' } }));
    const { read } = await gathered(tasks);
    for (const t of tasks) assert.deepEqual(read(t.module.facts(t.params, undefined as never)[0]!), { status: 0 }, t.name);
    const planned = await plans(tasks);
    assert.ok(planned.every((p) => /consul answered nothing/.test(p.changes[0]!.title)), planned.map((p) => p.changes[0]?.title).join('; '));
  });

  test('the registrator token may register services, the consul-template token may not', async () => {
    const service = { Name: 'myapp', ID: 'web1:myapp:8080', Address: '10.0.0.5', Port: 8080 };
    const denied = await agent.api('PUT', '/v1/agent/service/register', service, fakeSecret('consul_template_token', 'uuid'));
    assert.equal(denied.status, 403, denied.text);
    const allowed = await agent.api('PUT', '/v1/agent/service/register', service, fakeSecret('registrator_token', 'uuid'));
    assert.equal(allowed.status, 200, allowed.text);
    await agent.api('PUT', '/v1/agent/service/register', { ...service, ID: 'web2:myapp:8080', Address: '10.0.0.6' }, fakeSecret('registrator_token', 'uuid'));
    const health = await agent.api('GET', '/v1/health/service/myapp?passing=1', undefined, fakeSecret('consul_template_token', 'uuid'));
    assert.deepEqual(parseHealthInstances(health.text), ['10.0.0.5:8080', '10.0.0.6:8080']);
  });
});

describe('consul-template renders the app templates that nginx accepts', () => {
  const certDir = join(SRC_GOLDEN, 'tls', 'certs');

  async function renderWithConsulTemplate(ctmpl: string, name: string): Promise<string> {
    const src = join(work, `${name}.ctmpl`);
    const dest = join(work, `${name}.conf`);
    writeFileSync(src, ctmpl);
    rmSync(dest, { force: true });
    const result = await run([consulTemplate, '-once', `-consul-addr=127.0.0.1:${agent.httpPort}`, `-template=${src}:${dest}`], {
      env: { ...process.env, CONSUL_HTTP_TOKEN: fakeSecret('consul_template_token', 'uuid') },
    });
    assert.equal(result.code, 0, result.stderr);
    return readFileSync(dest, 'utf8');
  }

  async function nginxTest(confs: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    const prefix = mkdtempSync(join(work, 'nginx-'));
    const tlsDir = join(prefix, 'tls');
    for (const app of ['shop', 'shop-next', 'secure']) {
      mkdirSync(join(tlsDir, app), { recursive: true });
      writeFileSync(join(tlsDir, app, 'cert.pem'), readFileSync(join(certDir, 'shop.crt')));
      writeFileSync(join(tlsDir, app, 'key.pem'), readFileSync(join(certDir, 'shop.key')));
    }
    const conf = nginxPrefixConfig(prefix, confs, { http: 18080, https: 18443 }, tlsDir);
    return run(['nginx', '-t', '-p', prefix, '-c', conf]);
  }

  test('the rendered config.hcl is accepted by consul-template (-dry -once)', async () => {
    const lb = files('tls', 'lb1');
    const templatesDir = join(work, 'ct-templates');
    mkdirSync(templatesDir, { recursive: true });
    for (const [dest, content] of lb) if (dest.startsWith('/etc/consul-template/templates/')) writeFileSync(join(templatesDir, dest.split('/').pop()!), content);
    const config = join(work, 'config.hcl');
    writeFileSync(config, lb.get('/etc/consul-template/config.hcl')!.replaceAll('/etc/consul-template/templates/', `${templatesDir}/`));
    const result = await run([consulTemplate, `-config=${config}`, `-consul-addr=127.0.0.1:${agent.httpPort}`, '-dry', '-once'], {
      env: { ...process.env, CONSUL_HTTP_TOKEN: fakeSecret('consul_template_token', 'uuid') },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /upstream shop \{/);
  });

  // nginx 1.22 here checks the `listen 443 ssl http2` form; the `http2 on;` form (Debian 13's
  // nginx 1.26) is checked by the real nginx of the Debian 13 lab LB (test/e2e/lab.test.ts)
  for (const [caseName, facts] of [['plain', factsFor(DEBIAN_12)], ['tls', factsFor(DEBIAN_12)], ['iphash-keepalive', factsFor(DEBIAN_12)]] as const) {
    test(`${caseName}: registered instances become the upstream, nginx -t passes`, async () => {
      const lb = renderHostFiles(loadCase(caseName), 'lb1', facts);
      const confs: Record<string, string> = {};
      for (const file of lb) {
        if (file.dest.startsWith('/etc/nginx/conf.d/')) confs[file.dest.split('/').pop()!] = file.content;
      }
      for (const file of lb.filter((f) => f.dest.startsWith('/etc/consul-template/templates/'))) {
        const app = file.dest.split('/').pop()!.replace('.ctmpl', '');
        const rendered = await renderWithConsulTemplate(file.content, app);
        const upstream = parseUpstreamServers(rendered, app);
        if (app === 'myapp') {
          assert.deepEqual(upstream, { servers: ['10.0.0.5:8080', '10.0.0.6:8080'], placeholder: false, found: true });
        } else {
          assert.deepEqual(upstream, { servers: [], placeholder: true, found: true }, `${app}: expected the placeholder`);
        }
        confs[`${app}.conf`] = rendered;
      }
      const result = await nginxTest(confs);
      assert.equal(result.code, 0, result.stderr);
    });
  }

  test('an app whose instances all left renders the placeholder and stays valid', async () => {
    for (const id of ['web1:myapp:8080', 'web2:myapp:8080']) {
      const r = await agent.api('PUT', `/v1/agent/service/deregister/${id}`);
      assert.equal(r.status, 200, r.text);
    }
    // the agent syncs the deregistration to the catalog asynchronously
    for (let i = 0; i < 50 && (await agent.api('GET', '/v1/health/service/myapp?passing=1')).text !== '[]'; i++) await new Promise((r) => setTimeout(r, 100));
    const ctmpl = files('plain', 'lb1').get('/etc/consul-template/templates/myapp.ctmpl')!;
    const rendered = await renderWithConsulTemplate(ctmpl, 'myapp');
    assert.deepEqual(parseUpstreamServers(rendered, 'myapp'), { servers: [], placeholder: true, found: true });
    const result = await nginxTest({ '00-bootstrap.conf': files('plain', 'lb1').get('/etc/nginx/conf.d/00-bootstrap.conf')!, 'myapp.conf': rendered });
    assert.equal(result.code, 0, result.stderr);
  });
});
