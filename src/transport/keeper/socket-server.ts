import { renameSync, statSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:net';

/**
 * Listens on a Unix socket bound beside `path` and renamed over it: a stale socket (its process
 * was killed) is replaced atomically, and of two servers started at once new clients reach the
 * last. `close()` removes the path only while it is still this server's socket.
 */
export function listenReplacing(server: Server, path: string, ready: () => void): { close(): void } {
  const staging = `${path}.${process.pid}`;
  let listening = 0;
  server.listen(staging, () => {
    renameSync(staging, path);
    listening = statSync(path).ino;
    ready();
  });
  return {
    close() {
      server.close();
      try {
        if (statSync(path).ino === listening) unlinkSync(path);
      } catch {
        // already replaced or gone
      }
    },
  };
}
