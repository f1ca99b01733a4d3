import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fetchPebbleRoot, labPebbleOrders, mapName, readLabPebble, startLabPebble, stopLabPebble } from '../../src/lab/pebble.js';
import { freePort } from '../golden/stack-harness.js';

/*
 * The lab's Pebble (`lab up --acme`) on loopback instead of the lab gateway: the real pebble and
 * pebble-challtestsrv started detached, found again by a second `lab up`, answering ACME over
 * HTTPS with the lab's listener CA, serving its root, mapping names, and stopped by `lab down`.
 */

const work = mkdtempSync(join(tmpdir(), 'lab-pebble-'));
const runDir = join(work, 'run');
after(async () => {
  await stopLabPebble(runDir);
  rmSync(work, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("the lab's Pebble", () => {
  test('starts detached, is reused while it runs, serves ACME and its root, and stops', async () => {
    const options = {
      bindAddress: '127.0.0.1',
      ports: { acme: await freePort(), management: await freePort(), dns: await freePort(), dnsManagement: await freePort() },
      httpPort: await freePort(),
      validitySeconds: 180,
      defaultIPv4: '',
      dir: join(work, 'pebble'),
    };
    const first = await startLabPebble(options, runDir);
    assert.equal(first.pids.length, 2);
    assert.ok(first.pids.every(alive));
    const again = await startLabPebble(options, runDir);
    assert.deepEqual(again.pids, first.pids, 'a second lab up reuses the running Pebble (its accounts live in its memory)');

    const { request } = await import('node:https');
    const { readFileSync } = await import('node:fs');
    const directory = await new Promise<Record<string, unknown>>((done, fail) => {
      const url = new URL(first.directoryUrl);
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, ca: readFileSync(first.caBundle), servername: 'localhost' }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => done(JSON.parse(body) as Record<string, unknown>));
      });
      req.on('error', fail);
      req.end();
    });
    assert.match(String(directory.newOrder), /^https:\/\/127\.0\.0\.1:\d+\//, 'the directory answers over HTTPS trusted through acme.ca_bundle');
    const root = new X509Certificate(await fetchPebbleRoot(options, first.caBundle));
    assert.match(root.subject, /Pebble Root CA/);
    await mapName(options, 'auto.lab.test', ['172.30.10.11', '172.30.10.12']);
    assert.equal(labPebbleOrders(readLabPebble(runDir)!), 0);

    assert.equal(await stopLabPebble(runDir), true);
    assert.ok(first.pids.every((pid) => !alive(pid)));
    assert.equal(readLabPebble(runDir), undefined);
    assert.equal(await stopLabPebble(runDir), false);
  });
});
