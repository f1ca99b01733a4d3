import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** Bytes of a tar archive at an offset: from memory, or from an open file (so a no-op never reads the layers). */
type ReadAt = (offset: number, length: number) => Buffer;

function memberOf(readAt: ReadAt, size: number, member: string): Buffer | null {
  let offset = 0;
  let paxPath: string | undefined;
  while (offset + 512 <= size) {
    const header = readAt(offset, 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
    const bodySize = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const prefix = field(257, 6).startsWith('ustar') ? field(345, 155) : '';
    const name = paxPath ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    paxPath = undefined;
    if (type === 'x') paxPath = /\d+ path=(.*)\n/.exec(readAt(offset + 512, bodySize).toString('utf8'))?.[1];
    else if (name.replace(/^\.\//, '') === member) return Buffer.from(readAt(offset + 512, bodySize));
    offset += 512 + Math.ceil(bodySize / 512) * 512;
  }
  return null;
}

const isGzip = (head: Buffer) => head[0] === 0x1f && head[1] === 0x8b;

/** Reads one member of a (possibly gzipped) tar archive held in memory; null when absent. */
export function tarMember(archive: Buffer, member: string): Buffer | null {
  const tar = isGzip(archive) ? gunzipSync(archive) : archive;
  return memberOf((offset, length) => tar.subarray(offset, offset + length), tar.length, member);
}

function imageIdOfManifest(manifest: Buffer | null): string {
  if (!manifest) throw new Error('not a docker image tarball (no manifest.json)');
  const entries = JSON.parse(manifest.toString('utf8')) as Array<{ Config?: string }>;
  const config = entries[0]?.Config;
  const hex = config ? /([0-9a-f]{64})(\.json)?$/.exec(config)?.[1] : undefined;
  if (!hex) throw new Error('docker image tarball manifest.json names no image config');
  return `sha256:${hex}`;
}

/** The image id (sha256:...) of the single image in a `docker save` tarball. */
export function imageIdOfTarball(archive: Buffer): string {
  return imageIdOfManifest(tarMember(archive, 'manifest.json'));
}

const idsOfFiles = new Map<string, string>();

/**
 * imageIdOfTarball of a file, reading only the tar headers and manifest.json of a plain tarball
 * (a gzipped one is read whole), once per file version in the process: every web node's no-op
 * plan asks, and the registrator image is 10 MB.
 */
export function imageIdOfTarballFile(path: string): string {
  const { size, mtimeMs, ino } = statSync(path);
  const version = `${path}\0${size}\0${mtimeMs}\0${ino}`;
  const known = idsOfFiles.get(version);
  if (known) return known;
  const fd = openSync(path, 'r');
  let id: string;
  try {
    const readAt: ReadAt = (offset, length) => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
      readSync(fd, buffer, 0, buffer.length, offset);
      return buffer;
    };
    id = isGzip(readAt(0, 2)) ? imageIdOfTarball(readFileSync(path)) : imageIdOfManifest(memberOf(readAt, size, 'manifest.json'));
  } finally {
    closeSync(fd);
  }
  idsOfFiles.set(version, id);
  return id;
}
