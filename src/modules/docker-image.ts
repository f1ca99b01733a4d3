import { dockerImageFact } from '../facts/docker.js';
import { checkLocalFile, localPath, readLocalFile } from './local-file.js';
import type { Module } from './types.js';
import { imageIdOfTarballFile } from './image-tarball.js';

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
  facts: (p) => [dockerImageFact(p.name)],
  plan(p, read, ctx) {
    const current = read(dockerImageFact(p.name)).value;
    if (p.src !== undefined) {
      const id = imageIdOfTarballFile(localPath(p.src, ctx.localDir));
      if (current?.id === id) return { changes: [], reason: `image ${p.name} present (${id.slice(0, 19)})` };
      const why = current ? `${current.id.slice(0, 19)} differs from ${id.slice(0, 19)}` : 'absent';
      return {
        changes: [{
          title: `load image ${p.name} from ${localPath(p.src, ctx.localDir)} (${why})`,
          commands: [{ argv: ['docker', 'load', '-q'], stdin: readLocalFile(p.src, ctx.localDir) }, { argv: ['docker', 'tag', id, p.name] }],
        }],
      };
    }
    if (current) return { changes: [], reason: `image ${p.name} present (${current.id.slice(0, 19)})` };
    if (p.pull === false) return { changes: [], reason: `image ${p.name} absent (pull: false)` };
    return { changes: [{ title: `pull image ${p.name} (absent)`, commands: [{ argv: ['docker', 'pull', p.name] }] }] };
  },
};
