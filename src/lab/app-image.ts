import { chmodSync, copyFileSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeImageArchive, type ImageTarball } from '../artifacts/image-archive.js';
import { cacheEntryDir, cachedFile } from '../artifacts/cache.js';
import { runLocal } from '../artifacts/exec-local.js';
import { DEMO_APP_VERSION } from './versions.js';

export const DEMO_APP_IMAGE = `bootstrap-lab/demo-app:${DEMO_APP_VERSION}`;

function freshDir(path: string): string {
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true });
  return path;
}

/** Debian's busybox-static, fetched as a .deb (the only network it needs) and unpacked. */
async function fetchBusyboxStatic(workDir: string): Promise<string> {
  const debDir = freshDir(join(workDir, 'deb'));
  const download = () => runLocal(['apt-get', 'download', 'busybox-static'], { cwd: debDir, check: false });
  let result = await download();
  if (result.code !== 0) {
    // A machine that never ran `apt-get update` knows no package; one update is enough.
    await runLocal(['apt-get', 'update'], { timeoutMs: 300_000 });
    result = await download();
  }
  if (result.code !== 0) throw new Error(`\`apt-get download busybox-static\` (in ${debDir}) exited ${result.code}: ${result.stderr.trim()}`);
  const deb = readdirSync(debDir).find((name) => name.startsWith('busybox-static_') && name.endsWith('.deb'));
  if (!deb) throw new Error(`\`apt-get download busybox-static\` left no busybox-static_*.deb in ${debDir}`);
  const unpacked = freshDir(join(workDir, 'unpacked'));
  await runLocal(['dpkg-deb', '-x', join(debDir, deb), unpacked]);
  return join(unpacked, 'bin', 'busybox');
}

/**
 * The container answers on port 80 with a page naming itself: its hostname (Docker sets it to
 * the short container id) and $APP_NAME, so a test or a person can tell which backend a load
 * balancer picked. /health answers "ok" for health checks. On `docker stop` it drains as a
 * well-behaved app does: the listener goes (new connections are refused, so nginx tries another
 * instance), the requests in flight finish, then it exits. busybox httpd as PID 1 would ignore
 * SIGTERM until Docker's SIGKILL cut the answers it was sending.
 */
const DEMO_ENTRYPOINT = `#!/bin/busybox sh
set -e
host=$(/bin/busybox hostname)
name="\${APP_NAME:-demo-app}"
/bin/busybox mkdir -p /www
printf '<!doctype html>\\n<title>%s</title>\\n<h1>%s</h1>\\n<p>app=%s host=%s</p>\\n' "$name" "$name" "$name" "$host" > /www/index.html
printf 'ok\\n' > /www/health
/bin/busybox httpd -f -p 80 -h /www &
listener=$!
trap '/bin/busybox kill "$listener"; /bin/busybox sleep 0.3; exit 0' TERM INT
wait "$listener"
`;

async function buildDemoAppImage(tarball: string): Promise<void> {
  const workDir = cacheEntryDir('build', 'demo-app', DEMO_APP_VERSION);
  const busybox = await fetchBusyboxStatic(workDir);
  const rootfs = freshDir(join(workDir, 'rootfs'));
  for (const dir of ['bin', 'www', 'tmp', 'etc']) mkdirSync(join(rootfs, dir));
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  copyFileSync(busybox, join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  symlinkSync('busybox', join(rootfs, 'bin', 'sh'));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\n');
  writeFileSync(join(rootfs, 'entrypoint.sh'), DEMO_ENTRYPOINT, { mode: 0o755 });
  await writeImageArchive(rootfs, DEMO_APP_IMAGE, { entrypoint: ['/entrypoint.sh'], env: ['PATH=/bin', 'APP_NAME=demo-app'], exposedPorts: ['80/tcp'] }, tarball);
  rmSync(rootfs, { recursive: true, force: true });
}

/** `bootstrap-lab/demo-app:<ver>`: built once and cached as a `docker save` tarball. */
export async function ensureDemoAppImage(): Promise<ImageTarball> {
  const tarball = join(cacheEntryDir('images', 'demo-app', DEMO_APP_VERSION), 'demo-app.tar');
  await cachedFile(`demo-app-image-${DEMO_APP_VERSION}`, tarball, () => buildDemoAppImage(tarball));
  return { tarball, image: DEMO_APP_IMAGE };
}
