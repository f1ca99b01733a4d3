import type { ArgvCommand } from '../argv.js';
import { aclFact, type AclItem, type AclObject } from '../facts/consul-acl.js';
import type { Module, ParamSpec, Plan } from './types.js';

/**
 * Consul ACL policies and tokens kept as described, through the HTTP API of a local agent with
 * the management token (a curl header file). Both read what consul has in the fact batch (one
 * curl for all of them: facts/consul-acl.ts) and write with one PUT each: a policy is created,
 * or updated in place (same ID, so tokens keep it) when its description or rules differ; a token
 * is created with the accessor and secret IDs given, or updated when its description or its one
 * policy differ (consul never changes a token's secret, so it is not compared).
 */
interface Endpoint {
  url?: string;
  header_file?: string;
}
export type AclPolicyParams = Endpoint & { name: string; description: string; rules: string };
export type AclTokenParams = Endpoint & { accessor_id: string; secret_id: string; description: string; policy: string };

const DEFAULT_URL = 'http://127.0.0.1:8500';
const DEFAULT_HEADER = '/etc/consul/management.header';
const UUID = { type: 'string', required: true, pattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, patternHint: 'a UUID' } as const;

const endpoint: Record<string, ParamSpec> = {
  url: { type: 'string', default: DEFAULT_URL, pattern: /^https?:\/\/[^\s/]+$/, patternHint: 'http(s)://host:port', description: "the agent's HTTP API" },
  header_file: { type: 'string', default: DEFAULT_HEADER, pattern: /^\//, patternHint: 'an absolute path', description: 'a curl header file with `X-Consul-Token: <management token>`' },
};

function item(p: Endpoint, path: string): AclItem {
  return { url: p.url ?? DEFAULT_URL, headerFile: p.header_file ?? DEFAULT_HEADER, path };
}

/** One PUT of a JSON body (on stdin) to the API. */
function put(p: Endpoint, path: string, body: unknown, sensitive: boolean): ArgvCommand {
  const { url, headerFile } = item(p, path);
  return {
    argv: ['curl', '-fsS', '--connect-timeout', '2', '--max-time', '10', '-H', `@${headerFile}`, '-o', '/dev/null', '-X', 'PUT', '--data-binary', '@-', `${url}${path}`],
    stdin: JSON.stringify(body),
    ...(sensitive ? { sensitive: true } : {}),
  };
}

/** What differs between consul's object and the task's, for the change title ("" when nothing does). */
function differences(pairs: Array<[string, boolean]>): string {
  const names = pairs.filter(([, same]) => !same).map(([name]) => name);
  return names.length === 0 ? '' : `${names.join(' and ')} ${names.length === 1 ? 'differs' : 'differ'}`;
}

const policyPath = (name: string) => `/v1/acl/policy/name/${encodeURIComponent(name)}`;

export const consulAclPolicyModule: Module<AclPolicyParams> = {
  name: 'consul_acl_policy',
  params: {
    name: { type: 'string', required: true, pattern: /^[A-Za-z0-9_-]{1,128}$/, patternHint: 'a consul policy name (letters, digits, _ and -)' },
    description: { type: 'string', required: true },
    rules: { type: 'string', required: true, description: 'the policy in HCL' },
    ...endpoint,
  },
  facts: (p) => [aclFact(item(p, policyPath(p.name)))],
  plan(p, read): Plan {
    const now: AclObject = read(aclFact(item(p, policyPath(p.name))));
    const body = { Name: p.name, Description: p.description, Rules: p.rules };
    if (now.status === 200 && now.body) {
      const differ = differences([['description', now.body.Description === p.description], ['rules', now.body.Rules === p.rules]]);
      if (!differ) return { changes: [], reason: `consul has ACL policy ${p.name} as described` };
      const id = typeof now.body.ID === 'string' ? now.body.ID : '';
      return { changes: [{ title: `update ACL policy ${p.name} (${differ})`, commands: [put(p, `/v1/acl/policy/${id}`, body, false)] }] };
    }
    return { changes: [{ title: `create ACL policy ${p.name} (consul answered ${now.status || 'nothing'})`, commands: [put(p, '/v1/acl/policy', body, false)] }] };
  },
};

export const consulAclTokenModule: Module<AclTokenParams> = {
  name: 'consul_acl_token',
  params: {
    accessor_id: UUID,
    secret_id: UUID,
    description: { type: 'string', required: true },
    policy: { type: 'string', required: true, description: 'the name of the one policy the token links' },
    ...endpoint,
  },
  facts: (p) => [aclFact(item(p, `/v1/acl/token/${p.accessor_id}`))],
  plan(p, read): Plan {
    const now: AclObject = read(aclFact(item(p, `/v1/acl/token/${p.accessor_id}`)));
    const body = { AccessorID: p.accessor_id, SecretID: p.secret_id, Description: p.description, Policies: [{ Name: p.policy }] };
    const label = `ACL token "${p.description}"`;
    if (now.status === 200 && now.body) {
      const policies = Array.isArray(now.body.Policies) ? (now.body.Policies as Array<{ Name?: unknown }>) : [];
      const differ = differences([['description', now.body.Description === p.description], ['policy', policies.length === 1 && policies[0]!.Name === p.policy]]);
      if (!differ) return { changes: [], reason: `consul has ${label} as described` };
      return { changes: [{ title: `update ${label} (${differ})`, commands: [put(p, `/v1/acl/token/${p.accessor_id}`, body, true)] }] };
    }
    return { changes: [{ title: `create ${label} (consul answered ${now.status || 'nothing'})`, commands: [put(p, '/v1/acl/token', body, true)] }] };
  },
};
