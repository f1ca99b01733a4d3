import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { cacheDir, withCacheLock } from '../artifacts/cache.js';
import { binarySource } from '../artifacts/go.js';
import { ensureConsulBinary, ensureConsulTemplateBinary } from './go-builds.js';
import { CONSUL_TEMPLATE_VERSION, CONSUL_VERSION, PREVIOUS_CONSUL_TEMPLATE_VERSION, PREVIOUS_CONSUL_VERSION } from './versions.js';

/**
 * A directory laid out like releases.hashicorp.com, so the stack installs the lab's binaries
 * exactly as it installs HashiCorp's in production:
 *   <root>/<product>/<version>/<product>_<version>_linux_amd64.zip
 *   <root>/<product>/<version>/<product>_<version>_SHA256SUMS   ("<sha256>  <file name>" lines)
 */
export interface ReleaseFiles {
  product: string;
  version: string;
  /** Absolute paths. */
  zip: string;
  sums: string;
  /** Paths relative to the root, i.e. the URL path under the server's base URL. */
  zipPath: string;
  sumsPath: string;
  sha256: string;
  /** Where the binary came from: a release zip (checked against its SHA256SUMS), or built from the Go module proxy. */
  source: string;
}

export interface ReleaseArtifacts {
  root: string;
  consul: ReleaseFiles;
  consulTemplate: ReleaseFiles;
}

export function releasesRoot(): string {
  return join(cacheDir(), 'releases');
}

export function releaseFileNames(product: string, version: string): { dir: string; zip: string; sums: string } {
  return { dir: `${product}/${version}`, zip: `${product}_${version}_linux_amd64.zip`, sums: `${product}_${version}_SHA256SUMS` };
}

export interface ZipEntry {
  name: string;
  data: Buffer;
  /** Unix permission bits (e.g. 0o755), kept so unzip restores the executable bit. */
  mode: number;
}

// DOS date 1980-01-01, time 00:00:00: every zip built from the same bytes is the same bytes.
const FIXED_DOS_DATE = (0 << 9) | (1 << 5) | 1;
const FIXED_DOS_TIME = 0;
const MADE_BY_UNIX_V2 = (3 << 8) | 20;
const S_IFREG = 0o100000;

/** A deflated zip with fixed timestamps and no extra fields. */
export function deterministicZip(entries: readonly ZipEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const compressed = deflateRawSync(entry.data, { level: 9 });
    const crc = crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: deflate
    local.writeUInt16LE(0, 6); // flags
    local.writeUInt16LE(8, 8); // method: deflate
    local.writeUInt16LE(FIXED_DOS_TIME, 10);
    local.writeUInt16LE(FIXED_DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28); // extra length
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(MADE_BY_UNIX_V2, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(0, 8);
    header.writeUInt16LE(8, 10);
    header.writeUInt16LE(FIXED_DOS_TIME, 12);
    header.writeUInt16LE(FIXED_DOS_DATE, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(compressed.length, 20);
    header.writeUInt32LE(entry.data.length, 24);
    header.writeUInt16LE(name.length, 28);
    // extra, comment, disk number, internal attributes: all 0
    header.writeUInt32LE(((S_IFREG | entry.mode) << 16) >>> 0, 38);
    header.writeUInt32LE(offset, 42);
    parts.push(local, name, compressed);
    central.push(header, name);
    offset += local.length + name.length + compressed.length;
  }
  const centralBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, centralBytes, end]);
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function writeAtomically(path: string, data: Buffer | string): void {
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, data);
  renameSync(temp, path);
}

/** Zips one binary into `<root>/<product>/<version>/` with its SHA256SUMS, unless already there. */
export function writeRelease(root: string, product: string, version: string, binaryPath: string): ReleaseFiles {
  const names = releaseFileNames(product, version);
  const dir = join(root, names.dir);
  mkdirSync(dir, { recursive: true });
  const zip = join(dir, names.zip);
  const sums = join(dir, names.sums);
  if (!existsSync(zip) || !existsSync(sums)) {
    const archive = deterministicZip([{ name: product, data: readFileSync(binaryPath), mode: 0o755 }]);
    writeAtomically(zip, archive);
    writeAtomically(sums, `${sha256Hex(archive)}  ${names.zip}\n`);
  }
  const sha256 = sha256Hex(readFileSync(zip));
  return { product, version, zip, sums, zipPath: `${names.dir}/${names.zip}`, sumsPath: `${names.dir}/${names.sums}`, sha256, source: binarySource(binaryPath) };
}

/**
 * Builds (once) consul and consul-template and lays out their release zips under `releasesRoot()`:
 * the pinned versions, or with `previous` the releases before them (for upgrades on the lab).
 */
export async function ensureReleaseArtifacts(previous = false): Promise<ReleaseArtifacts> {
  const [consul, consulTemplate] = previous ? [PREVIOUS_CONSUL_VERSION, PREVIOUS_CONSUL_TEMPLATE_VERSION] : [CONSUL_VERSION, CONSUL_TEMPLATE_VERSION];
  const consulBinary = await ensureConsulBinary(consul);
  const consulTemplateBinary = await ensureConsulTemplateBinary(consulTemplate);
  const root = releasesRoot();
  return withCacheLock('releases', async () => ({
    root,
    consul: writeRelease(root, 'consul', consul, consulBinary),
    consulTemplate: writeRelease(root, 'consul-template', consulTemplate, consulTemplateBinary),
  }));
}
