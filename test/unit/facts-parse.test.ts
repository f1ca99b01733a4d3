import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { batchScript, parseBatch } from '../../src/facts/batch.js';
import { parseDocker } from '../../src/facts/docker.js';
import { normalizeMode, parseFiles, statTime } from '../../src/facts/file.js';
import { parseHostFacts } from '../../src/facts/host.js';
import { aptListsAgeFact, parsePackages } from '../../src/facts/packages.js';
import { parseUnits, parseUpstartJob } from '../../src/facts/service.js';
import type { FactFamily, ScriptFact } from '../../src/facts/types.js';

const fact = (key: string, script: string): ScriptFact<{ stdout: string; code: number }> => ({ key, script, parse: (stdout, code) => ({ stdout, code }) });

function runBatch(facts: ScriptFact<unknown>[]): { script: string; output: string } {
  const script = batchScript(facts);
  const run = spawnSync('sh', ['-s'], { input: script, encoding: 'utf8' });
  return { script, output: run.stdout };
}

describe('batch', () => {
  it('keeps exact stdout (with or without a final newline) and exit codes; a failing fact does not stop the rest', () => {
    const facts = [
      fact('a', 'printf "no newline"'),
      fact('b', 'printf "two\\n\\n"; exit 3'),
      fact('c', 'exit 0'),
      fact('d', 'false'),
      fact('e', 'cat; echo after-cat'),
      fact('f', 'set -e; false; echo never'),
    ];
    const { script, output } = runBatch(facts);
    const values = parseBatch(output, facts, script);
    assert.deepEqual(Object.fromEntries(values), {
      a: { stdout: 'no newline', code: 0 },
      b: { stdout: 'two\n\n', code: 3 },
      c: { stdout: '', code: 0 },
      d: { stdout: '', code: 1 },
      e: { stdout: 'after-cat\n', code: 0 },
      f: { stdout: '', code: 1 },
    });
  });

  it('output that imitates a marker without the nonce cannot confuse parsing', () => {
    const facts = [fact('x', 'echo "BOOTSTRAP-FACT-0000 end 0 0"; echo real'), fact('y', 'echo y')];
    const { script, output } = runBatch(facts);
    assert.deepEqual(parseBatch(output, facts, script).get('x'), { stdout: 'BOOTSTRAP-FACT-0000 end 0 0\nreal\n', code: 0 });
  });

  it('a fact asked twice runs once; nonces differ between batches', () => {
    const facts = [fact('same', 'echo 1'), fact('same', 'echo 1')];
    const script = batchScript(facts);
    assert.equal(script.match(/echo 1/g)!.length, 1);
    assert.notEqual(batchScript(facts).split('\n')[0], script.split('\n')[0]);
  });

  it('sections that wait run side by side, each keeping its output, its exit code and its own EXIT trap', () => {
    // the first waits for a file the last one makes: one after the other, it would give up after 5 s
    const flag = join(mkdtempSync(join(tmpdir(), 'batch-')), 'made');
    const facts = [
      fact('waiter', `n=0; while [ ! -e ${flag} ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done; [ -e ${flag} ] && echo saw it`),
      fact('trap', 'trap "echo cleaned" EXIT; echo body; exit 4'),
      fact('maker', `touch ${flag}; exit 7`),
    ];
    const { script, output } = runBatch(facts);
    assert.match(script, /mktemp -d/);
    assert.deepEqual(Object.fromEntries(parseBatch(output, facts, script)), {
      waiter: { stdout: 'saw it\n', code: 0 },
      trap: { stdout: 'body\ncleaned\n', code: 4 },
      maker: { stdout: '', code: 7 },
    });
  });

  it('families that only read the host\'s files run in the batch\'s own shell, in order, with no temp directory', () => {
    const family: FactFamily<string, string> = { name: 'echoes', script: (items) => items.map((i) => `echo ${i}`).join('\n'), parse: (stdout) => stdout.trim().split('\n') };
    const waiting: FactFamily<string, string> = { ...family, name: 'waiting', waits: true };
    const local = [{ key: 'a', family, item: 'a' }, { key: 'b', family, item: 'b' }, { key: 'in-shell', inShell: true, script: 'echo here', parse: (s: string) => s.trim() }];
    const { script, output } = runBatch(local as never);
    assert.doesNotMatch(script, /mktemp|&$/m);
    assert.deepEqual(Object.fromEntries(parseBatch(output, local as never, script)), { a: 'a', b: 'b', 'in-shell': 'here' });
    // one waiting section is not worth a temp directory either; two are
    assert.doesNotMatch(batchScript([...local, { key: 'w', family: waiting, item: 'w' }] as never), /mktemp/);
    assert.match(batchScript([...local, { key: 'w', family: waiting, item: 'w' }, fact('guard', 'true')] as never), /mktemp/);
  });

  it('a cut-short batch names the fact that has no output; parse errors name the fact', () => {
    const facts = [fact('first', 'echo 1'), fact('second', 'echo 2')];
    const { script, output } = runBatch(facts);
    const cut = output.slice(0, output.indexOf(' begin 1'));
    assert.throws(() => parseBatch(cut, facts, script), /fact second: no output/);
    const bad: ScriptFact<unknown> = { key: 'json', script: 'echo "{"', parse: (s) => JSON.parse(s) };
    const run = runBatch([bad]);
    assert.throws(() => parseBatch(run.output, [bad], run.script), /^FactParseError: fact json: /);
  });
});

describe('host facts', () => {
  const debian = `hostname=lb1
os.PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
os.NAME="Debian GNU/Linux"
os.VERSION_ID="12"
os.VERSION="12 (bookworm)"
os.VERSION_CODENAME=bookworm
os.ID=debian
arch=amd64
init=systemd
user=root
uid=0
address=127.0.0.1/8 lo
address=192.0.2.2/24 eth0
address=172.17.0.1/16 docker0
`;
  it('parses Debian 12 with systemd', () => {
    assert.deepEqual(parseHostFacts(debian), {
      hostname: 'lb1', os: { id: 'debian', version: '12', codename: 'bookworm', family: 'debian' }, arch: 'amd64',
      init: 'systemd', user: 'root', isRoot: true, addresses: ['192.0.2.2', '172.17.0.1'],
      interfaces: { '192.0.2.2': 'eth0', '172.17.0.1': 'docker0' },
    });
  });
  it('parses Ubuntu 14.04 with upstart, uname arch and hostname -I addresses', () => {
    const trusty = `hostname=web1
os.NAME="Ubuntu"
os.VERSION="14.04.6 LTS, Trusty Tahr"
os.ID=ubuntu
os.ID_LIKE=debian
os.VERSION_ID="14.04"
arch=x86_64
init=upstart
user=deploy
uid=1000
address=10.0.0.3
address=fd00::3
`;
    const facts = parseHostFacts(trusty);
    assert.deepEqual([facts.os, facts.arch, facts.init, facts.isRoot, facts.addresses], [
      { id: 'ubuntu', version: '14.04', codename: '', family: 'debian' }, 'amd64', 'upstart', false, ['10.0.0.3'],
    ]);
  });
});

describe('file facts', () => {
  const sha = '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03';
  it('parses NUL-separated stat records, link targets, stamped and summed hashes', () => {
    const more = ['12', '64768', '1', '1577880000.250000000', '1577880000.000000001', '1796587338.838967875', '8', '4096', '0', '0'];
    const stdout = [
      's', '/etc/x', '81a0', '640', '0', '999', 'root', 'consul', '6', ...more,
      's', '/l', 'a1ff', '777', '0', '0', 'root', 'root', '4', ...more,
      's', '/odd\nname', '81ed', '4755', '0', '0', 'root', 'root', '1', ...more,
      's', '/bin/c', '81ed', '755', '0', '0', 'root', 'root', '9', ...more,
      'l', '/l', '../x y',
      'r', '/l', '/x y',
      'a', '/etc/x', 'rw', 'a', '/l', 'rwx', 'a', '/odd\nname', 'rwx',
      'h', '4', 'f'.repeat(64),
      'm', `${sha}  /etc/x\n\\${'a'.repeat(64)}  /odd\\nname\n`,
    ].join('\0');
    const items = [{ path: '/etc/x' }, { path: '/l', linkSource: true }, { path: '/odd\nname' }, { path: '/n' }, { path: '/bin/c', stampFile: '/s' }];
    // times as Python's os.stat computes them: seconds + nanoseconds * 1e-9
    const details = { inode: 12, dev: 64768, nlink: 1, atime: 1577880000.25, mtime: 1577880000 + 1e-9, ctime: 1796587338 + 838967875 * 1e-9, blocks: 8, blockSize: 4096, rdev: 0 };
    const can = (a: string) => ({ readable: a.includes('r'), writeable: a.includes('w'), executable: a.includes('x') });
    assert.deepEqual(parseFiles(stdout, items), [
      { path: '/etc/x', type: 'file', mode: '0640', uid: 0, gid: 999, owner: 'root', group: 'consul', size: 6, sha256: sha, details: { ...details, ...can('rw') } },
      { path: '/l', type: 'link', mode: '0777', uid: 0, gid: 0, owner: 'root', group: 'root', size: 4, linkTarget: '../x y', linkSource: '/x y', details: { ...details, ...can('rwx') } },
      { path: '/odd\nname', type: 'file', mode: '4755', uid: 0, gid: 0, owner: 'root', group: 'root', size: 1, sha256: 'a'.repeat(64), details: { ...details, ...can('rwx') } },
      { path: '/n', type: 'absent' },
      { path: '/bin/c', type: 'file', mode: '0755', uid: 0, gid: 0, owner: 'root', group: 'root', size: 9, sha256: 'f'.repeat(64), details: { ...details, ...can('') } },
    ]);
    assert.throws(() => parseFiles('s\0/x\0', [{ path: '/x' }]), /cut short/);
  });
  it('reads device files, fifos and sockets apart, st_rdev as glibc\'s makedev, times before the epoch as Python does', () => {
    const record = (name: string, raw: string, major: string, minor: string) => ['s', name, raw, '666', '0', '0', 'root', 'root', '0', '5', '6', '1', '-1.250000000', '0.5', '7', '0', '4096', major, minor];
    const stdout = [...record('/dev/null', '21b6', '1', '3'), ...record('/dev/sda', '61b0', '8', '0'), ...record('/p', '11b6', '0', '0'), ...record('/s', 'c1ed', '0', '0'), ...record('/big', '21b6', '1f0', '1a2b3'), 'm', ''].join('\0');
    const [nul, sda, fifo, sock, big] = parseFiles(stdout, ['/dev/null', '/dev/sda', '/p', '/s', '/big'].map((path) => ({ path })));
    assert.deepEqual([nul, sda, fifo, sock].map((f) => [f!.type, f!.details?.special, f!.details?.rdev]), [['other', 'char', 259], ['other', 'block', 2048], ['other', 'fifo', 0], ['other', 'socket', 0]]);
    // major 0x1f0, minor 0x1a2b3: (minor & 0xff) | (major & 0xfff) << 8 | (minor & ~0xff) << 12
    assert.equal(big!.details?.rdev, 0xb3 + 0x1f000 + 0x1a200000);
    assert.deepEqual([nul!.details?.atime, nul!.details?.mtime, nul!.details?.readable], [-2 + 750000000 * 1e-9, 0.5, false]);
    assert.equal(statTime('1796587338.838967875'), 1796587338 + 838967875 * 1e-9);
    assert.throws(() => statTime('?'), /not a time/);
  });
  it('normalizes modes', () => {
    assert.equal(normalizeMode('755'), '0755');
    assert.equal(normalizeMode(644), '0644');
    assert.throws(() => normalizeMode('0789'), /not an octal file mode/);
  });
});

describe('package facts', () => {
  it('parses dpkg-query lines (the first Multi-Arch instance counts) and apt-cache policy blocks', () => {
    const stdout = 'nginx\tinstall ok installed\t1.22.1-9\ncurl\tdeinstall ok config-files\t7.88.1-10\nlibc6\tinstall ok installed\t2.36\nlibc6\tdeinstall ok config-files\t2.35\n'
      + '@candidates\ncurl:\n  Installed: (none)\n  Candidate: 7.88.1-10+deb12u5\n  Version table:\nunzip:\n  Installed: (none)\n  Candidate: (none)\n';
    const [states] = parsePackages(stdout, [{ names: ['nginx', 'curl', 'nope', 'unzip', 'libc6'], candidates: [] }]);
    assert.deepEqual(states!.get('nginx'), { name: 'nginx', installed: true, version: '1.22.1-9', candidate: null });
    assert.deepEqual(states!.get('curl'), { name: 'curl', installed: false, version: null, candidate: '7.88.1-10+deb12u5' });
    assert.deepEqual(states!.get('nope'), { name: 'nope', installed: false, version: null, candidate: null });
    assert.deepEqual(states!.get('unzip'), { name: 'unzip', installed: false, version: null, candidate: null });
    assert.deepEqual(states!.get('libc6'), { name: 'libc6', installed: true, version: '2.36', candidate: null });
  });
  it('apt lists age is the host clock minus the newest list or stamp', () => {
    assert.equal(aptListsAgeFact.parse('now=1000\n880\n700\n', 0), 120);
    assert.equal(aptListsAgeFact.parse('none\n', 0), null);
    assert.throws(() => aptListsAgeFact.parse('garbage', 0), /expected now=/);
  });
});

describe('service facts', () => {
  it('systemd units from NUL-separated unit, enabled, active, NeedDaemonReload quadruples', () => {
    assert.deepEqual(parseUnits('consul.service\0enabled\0active\0no\0x.service\0\0inactive\0yes\0', ['consul.service', 'x.service', 'y.service']), [
      { unit: 'consul.service', enabled: 'enabled', active: 'active', needsReload: false },
      { unit: 'x.service', enabled: 'not-found', active: 'inactive', needsReload: true },
      { unit: 'y.service', enabled: 'not-found', active: 'inactive', needsReload: false },
    ]);
  });
  it('initctl status', () => {
    assert.deepEqual(parseUpstartJob('consul', 'status=consul start/running, process 1234\nconf=yes\n'), { name: 'consul', known: true, running: true, manual: false, conf: true });
    assert.deepEqual(parseUpstartJob('consul', 'status=consul stop/waiting\nmanual=yes\nconf=yes\n'), { name: 'consul', known: true, running: false, manual: true, conf: true });
    assert.deepEqual(parseUpstartJob('x', 'status=\n'), { name: 'x', known: false, running: false, manual: false, conf: false });
  });
});

describe('docker facts', () => {
  const container = {
    Id: '67e812214a05', Image: 'sha256:268c2aab', State: { Status: 'running', Running: true },
    Config: { Image: 'gliderlabs/registrator:latest', Labels: { 'bootstrap.hash': 'abc' }, Env: ['CONSUL_HTTP_TOKEN=a=b', 'EMPTY=', 'BARE', 'PATH=/usr/bin'] },
  };
  const image = { Id: 'sha256:268c', RepoTags: ['exp:1'] };
  const items = [{ kind: 'container' as const, name: 'reg' }, { kind: 'image' as const, name: 'exp:1' }, { kind: 'image' as const, name: 'gone' }];
  it('one array per kind when all exist, one answer per object otherwise, and no docker', () => {
    const stdout = `@@all container\n${JSON.stringify([container], null, 4)}\n@@one image\n${JSON.stringify([image])}\n@@one image\n[]\n`;
    assert.deepEqual(parseDocker(stdout, items), [
      { dockerPresent: true, value: { id: '67e812214a05', imageId: 'sha256:268c2aab', image: 'gliderlabs/registrator:latest', running: true, status: 'running', labels: { 'bootstrap.hash': 'abc' }, env: { CONSUL_HTTP_TOKEN: 'a=b', EMPTY: '', BARE: '', PATH: '/usr/bin' } } },
      { dockerPresent: true, value: { id: 'sha256:268c', repoTags: ['exp:1'] } },
      { dockerPresent: true, value: null },
    ]);
    assert.deepEqual(parseDocker('no-docker\n', items).map((o) => o.dockerPresent), [false, false, false]);
    assert.throws(() => parseDocker(`@@all image\n${JSON.stringify([image])}\n`, items.slice(1)), /returned 1 images for 2 names/);
  });
  it('the Engine API\'s answers, one body and status per object in the order asked: 200 an object, any other status none', () => {
    const stdout = `@@api\n${JSON.stringify(container)}\n@@status 200\n${JSON.stringify(image)}\n@@status 200\n{"message":"No such image: gone"}\n@@status 404\n`;
    assert.deepEqual(parseDocker(stdout, items).map((o) => o.value && o.value.id), ['67e812214a05', 'sha256:268c', null]);
    assert.deepEqual(parseDocker('@@api\n\n@@status 000\n', items.slice(0, 1)), [{ dockerPresent: true, value: null }]);
    assert.throws(() => parseDocker(`@@api\n${JSON.stringify(container)}\n@@status 200\n`, items), /gave 1 answers for 3 objects/);
  });
});
