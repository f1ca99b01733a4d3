import { quote } from '../argv.js';
import type { FactFamily, FamilyFact } from './types.js';

/**
 * Consul ACL objects read through the HTTP API with the management token: a policy by name, a
 * token by accessor ID. Every object a batch asks for is fetched by one curl (one process, one
 * connection, one request each), so the stack's six policies and six tokens cost the LB two
 * processes, where a guard command per object cost it some forty. Token secrets are blanked on
 * the host before the output leaves it.
 */
export interface AclItem {
  /** the agent's HTTP address, e.g. http://127.0.0.1:8500 */
  url: string;
  /** a curl header file holding `X-Consul-Token: <management token>` */
  headerFile: string;
  /** the API path, e.g. /v1/acl/policy/name/bootstrap-agent */
  path: string;
}

/** What the API answered: the HTTP status (0 when consul did not answer) and the JSON body of a 200. */
export interface AclObject {
  status: number;
  body?: Record<string, unknown>;
}

const END = 'BOOTSTRAP-ACL-END';

function aclScript(items: readonly AclItem[]): string {
  const groups = new Map<string, AclItem[]>();
  for (const item of items) {
    const key = `${item.url}\0${item.headerFile}`;
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  // a JSON body never holds a raw line break, so the END line after each answer cannot be forged by one
  return [...groups.values()]
    .map((group) => {
      const urls = group.map((item) => quote(`${item.url}${item.path}`)).join(' ');
      return `curl -sS --connect-timeout 2 --max-time 10 -H @${quote(group[0]!.headerFile)} -w '\\n${END} %{http_code}\\n' ${urls} 2>/dev/null | sed 's/"SecretID": *"[^"]*"/"SecretID":""/g'`;
    })
    .join('\n');
}

/** Splits curl's output into one answer per URL, in the order they were asked (groups in first-seen order, as the script runs them). */
function parseAcl(stdout: string, _code: number, items: readonly AclItem[]): AclObject[] {
  const order: AclItem[] = [];
  const groups = new Map<string, AclItem[]>();
  for (const item of items) {
    const key = `${item.url}\0${item.headerFile}`;
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  for (const group of groups.values()) order.push(...group);
  const answers = new Map<AclItem, AclObject>();
  // each answer is its body's lines (consul indents them or not), then the END line with the status
  let body: string[] = [];
  let next = 0;
  for (const line of stdout.split('\n')) {
    const end = new RegExp(`^${END} (\\d{3})$`).exec(line);
    if (!end) {
      body.push(line);
      continue;
    }
    const item = order[next++];
    if (!item) break;
    const status = Number(end[1]);
    let value: Record<string, unknown> | undefined;
    if (status === 200) {
      try {
        value = JSON.parse(body.join('\n')) as Record<string, unknown>;
      } catch {
        throw new Error(`consul answered ${item.path} with a body that is not JSON`);
      }
    }
    answers.set(item, { status, ...(value ? { body: value } : {}) });
    body = [];
  }
  // an answer curl never wrote (it could not start, or consul did not answer at all) is status 0
  return items.map((item) => answers.get(item) ?? { status: 0 });
}

const acl: FactFamily<AclItem, AclObject> = { name: 'consul-acl', script: aclScript, parse: parseAcl, waits: true };

export function aclFact(item: AclItem): FamilyFact<AclObject, AclItem> {
  return { key: `consul-acl:${item.url}:${item.headerFile}:${item.path}`, family: acl, item };
}
