import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { stdoutLines } from '../../src/ui/stdout-lines.js';

describe('stdoutLines', () => {
  it('writes the lines of one tick in one write, in order, and the next tick\'s in another', async () => {
    const writes: string[][] = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, done) {
        writes.push([chunk.toString()]);
        done();
      },
      writev(chunks, done) {
        writes.push(chunks.map((c) => String(c.chunk)));
        done();
      },
    });
    const line = stdoutLines(out as unknown as NodeJS.WriteStream);
    line('ok h1 a');
    line('ok h1 b');
    line('ok h1 c');
    assert.deepEqual(writes, [], 'nothing before the tick ends');
    await new Promise((r) => setImmediate(r));
    line('ok h2 a');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(writes, [['ok h1 a\n', 'ok h1 b\n', 'ok h1 c\n'], ['ok h2 a\n']]);
  });
});
