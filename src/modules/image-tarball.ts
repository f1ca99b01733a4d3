import { gunzipSync } from 'node:zlib';

/** Reads one member of a (possibly gzipped) tar archive held in memory; null when absent. */
export function tarMember(archive: Buffer, member: string): Buffer | null {
  const tar = archive[0] === 0x1f && archive[1] === 0x8b ? gunzipSync(archive) : archive;
  let offset = 0;
  let paxPath: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const prefix = field(257, 6).startsWith('ustar') ? field(345, 155) : '';
    const name = paxPath ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    const body = tar.subarray(offset + 512, offset + 512 + size);
    paxPath = undefined;
    if (type === 'x') paxPath = /\d+ path=(.*)\n/.exec(body.toString('utf8'))?.[1];
    else if (name.replace(/^\.\//, '') === member) return Buffer.from(body);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return null;
}

/** The image id (sha256:...) of the single image in a `docker save` tarball. */
export function imageIdOfTarball(archive: Buffer): string {
  const manifest = tarMember(archive, 'manifest.json');
  if (!manifest) throw new Error('not a docker image tarball (no manifest.json)');
  const entries = JSON.parse(manifest.toString('utf8')) as Array<{ Config?: string }>;
  const config = entries[0]?.Config;
  const hex = config ? /([0-9a-f]{64})(\.json)?$/.exec(config)?.[1] : undefined;
  if (!hex) throw new Error('docker image tarball manifest.json names no image config');
  return `sha256:${hex}`;
}
