import { quote } from '../command.js';
import type { Fact } from './types.js';

export interface ContainerState {
  id: string;
  /** image id the container runs (sha256:...) */
  imageId: string;
  /** image as given to docker run */
  image: string;
  running: boolean;
  /** created, running, exited, paused, ... */
  status: string;
  labels: Record<string, string>;
}

export interface ImageState {
  id: string;
  repoTags: string[];
}

/** dockerPresent false: no docker CLI on the host (yet). */
export interface DockerObject<T> {
  dockerPresent: boolean;
  value: T | null;
}

function inspectScript(kind: 'container' | 'image', name: string): string {
  return `command -v docker >/dev/null 2>&1 || { echo no-docker; exit 0; }
docker inspect --type ${kind} ${quote(name)} 2>/dev/null
exit 0`;
}

function parseInspect(stdout: string): { dockerPresent: boolean; object: Record<string, any> | null } {
  const text = stdout.trim();
  if (text === 'no-docker') return { dockerPresent: false, object: null };
  if (text === '') return { dockerPresent: true, object: null };
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error('docker inspect did not print a JSON array');
  return { dockerPresent: true, object: (parsed[0] as Record<string, any> | undefined) ?? null };
}

export function parseContainer(stdout: string): DockerObject<ContainerState> {
  const { dockerPresent, object } = parseInspect(stdout);
  if (!object) return { dockerPresent, value: null };
  return {
    dockerPresent,
    value: {
      id: String(object.Id ?? ''),
      imageId: String(object.Image ?? ''),
      image: String(object.Config?.Image ?? ''),
      running: object.State?.Running === true,
      status: String(object.State?.Status ?? ''),
      labels: { ...(object.Config?.Labels ?? {}) },
    },
  };
}

export function parseImage(stdout: string): DockerObject<ImageState> {
  const { dockerPresent, object } = parseInspect(stdout);
  if (!object) return { dockerPresent, value: null };
  return { dockerPresent, value: { id: String(object.Id ?? ''), repoTags: [...(object.RepoTags ?? [])] } };
}

export function dockerContainerFact(name: string): Fact<DockerObject<ContainerState>> {
  return { key: `docker-container:${name}`, script: inspectScript('container', name), parse: parseContainer };
}

export function dockerImageFact(name: string): Fact<DockerObject<ImageState>> {
  return { key: `docker-image:${name}`, script: inspectScript('image', name), parse: parseImage };
}
