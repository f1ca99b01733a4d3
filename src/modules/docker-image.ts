import { dockerImageFact } from '../facts/docker.js';
import { checkLocalFile, localPath, readLocalFile } from './local-file.js';
import type { Module, ModuleContext, Plan } from './types.js';
import type { FactReader } from '../facts/types.js';
import { imageIdOfTarballFile } from './image-tarball.js';
import { escapePath } from './binary.js';
import { uploadCommands, withLeftoverRemoval } from './write-file.js';
import { leftoversFact, tempPathFor } from '../facts/leftovers.js';

/** Where an image tarball is uploaded (as this path's temp file) before docker load reads it: a directory of root's. */
export function imageUploadPath(name: string): string {
  return `/var/lib/bootstrap/images/${escapePath(name)}.tar`;
}

export type DockerImageParams = {
  name: string;
  src?: string;
  pull?: boolean;
};

export const dockerImageModule: Module<DockerImageParams> = {
  name: 'docker_image',
  params: {
    name: { type: 'string', required: true, pattern: /^[a-z0-9][a-z0-9._\/:@-]*$/, patternHint: 'an image reference, e.g. gliderlabs/registrator:latest' },
    src: { type: 'string', description: 'local image tarball (docker save) to upload and docker load' },
    pull: { type: 'boolean', description: 'pull when absent (default true without src)' },
  },
  validate(p, ctx) {
    const problems = checkLocalFile('src', p.src, ctx.localDir, ctx.pending);
    if (p.src !== undefined && p.pull === true) problems.push(['pull', 'pull and src exclude each other']);
    return problems;
  },
  facts: (p, ctx) => [dockerImageFact(p.name), ...(p.src !== undefined ? [leftoversFact(imageUploadPath(p.name), ctx)] : [])],
  plan(p, read, ctx) {
    const plan = planImage(p, read, ctx);
    return p.src !== undefined ? withLeftoverRemoval(plan, imageUploadPath(p.name), read(leftoversFact(imageUploadPath(p.name), ctx))) : plan;
  },
};

function planImage(p: DockerImageParams, read: FactReader, ctx: ModuleContext): Plan {
  const current = read(dockerImageFact(p.name)).value;
  if (p.src !== undefined) {
    const id = imageIdOfTarballFile(localPath(p.src, ctx.localDir));
    if (current?.id === id) return { changes: [], reason: `image ${p.name} present (${id.slice(0, 19)})` };
    const why = current ? `${current.id.slice(0, 19)} differs from ${id.slice(0, 19)}` : 'absent';
    // docker load is given the upload only once the host verified it whole: never a stream cut short
    const tmp = tempPathFor(imageUploadPath(p.name), ctx.runId);
    return {
      changes: [{
        title: `load image ${p.name} from ${localPath(p.src, ctx.localDir)} (${why})`,
        commands: [
          ...uploadCommands(tmp, readLocalFile(p.src, ctx.localDir), '0600', { makeDir: true }),
          { argv: ['docker', 'load', '-q', '-i', tmp] },
          { argv: ['rm', '-f', '--', tmp] },
          { argv: ['docker', 'tag', id, p.name] },
        ],
      }],
    };
  }
  if (current) return { changes: [], reason: `image ${p.name} present (${current.id.slice(0, 19)})` };
  if (p.pull === false) return { changes: [], reason: `image ${p.name} absent (pull: false)` };
  return { changes: [{ title: `pull image ${p.name} (absent)`, commands: [{ argv: ['docker', 'pull', p.name] }] }] };
}
