import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A minimal static file server for the release directory: GET/HEAD only, files only, nothing outside the root. */
export interface ArtifactServer {
  url: string;
  stop: () => Promise<void>;
}

function contentType(path: string): string {
  if (path.endsWith('.zip')) return 'application/zip';
  if (path.endsWith('.tar')) return 'application/x-tar';
  return path.endsWith('SHA256SUMS') || path.endsWith('.txt') ? 'text/plain; charset=utf-8' : 'application/octet-stream';
}

function refuse(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(message), ...headers });
  res.end(message);
}

/** The file under `root` a request path names, or undefined for anything else (dirs, traversal, symlinks out). */
function resolveFile(root: string, rawPath: string): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(rawPath.split('?')[0] ?? '');
  } catch {
    return undefined;
  }
  if (path.includes('\0')) return undefined;
  const candidate = resolve(root, `.${path.startsWith('/') ? path : `/${path}`}`);
  if (!candidate.startsWith(root + sep)) return undefined;
  try {
    const real = realpathSync(candidate);
    if (!real.startsWith(root + sep) || !statSync(real).isFile()) return undefined;
    return real;
  } catch {
    return undefined;
  }
}

function handler(root: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      refuse(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
      return;
    }
    const file = resolveFile(root, req.url ?? '/');
    if (!file) {
      refuse(res, 404, 'not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': contentType(file), 'Content-Length': statSync(file).size });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  };
}

/** Serves `root` on bindAddress:port (port 0 picks a free one) inside this process. */
export function startArtifactServer(root: string, bindAddress: string, port: number): Promise<ArtifactServer> {
  const realRoot = realpathSync(root);
  const server = createServer(handler(realRoot));
  return new Promise((resolveStart, rejectStart) => {
    server.once('error', rejectStart);
    server.listen(port, bindAddress, () => {
      server.off('error', rejectStart);
      const { port: actualPort } = server.address() as AddressInfo;
      const host = bindAddress.includes(':') ? `[${bindAddress}]` : bindAddress;
      resolveStart({
        url: `http://${host}:${actualPort}`,
        stop: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

const PID_FILE = 'artifact-server.pid';
const URL_FILE = 'artifact-server.url';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The same server in a detached process that outlives the CLI (`lab up`). Its pid and URL are
 * kept in `stateDir`; `stopArtifactServer(stateDir)` ends it. A server already running from the
 * same state dir is reused.
 */
export async function startArtifactServerDetached(root: string, bindAddress: string, port: number, stateDir: string): Promise<{ url: string; pid: number }> {
  mkdirSync(stateDir, { recursive: true });
  const pidFile = join(stateDir, PID_FILE);
  const urlFile = join(stateDir, URL_FILE);
  if (existsSync(pidFile) && existsSync(urlFile)) {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
    if (pidAlive(pid)) return { url: readFileSync(urlFile, 'utf8').trim(), pid };
  }
  rmSync(urlFile, { force: true });
  const log = openSync(join(stateDir, 'artifact-server.log'), 'a');
  // its own entry, beside this file in the bundle and in the tsc build alike
  const child = spawn(process.execPath, [fileURLToPath(new URL('./artifact-server-main.js', import.meta.url)), root, bindAddress, String(port), urlFile], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  if (child.pid === undefined) throw new Error('could not start the artifact server process');
  writeFileSync(pidFile, `${child.pid}\n`);
  const deadline = Date.now() + 10_000;
  while (!existsSync(urlFile)) {
    if (!pidAlive(child.pid) || Date.now() > deadline) {
      throw new Error(`the artifact server (pid ${child.pid}) did not start listening on ${bindAddress}:${port}; see ${join(stateDir, 'artifact-server.log')}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  return { url: readFileSync(urlFile, 'utf8').trim(), pid: child.pid };
}

/** Ends the detached server started from `stateDir`, if any; returns whether one was running. */
export async function stopArtifactServer(stateDir: string): Promise<boolean> {
  const pidFile = join(stateDir, PID_FILE);
  if (!existsSync(pidFile)) return false;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
  let wasRunning = false;
  if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
    wasRunning = true;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 5_000;
    while (pidAlive(pid) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 50));
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(pidFile, { force: true });
  rmSync(join(stateDir, URL_FILE), { force: true });
  return wasRunning;
}

/** The detached process's work (artifact-server-main.ts): node artifact-server-main.js ROOT BIND PORT URL_FILE */
export async function serveFromArgv(args: readonly string[]): Promise<void> {
  const [root, bindAddress, port, urlFile] = args;
  if (!root || !bindAddress || !port || !urlFile) {
    process.stderr.write('usage: artifact-server-main.js ROOT BIND_ADDRESS PORT URL_FILE\n');
    process.exitCode = 2;
    return;
  }
  const server = await startArtifactServer(root, bindAddress, Number(port));
  writeFileSync(`${urlFile}.tmp`, `${server.url}\n`);
  renameSync(`${urlFile}.tmp`, urlFile);
  // Once the server is closed nothing keeps the event loop alive and the process ends.
  process.once('SIGTERM', () => void server.stop());
}
