/**
 * The bin users run is the esbuild bundle (dist/bundle, made by `npm run build`); the other tests
 * run tsc's output of the same sources. Here the bundle itself: it is fresh, it answers as tsc's
 * build does offline, it runs a playbook against real sshd (ssh2 inside the bundle, templates and
 * diffs loaded at run time from node_modules), it compiles from V8's code cache, and the lab's
 * artifact server, a detached process of its own entry, starts from the bundle's file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bundledCliPath, runCli } from '../helpers/cli.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bundleDir = join(root, 'dist', 'bundle');

function newestSource(dir: string): { path: string; mtime: number } {
  let newest = { path: dir, mtime: 0 };
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, name.name);
    const found = name.isDirectory() ? newestSource(path) : { path, mtime: statSync(path).mtimeMs };
    if (found.mtime > newest.mtime) newest = found;
  }
  return newest;
}

const bundled = (args: string[], env?: Record<string, string>) => runCli(args, { cli: bundledCliPath, env });

describe('the bundled bin', () => {
  let dir: string;
  let sshd: Sshd;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bootstrap-bundle-'));
    sshd = await startSshd();
  });
  after(async () => {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is what package.json runs, built after the newest source (else: npm run build)', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    assert.equal(join(root, pkg.bin.bootstrap!), bundledCliPath);
    const source = newestSource(join(root, 'src'));
    assert.ok(statSync(bundledCliPath).mtimeMs >= source.mtime, `${bundledCliPath} is older than ${source.path}: run npm run build`);
  });

  it('answers --version, --help and validate as the tsc build does', async () => {
    for (const args of [['--version'], ['--help'], ['validate', join(root, 'inventory', 'example.yaml')], ['validate', join(dir, 'missing.yaml')]]) {
      const [ours, tsc] = await Promise.all([bundled(args), runCli(args)]);
      assert.deepEqual(ours, tsc, args.join(' '));
    }
  });

  it('runs a playbook on real sshd: a template, a diff, then a no-op', async () => {
    writeFileSync(join(dir, 'motd.ejs'), 'host <%= inventory_hostname %> in <%= groups.g.length %> group(s)\n');
    writeFileSync(
      join(dir, 'site.yml'),
      `- name: bundle\n  hosts: g\n  become: false\n  tasks:\n    - name: dir\n      file: { path: "<%= root %>", state: directory }\n` +
        `    - name: motd\n      template: { src: ${join(dir, 'motd.ejs')}, dest: "<%= root %>/motd" }\n`,
    );
    writeFileSync(
      join(dir, 'inventory.yaml'),
      `all:\n  vars:\n    ssh: { user: root, key: ${sshd.clientKeyPath}, known_hosts: ${sshd.knownHostsFile} }\n  children:\n    g:\n      hosts:\n        h1: { address: 127.0.0.1, port: ${sshd.port}, vars: { root: ${join(dir, 'h1')} } }\n`,
    );
    const args = [join(dir, 'inventory.yaml'), '--playbook', join(dir, 'site.yml'), '--diff'];
    const first = await bundled(args);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /\+host h1 in 1 group\(s\)/);
    assert.equal(readFileSync(join(dir, 'h1', 'motd'), 'utf8'), 'host h1 in 1 group(s)\n');
    const again = await bundled(args);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /No changes: 1 host/);
  });

  it("compiles from V8's code cache: written by the first run, taken as it is by the next, replaced when damaged, grown by the first run of each kind", async () => {
    const cacheHome = join(dir, 'cache-home');
    const cacheDir = join(cacheHome, 'bootstrap', 'code-cache');
    const run = async (args: string[]) => {
      const result = await bundled(args, { XDG_CACHE_HOME: cacheHome });
      assert.equal(result.code, 0, result.stderr);
      const [file, ...others] = readdirSync(cacheDir);
      assert.deepEqual(others, []);
      const path = join(cacheDir, file!);
      const bytes = readFileSync(path);
      return { path, inode: statSync(path).ino, size: bytes.length, kinds: bytes.subarray(0, bytes.indexOf(0x0a)).toString() };
    };
    const version = () => run(['--version']);
    const first = await version();
    assert.match(first.path, new RegExp(`${process.version}-${process.arch}-\\d+-\\d+\\.bin$`));
    // a cache V8 took is not written again
    assert.equal((await version()).inode, first.inode);
    writeFileSync(first.path, 'not a code cache');
    const replaced = await version();
    assert.notEqual(replaced.inode, first.inode);
    assert.ok(replaced.size > 100_000);
    assert.equal(replaced.kinds, '');
    // --version compiles little: a validate, a kind of run the cache has not seen, writes it again with what it compiled
    const validate = ['validate', join(root, 'inventory', 'example.yaml')];
    const grown = await run(validate);
    assert.notEqual(grown.inode, replaced.inode);
    assert.equal(grown.kinds, 'validate');
    assert.ok(grown.size > replaced.size * 1.5, `${grown.size} bytes after validate, ${replaced.size} after --version`);
    assert.equal((await run(validate)).inode, grown.inode);
    assert.equal((await version()).inode, grown.inode);
    // the no-op of the playbook above: the kinds add up, each written once
    const apply = [join(dir, 'inventory.yaml'), '--playbook', join(dir, 'site.yml')];
    const applied = await run(apply);
    assert.equal(applied.kinds, 'validate apply');
    assert.equal((await run(apply)).inode, applied.inode);
  });

  it("starts the lab's artifact server as its own process from the bundle's file", async () => {
    writeFileSync(join(dir, 'served.txt'), 'served\n');
    const urlFile = join(dir, 'url');
    const child = spawn(process.execPath, [join(bundleDir, 'artifact-server-main.js'), dir, '127.0.0.1', '0', urlFile], { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 10_000;
      while (!existsSync(urlFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const url = readFileSync(urlFile, 'utf8').trim();
      const body = await new Promise<string>((resolve, reject) => {
        get(`${url}/served.txt`, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
      assert.equal(body, 'served\n');
    } finally {
      child.kill();
    }
  });
});
