/**
 * The stack on Debian 13 (trixie) nodes: lb1 and web1 run trixie, web2 bookworm. This runs, for
 * real, the `http2 on;` branch of the nginx template (nginx 1.26), docker.io 26 with
 * registrator's 2018-era Docker client, and consul and consul-template there.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { labAppsPlaybook, labDownCommand, labUpCommand, verifyUntilPassing } from '../../src/commands/lab.js';
import { DEMO_APP_IMAGE } from '../../src/lab/app-image.js';
import { parseDistros } from '../../src/lab/nodes.js';
import { defaultPlaybook } from '../../src/paths.js';
import { allPassed, formatCheckTable } from '../../src/verify/index.js';
import { runCli } from '../helpers/cli.js';
import { onNode } from '../helpers/lab.js';
import { get, upstream, waitFor } from '../helpers/traffic.js';

const apply = (inventory: string, ...args: string[]) => runCli([inventory, '--playbook', defaultPlaybook, '--playbook', labAppsPlaybook, ...args]);

describe('the stack on trixie nodes', { timeout: 30 * 60_000 }, () => {
  let inventory: string;

  before(async () => {
    await labDownCommand();
    inventory = await labUpCommand({ lb: 1, web: 2, distros: parseDistros('lb1=trixie,web1=trixie') });
  });
  after(async () => {
    if (!process.env.BOOTSTRAP_KEEP_LAB) await labDownCommand();
  });

  it('1. bootstraps lb1 and web1 on trixie beside web2 on bookworm, and verify passes', async () => {
    assert.match(await onNode('lb1', '. /etc/os-release; echo $VERSION_CODENAME'), /^trixie$/);
    assert.match(await onNode('web2', '. /etc/os-release; echo $VERSION_CODENAME'), /^bookworm$/);
    const first = await apply(inventory);
    assert.equal(first.code, 0, first.stdout.slice(-4000) + first.stderr);
    const results = await verifyUntilPassing(inventory, 120_000);
    assert.ok(allPassed(results), formatCheckTable(results));
    // the real nginx 1.26 reads the `http2 on;` form
    assert.match(await onNode('lb1', 'nginx -v 2>&1'), /nginx\/1\.(2[6-9]|[3-9]\d)/);
    assert.match(await onNode('lb1', 'cat /etc/nginx/conf.d/secure.conf'), /^\s*http2 on;$/m);
    assert.match(await onNode('lb1', 'nginx -t 2>&1'), /test is successful/);
    // registrator on docker.io 26 registered web1's containers
    assert.ok(Number((await onNode('web1', "docker version -f '{{.Server.Version}}'")).split('.')[0]) >= 26);
    assert.match(formatCheckTable(results), /from web1\/demo-1 \(registrator\)/);
    const tls = await get('secure.lab.test', { tls: true });
    assert.equal(tls.status, 200);
  });

  it('2. a container started on the trixie web node serves through the LB, and leaves after docker kill', async () => {
    const id = await onNode('web1', `docker run -d --name t2 -p 80 -e APP_NAME=demo -e SERVICE_NAME=demo -e SERVICE_CHECK_HTTP=/health -e SERVICE_CHECK_INTERVAL=1s ${DEMO_APP_IMAGE}`);
    const port = (await onNode('web1', 'docker port t2 80/tcp | head -n 1')).replace(/^.*:/, '');
    const start = Date.now();
    await waitFor('t2 answering through the LB', async () => (await get('demo.lab.test').catch(() => undefined))?.body ?? '', (b) => b.includes(`host=${id.slice(0, 12)}`), 20_000);
    console.log(`# trixie: docker run -> first answer through nginx within ${Date.now() - start} ms`);
    await onNode('web1', 'docker kill t2');
    await waitFor('t2 out of the upstream', () => upstream('demo'), (u) => !u.some((s) => s.endsWith(`:${port}`)), 15_000);
    await onNode('web1', 'docker rm -f t2');
  });

  it('3. a re-run changes nothing', async () => {
    const again = await apply(inventory);
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /No changes: 3 host\(s\)/);
  });
});
