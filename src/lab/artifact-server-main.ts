/** The lab's artifact server as a process of its own (started detached by artifact-server.ts). */
import { serveFromArgv } from './artifact-server.js';

void serveFromArgv(process.argv.slice(2));
