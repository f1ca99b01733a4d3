import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { onFrames, send, type Request } from '../../src/transport/keeper/protocol.js';

test('keeper frames arrive whole and in order over a Unix socket: small ones sharing a chunk, a 20 MB body spread over many', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bootstrap-keeper-frames-'));
  const received: Array<[Request, Buffer]> = [];
  const body = randomBytes(20 << 20);
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const server = createServer((socket: Socket) => onFrames<Request>(socket, (header, b) => {
    received.push([header, Buffer.from(b)]);
    if (received.length === 4) done();
  }));
  await new Promise<void>((resolve) => server.listen(join(dir, 's'), resolve));
  const client = connect(join(dir, 's'));
  await new Promise((resolve) => client.once('connect', resolve));
  try {
    send(client, { op: 'exec', id: 1, argv: ['true'], stdin: false });
    send(client, { op: 'exec', id: 2, argv: ['cat', 'ünïcode file'], stdin: true }, body);
    send(client, { op: 'release', id: 3 });
    send(client, { op: 'exec', id: 4, argv: [], stdin: true }, Buffer.from('x'));
    await all;
    assert.deepEqual(received.map(([h]) => h), [
      { op: 'exec', id: 1, argv: ['true'], stdin: false },
      { op: 'exec', id: 2, argv: ['cat', 'ünïcode file'], stdin: true },
      { op: 'release', id: 3 },
      { op: 'exec', id: 4, argv: [], stdin: true },
    ]);
    assert.equal(received[0]![1].length, 0);
    assert.ok(received[1]![1].equals(body), 'the large body arrives intact');
    assert.equal(received[3]![1].toString(), 'x');
  } finally {
    client.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
