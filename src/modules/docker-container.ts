import type { ArgvCommand } from '../argv.js';
import { dockerContainerFact, dockerImageFact } from '../facts/docker.js';
import type { ContainerState, ImageState } from '../facts/docker.js';
import type { Change, Module, Plan } from './types.js';
import { hostPathProblem } from './params.js';
import { sha256 } from './write-file.js';

export type DockerContainerParams = {
  name: string;
  image: string;
  command?: string[];
  ports?: string[];
  env?: Record<string, string>;
  env_file?: string;
  volumes?: string[];
  network?: string;
  restart?: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  labels?: Record<string, string>;
  state?: 'started' | 'stopped' | 'absent';
};

export const HASH_LABEL = 'bootstrap.hash';
const SECRET_NAME = /pass|secret|token|key|credential|auth|private/i;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const sortedEntries = (map: Record<string, string> | undefined) =>
  Object.entries(map ?? {}).map(([k, v]) => [k, String(v)] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * The definition in a canonical form (order-free lists sorted), whose sha256 is kept in a label.
 * Environment values are left out (only the names are in): a label anyone with `docker inspect`
 * can read must not let them test guesses of a secret. The values are compared with the
 * container's own environment instead (planContainer).
 */
export function canonicalDefinition(p: DockerContainerParams): string {
  return JSON.stringify({
    image: p.image,
    command: p.command ?? [],
    ports: [...(p.ports ?? [])].sort(),
    env: sortedEntries(p.env).map(([name]) => name),
    env_file: p.env_file ?? null,
    volumes: [...(p.volumes ?? [])].sort(),
    network: p.network ?? null,
    restart: p.restart ?? 'unless-stopped',
    labels: sortedEntries(p.labels),
  });
}

export function definitionHash(p: DockerContainerParams): string {
  return sha256(canonicalDefinition(p));
}

/**
 * docker run/create. Environment values travel on stdin as an env file (`cat | docker ... --env-file /dev/stdin`),
 * so no value is in argv; the command is sensitive when a variable name looks secret.
 */
export function runCommand(p: DockerContainerParams, verb: 'run' | 'create'): ArgvCommand {
  const env = sortedEntries(p.env);
  const argv = [
    'docker', verb, ...(verb === 'run' ? ['-d'] : []),
    '--name', p.name,
    '--label', `${HASH_LABEL}=${definitionHash(p)}`,
    ...sortedEntries(p.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    '--restart', p.restart ?? 'unless-stopped',
    ...(p.network ? ['--network', p.network] : []),
    ...(p.ports ?? []).flatMap((port) => ['-p', port]),
    ...(p.volumes ?? []).flatMap((volume) => ['-v', volume]),
    ...(p.env_file ? ['--env-file', p.env_file] : []),
    ...(env.length ? ['--env-file', '/dev/stdin'] : []),
    p.image,
    ...(p.command ?? []),
  ];
  if (!env.length) return { argv };
  // through cat, /dev/stdin is a pipe even when the transport's stdin is a socket
  const piped = ['sh', '-c', 'cat | "$@"', 'sh', ...argv];
  const stdin = env.map(([k, v]) => `${k}=${v}\n`).join('');
  return { argv: piped, stdin, ...(env.some(([k]) => SECRET_NAME.test(k)) ? { sensitive: true } : {}) };
}

export function planContainer(p: DockerContainerParams, container: ContainerState | null, image: ImageState | null, dockerPresent: boolean): Plan {
  const state = p.state ?? 'started';
  const remove: ArgvCommand = { argv: ['docker', 'rm', '-f', p.name] };
  if (state === 'absent') {
    return container
      ? { changes: [{ title: `remove container ${p.name} (${container.status})`, commands: [remove] }] }
      : { changes: [], reason: `container ${p.name} absent` };
  }
  const verb = state === 'started' ? 'run' : 'create';
  if (!container) {
    const why = dockerPresent ? 'absent' : 'absent; docker not installed yet';
    return { changes: [{ title: `${verb} container ${p.name} from ${p.image} (${why})`, commands: [runCommand(p, verb)] }] };
  }
  const hashDiffers = container.labels[HASH_LABEL] !== definitionHash(p);
  const imageDiffers = image !== null && container.imageId !== image.id;
  // names only: a title never shows an environment value
  const envChanged = sortedEntries(p.env).filter(([name, value]) => container.env[name] !== value).map(([name]) => name);
  if (hashDiffers || imageDiffers || envChanged.length > 0) {
    const why = hashDiffers ? 'definition changed' : imageDiffers ? `image ${p.image} is now ${image!.id.slice(0, 19)}` : `environment ${envChanged.join(', ')} changed`;
    return { changes: [{ title: `recreate container ${p.name} (${why})`, commands: [remove, runCommand(p, verb)] }] };
  }
  const changes: Change[] = [];
  if (state === 'started' && !container.running) changes.push({ title: `start container ${p.name} (${container.status})`, commands: [{ argv: ['docker', 'start', p.name] }] });
  if (state === 'stopped' && container.running) changes.push({ title: `stop container ${p.name} (running)`, commands: [{ argv: ['docker', 'stop', p.name] }] });
  return changes.length ? { changes } : { changes, reason: `container ${p.name} ${container.status}, definition unchanged` };
}

const stringList = { type: 'list', items: { type: 'string' } } as const;
const stringMap = { type: 'map', fields: {}, additional: { type: 'string' } } as const;

export const dockerContainerModule: Module<DockerContainerParams> = {
  name: 'docker_container',
  params: {
    name: { type: 'string', required: true, pattern: /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, patternHint: 'a container name' },
    image: { type: 'string', required: true },
    command: stringList,
    ports: { type: 'list', items: { type: 'string', pattern: /^([0-9.]+:)?(\d+)?:?\d+(\/(tcp|udp))?$/, patternHint: '"8080:80" or "10.0.0.3:8080:80"' } },
    env: stringMap,
    env_file: { type: 'string', check: hostPathProblem, description: 'an absolute path on the host' },
    volumes: stringList,
    network: { type: 'string' },
    restart: { type: 'string', enum: ['no', 'always', 'unless-stopped', 'on-failure'], default: 'unless-stopped' },
    labels: stringMap,
    state: { type: 'string', enum: ['started', 'stopped', 'absent'], default: 'started' },
  },
  validate(p) {
    const problems: Array<[string, string]> = [];
    for (const [k, v] of Object.entries(p.env ?? {})) {
      if (!ENV_NAME.test(k)) problems.push([`env.${k}`, 'expected a variable name (letters, digits, _)']);
      if (/[\r\n]/.test(String(v))) problems.push([`env.${k}`, 'values cannot contain line breaks']);
    }
    for (const k of Object.keys(p.labels ?? {})) if (k === HASH_LABEL) problems.push([`labels.${k}`, `${HASH_LABEL} is reserved`]);
    return problems;
  },
  facts: (p) => [dockerContainerFact(p.name), dockerImageFact(p.image)],
  plan(p, read) {
    const container = read(dockerContainerFact(p.name));
    const image = read(dockerImageFact(p.image));
    return planContainer(p, container.value, image.value, container.dockerPresent);
  },
};
