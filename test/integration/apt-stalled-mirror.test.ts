/**
 * The package module's `apt-get update`, as planned, run by sh on this machine with the real
 * apt-get against a mirror on loopback whose first answer stalls mid-transfer, as a mirror, or a
 * proxy in front of one, can: a byte now and then, so apt's own timeouts never end it. apt-get works in a directory of the
 * test's own (APT_CONFIG names its lists, cache, sources and an empty configuration directory),
 * so the machine's own apt state is not touched.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { planPackages } from '../../src/modules/package.js';
import { processesWithEnv } from '../helpers/processes.js';

/** A flat repository: an unsigned Release (the source is trusted=yes) naming its Packages, which lists one package. */
const PACKAGES = 'Package: bootstrap-stall-test\nVersion: 1.0\nArchitecture: all\nMaintainer: test <test@example.com>\nFilename: ./bootstrap-stall-test_1.0_all.deb\nSize: 1\nSHA256: ' + '0'.repeat(64) + '\nDescription: a package the stalled mirror lists\n';
const RELEASE = `Origin: bootstrap-test\nLabel: bootstrap-test\nDate: ${new Date().toUTCString()}\nSHA256:\n ${createHash('sha256').update(PACKAGES).digest('hex')} ${Buffer.byteLength(PACKAGES)} Packages\n`;

describe('apt-get update against a mirror that stalls', () => {
  let dir: string;
  let base: string;
  const requests: string[] = [];
  let trickle: NodeJS.Timeout | undefined;
  const server = createServer((req, res: ServerResponse) => {
    const path = (req.url ?? '').replace(/^\/(\.\/)?/, '/');
    requests.push(path);
    // the first answer stalls mid-transfer: a byte now and then, never the whole of it, so apt's
    // own inactivity timeout never fires
    if (requests.length === 1) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(1 << 20) });
      trickle = setInterval(() => res.write('x'), 500);
      return;
    }
    const body = path === '/Release' ? RELEASE : path === '/Packages' ? PACKAGES : undefined;
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/plain' }).end(body ?? '');
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-apt-stall-'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    for (const sub of ['parts', 'lists/partial', 'cache/archives/partial']) mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(join(dir, 'sources.list'), `deb [trusted=yes] ${base} ./\n`);
    writeFileSync(join(dir, 'main.conf'), '');
    writeFileSync(join(dir, 'apt.conf'), [
      `Dir::Etc::Main "${dir}/main.conf";`, `Dir::Etc::Parts "${dir}/parts";`, `Dir::Etc::SourceList "${dir}/sources.list";`,
      `Dir::Etc::SourceParts "${dir}/parts";`, `Dir::State::Lists "${dir}/lists";`, `Dir::Cache "${dir}/cache";`, 'APT::Sandbox::User "root";',
    ].join('\n'));
  });
  after(() => {
    clearInterval(trickle);
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the stalled try is ended after its seconds, the next one fetches the lists, and no apt process is left', async () => {
    const planned = planPackages({ name: 'nginx' }, new Map(), null, 'r1').changes[0]!.commands[0]!.argv;
    assert.deepEqual(planned.slice(3, 7), ['retry', '5', '12', '300']);
    // three tries of 3 s each, no wait between them
    const argv = [...planned.slice(0, 4), '3', '0', '3', ...planned.slice(7)];
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, APT_CONFIG: join(dir, 'apt.conf') };
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    assert.equal(code, 0, stderr);
    assert.match(stderr, /^try 1 of 3 ended after 3 s$/m);
    assert.equal(requests[0], '/InRelease', 'the stalled request');
    assert.ok(requests.slice(1).includes('/Release') && requests.slice(1).includes('/Packages'), `the next try fetched the lists: ${requests.join(' ')}`);
    const list = readdirSync(join(dir, 'lists')).find((file) => file.endsWith('_Packages'));
    assert.equal(list && readFileSync(join(dir, 'lists', list), 'utf8'), PACKAGES, 'the Packages list is in place');
    assert.deepEqual(processesWithEnv(`APT_CONFIG=${join(dir, 'apt.conf')}`), [], 'no apt-get or apt method of the ended try is left');
  });
});
