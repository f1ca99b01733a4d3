/**
 * Parameters taken for Ansible 2.19 (issue 25), planned from given facts: set_fact's cacheable,
 * unarchive's URL src, apt_repository's revert after a failed update (its scripts run here on a
 * copy of the paths), user's and group's local (libuser), seuser and password_expire_account_disable.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Fact, FactReader } from '../../src/facts/types.js';
import { getModule } from '../../src/modules/index.js';
import type { ModuleContext, Plan } from '../../src/modules/types.js';
import { boundNames, type Task } from '../../src/playbook/types.js';

const ctx: ModuleContext = {
  host: 'h1', facts: { hostname: 'h1', os: { id: 'debian', version: '12', codename: 'bookworm', family: 'debian' }, arch: 'amd64', init: 'systemd', user: 'root', isRoot: true, addresses: [] },
  localDir: '/tmp', runId: 'r1', lockFile: '/run/bootstrap.lock', renderTemplate: () => '', evaluate: () => undefined,
};

/** The module's plan from `values` (by fact key), checking it asks for exactly those facts. */
async function plan(module: string, params: Record<string, unknown>, values: Record<string, unknown>): Promise<Plan> {
  const m = getModule(module)!;
  assert.deepEqual(m.facts(params, ctx).map((f) => f.key).sort(), Object.keys(values).sort());
  const read: FactReader = <T>(fact: Fact<T>) => values[fact.key] as T;
  return m.plan(params, read, ctx);
}
const argvOf = (p: Plan) => p.changes.flatMap((c) => c.commands.map((cmd) => cmd.argv));
const validate = (module: string, params: Record<string, unknown>) => getModule(module)!.validate!(params, { localDir: '/tmp' });

describe('set_fact cacheable', () => {
  it('is taken, is no variable itself, and the variables are set as without it', async () => {
    const p = await plan('set_fact', { x: 1, cacheable: true }, {});
    assert.deepEqual([p.vars, p.result], [{ x: 1 }, { ansible_facts: { x: 1 } }]);
    assert.deepEqual(validate('set_fact', { cacheable: true }), [['', 'give at least one variable: set_fact: { name: value }']]);
    assert.deepEqual(boundNames({ module: 'set_fact', params: { x: 1, cacheable: false } } as unknown as Task), ['x']);
  });
});

describe('unarchive with a URL src', () => {
  const url = 'https://example.com/dl/app.tar.gz';
  const dest = '/srv/app';
  const m = getModule('unarchive')!;
  const facts = (params: Record<string, unknown>) => m.facts({ src: url, dest, remote_src: true, ...params }, ctx);
  it('with remote_src: the host downloads it for the plan (certificates as validate_certs says), and again to unpack it beside dest, removing it after', async () => {
    const archive = facts({}).find((f) => f.key.startsWith('host-archive:'))!;
    assert.ok('script' in archive && archive.script.includes('fetch "$dl" "$src"'), 'the fact fetches the archive first');
    assert.doesNotMatch(archive.script, / -k /);
    const insecure = facts({ validate_certs: false }).find((f) => f.key.startsWith('host-archive:'))!;
    assert.ok('script' in insecure);
    assert.match(insecure.script, /fetch "\$dl" "\$src" .* -k /);
    assert.notEqual(insecure.key, archive.key);
    const values = {
      [`file:${dest}`]: { path: dest, type: 'directory' },
      [archive.key]: { uid: 0, kind: 'tar', entries: ['app/', 'app/conf'], differs: [], compare: ['app/conf: Warning: Cannot stat: No such file or directory'], kept: [], states: new Map() },
      [`leftovers:${dest}/app.tar.gz`]: ['/srv/app/.app.tar.gz.bootstrap-tmp-0badc0de'],
    };
    const p = await plan('unarchive', { src: url, dest, remote_src: true, io_buffer_size: 1024 }, values);
    const tmp = `${dest}/.app.tar.gz.bootstrap-tmp-r1`;
    assert.deepEqual(p.changes.map((c) => c.title), [`remove 1 temp file(s) left beside ${dest}/app.tar.gz by runs that ended`, `download and unpack ${url} into ${dest} (tar --compare found differences)`]);
    const argv = p.changes[1]!.commands[0]!.argv;
    assert.deepEqual(argv.slice(3, 6), ['unarchive', tmp, url]);
    assert.deepEqual(argv.slice(6), ['tar', '-x', '-f', tmp, '-C', dest]);
    assert.match(argv[2]!, /^f=\$1; url=\$2; shift 2\ntrap 'rm -f "\$f"' EXIT\n/);
    const kept = await plan('unarchive', { src: url, dest, remote_src: true, decrypt: false }, { ...values, [archive.key]: { ...values[archive.key], compare: [] }, [`leftovers:${dest}/app.tar.gz`]: [] });
    assert.equal(kept.reason, `${dest} matches ${url} (tar --compare)`);
  });
  it('a download that fails is the fact\'s error, as Ansible words it', async () => {
    const archive = facts({}).find((f) => f.key.startsWith('host-archive:'))!;
    const values = { [`file:${dest}`]: { path: dest, type: 'directory' }, [archive.key]: { uid: 0, error: `Failure downloading ${url}, curl: (22) The requested URL returned error: 404`, entries: [], differs: [], compare: [], kept: [], states: new Map() }, [`leftovers:${dest}/app.tar.gz`]: [] };
    await assert.rejects(async () => plan('unarchive', { src: url, dest, remote_src: true }, values), /^Error: Failure downloading https:\/\/example.com\/dl\/app.tar.gz, curl: \(22\)/);
  });
  it('a src with :// that is no URL is refused offline; without remote_src it is a laptop path', () => {
    assert.deepEqual(validate('unarchive', { src: 'x://', dest, remote_src: true }), [['src', 'expected an http(s), ftp or file URL such as https://example.com/app.tar.gz (src holds "://" and remote_src is true), got "x://"']]);
    assert.match(validate('unarchive', { src: url, dest })[0]![0], /^src$/);
  });
});

describe('apt_repository: a failed apt-get update puts the sources files back', () => {
  const REPO = 'deb https://example.com/debian bookworm main';
  const TARGET = '/etc/apt/sources.list.d/example_com_debian.list';
  const LIST = '/etc/apt/sources.list';
  /** Runs the planned commands with /etc/apt under `root` and apt-get update replaced by `update`. */
  function runUnder(root: string, p: Plan, update: string[]): void {
    const moved = (a: string) => a.replaceAll('/etc/apt', `${root}/etc/apt`);
    for (const cmd of p.changes.flatMap((c) => c.commands)) {
      let argv = cmd.argv.map(moved);
      if (argv[0] === 'tar') argv = argv.map((a, i) => (argv[i - 1] === '-C' ? root : a));
      if (argv[3] === 'retry') argv = [...argv.slice(0, 7), ...update];
      if (argv[0] === 'sh' && argv[2]!.includes('tar -xpf')) argv[2] = argv[2]!.replace("-C /", `-C '${root}'`);
      if (argv[0] === 'mkdir' || argv[0] === 'touch' || cmd.onFailure) continue;
      try {
        execFileSync(argv[0]!, argv.slice(1), { input: cmd.stdin, stdio: ['pipe', 'ignore', 'pipe'] });
      } catch (error) {
        throw new Error(`${argv[0]} failed: ${(error as { stderr?: Buffer }).stderr?.toString()}`);
      }
    }
  }
  const values = (files: Record<string, string>) => ({
    'apt-sources': new Map(Object.entries(files)), [`file:${TARGET}`]: { path: TARGET, type: files[TARGET] === undefined ? 'absent' : 'file', sha256: 'f'.repeat(64), mode: '0644' },
    'leftovers:/etc/apt/sources-before.tar': [],
  });
  it('present: the file it created is removed, an edited one restored; a good update keeps the change and no copy', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bootstrap-apt-revert-'));
    try {
      mkdirSync(join(root, 'etc/apt/sources.list.d'), { recursive: true });
      writeFileSync(join(root, LIST), `# ${REPO}\ndeb http://mirror/debian bookworm main\n`, { mode: 0o640 });
      // the line commented out in sources.list: enabled there
      const enable = await plan('apt_repository', { repo: REPO, update_cache_retries: 1 }, values({ [LIST]: readFileSync(join(root, LIST), 'utf8') }));
      assert.equal(argvOf(enable)[0]![0], 'tar', 'the copy is made before the first write');
      assert.throws(() => runUnder(root, enable, ['false']), /Failed to update apt cache after 1 retries; the sources files were put back as they were/);
      assert.equal(readFileSync(join(root, LIST), 'utf8'), `# ${REPO}\ndeb http://mirror/debian bookworm main\n`);
      assert.deepEqual(readdirSync(join(root, 'etc/apt')).sort(), ['sources.list', 'sources.list.d']);
      // a new file
      const add = await plan('apt_repository', { repo: REPO, update_cache_retries: 1 }, values({}));
      assert.notEqual(argvOf(add)[0]![0], 'tar', 'nothing existed: no copy');
      assert.throws(() => runUnder(root, add, ['false']));
      assert.deepEqual(readdirSync(join(root, 'etc/apt/sources.list.d')), []);
      runUnder(root, add, ['true']);
      assert.equal(readFileSync(join(root, TARGET), 'utf8'), `${REPO}\n`);
      runUnder(root, enable, ['true']);
      assert.equal(readFileSync(join(root, LIST), 'utf8'), `${REPO}\ndeb http://mirror/debian bookworm main\n`);
      assert.deepEqual(readdirSync(join(root, 'etc/apt')).sort(), ['sources.list', 'sources.list.d']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
  it('absent: a removed file comes back with its content', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bootstrap-apt-revert-'));
    try {
      mkdirSync(join(root, 'etc/apt/sources.list.d'), { recursive: true });
      writeFileSync(join(root, TARGET), `${REPO}\n`);
      const remove = await plan('apt_repository', { repo: REPO, state: 'absent', update_cache_retries: 1 }, values({ [TARGET]: `${REPO}\n` }));
      assert.throws(() => runUnder(root, remove, ['false']));
      assert.equal(readFileSync(join(root, TARGET), 'utf8'), `${REPO}\n`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
  it('validate_certs: false lets curl take any certificate from Launchpad\'s API only; install_python_apt is taken', async () => {
    const ubuntu: ModuleContext = { ...ctx, facts: { ...ctx.facts, os: { id: 'ubuntu', version: '22.04', codename: 'jammy', family: 'debian' } } };
    const list = '/etc/apt/sources.list.d/ppa_nginx_stable_jammy.list';
    const key = '/etc/apt/trusted.gpg.d/ubuntu-jammy-main-nginx-stable.gpg';
    const m = getModule('apt_repository')!;
    const read: FactReader = <T>(fact: Fact<T>) => ({ 'apt-sources': new Map(), [`file:${list}`]: { path: list, type: 'absent' }, [`file:${key}`]: { path: key, type: 'absent' }, 'leftovers:/etc/apt/sources-before.tar': [] } as Record<string, unknown>)[fact.key] as T;
    const keyArgv = async (params: Record<string, unknown>) => (await m.plan({ repo: 'ppa:nginx/stable', update_cache: false, ...params }, read, ubuntu)).changes[0]!.commands[0]!.argv;
    assert.equal((await keyArgv({ validate_certs: false, install_python_apt: false })).at(-1), '-k');
    assert.equal((await keyArgv({})).at(-1), '');
    assert.match((await keyArgv({}))[2]!, /curl -fsSL \$insecure -H "Accept: application\/json" "\$api/);
  });
});

describe('group local', () => {
  const facts = (entry: boolean | 'no-file', commands: Record<string, boolean> = {}, extra: Record<string, unknown> = {}) => ({
    'group:g': entry === true ? { exists: true, gid: 500 } : { exists: false }, 'local-entry:/etc/group:g': entry,
    'command-exists:lgroupadd': true, 'command-exists:lgroupmod': true, 'command-exists:lgroupdel': true, ...Object.fromEntries(Object.entries(commands).map(([c, v]) => [`command-exists:${c}`, v])), ...extra,
  });
  it('creates, changes the gid and removes with lgroupadd, lgroupmod and lgroupdel, looking in /etc/group', async () => {
    assert.deepEqual(argvOf(await plan('group', { name: 'g', local: true, gid: 600, system: true }, facts(false, {}, { 'group-by-gid:600': null }))), [['lgroupadd', '-g', '600', '-r', 'g']]);
    assert.deepEqual(argvOf(await plan('group', { name: 'g', local: true, gid: 600 }, facts(true, {}, { 'group-by-gid:600': null }))), [['lgroupmod', '-g', '600', 'g']]);
    assert.equal((await plan('group', { name: 'g', local: true }, facts(true))).reason, 'group g in /etc/group (gid 500)');
    assert.deepEqual(argvOf(await plan('group', { name: 'g', local: true, state: 'absent' }, facts(true))), [['lgroupdel', 'g']]);
    assert.equal((await plan('group', { name: 'g', local: true, state: 'absent' }, facts(false))).reason, 'no group g in /etc/group');
  });
  it('fails as Ansible does: no lgroupadd on the host, no /etc/group, a gid another group has', async () => {
    await assert.rejects(async () => plan('group', { name: 'g', local: true }, facts(false, { lgroupadd: false })), /^Error: Failed to find required executable "lgroupadd" on h1: local: true manages the local account files with libuser's commands/);
    await assert.rejects(async () => plan('group', { name: 'g', local: true }, facts(true, { lgroupmod: false })), /"lgroupmod"/);
    await assert.rejects(async () => plan('group', { name: 'g', local: true }, facts('no-file')), /^Error: 'local: true' specified but unable to find local group file \/etc\/group to parse\.$/);
    await assert.rejects(async () => plan('group', { name: 'g', local: true, gid: 600 }, facts(false, {}, { 'group-by-gid:600': 'other' })), /^Error: GID '600' already exists with group 'other'$/);
    // nothing to remove: no command needed, as in Ansible
    assert.equal((await plan('group', { name: 'g', local: true, state: 'absent' }, facts(false, { lgroupdel: false }))).changes.length, 0);
  });
  it('refuses offline what Ansible refuses with local', () => {
    assert.deepEqual(validate('group', { name: 'g', local: true, gid_min: 1, force: true }), [['gid_min', "'gid_min' can not be used with 'local'"], ['force', 'force is not a valid option for local, force=True and local=True are mutually exclusive']]);
    assert.deepEqual(validate('group', { name: 'g', gid_min: 1, force: true }), []);
  });
});

describe('user local, seuser, password_expire_account_disable', () => {
  const present = { exists: true, uid: 1001, gid: 1001, group: 'u', comment: '', home: '/home/u', shell: '/bin/sh', groups: ['a', 'b'] };
  const libuser = (missing: string[] = []) => Object.fromEntries(['luseradd', 'lusermod', 'luserdel', 'lgroupadd', 'lgroupmod', 'lgroupdel', 'lchage'].map((c) => [`command-exists:${c}`, !missing.includes(c)]));
  const status = { locked: false, expireDays: -1, min: 0, max: 99999, warn: 7, inactive: -1 };
  it('creates with luseradd (-n when the group exists), then lchage for the expiry and lgroupmod -M for each group', async () => {
    const p = await plan('user', { name: 'u', local: true, groups: ['a', 'b'], expires: 1893456000, seuser: 'user_u', password_expire_account_disable: 7, create_home: false }, {
      'user:u': { exists: false }, 'group:u': { exists: true }, 'local-entry:/etc/passwd:u': false, 'shadow-status:u': status, ...libuser(),
    });
    assert.deepEqual(argvOf(p), [
      ['luseradd', '-Z', 'user_u', '-n', '-f', '7', '-M', 'u'],
      ['lchage', '-E', '21915', 'u'],
      ['lgroupmod', '-M', 'u', 'a'], ['lgroupmod', '-M', 'u', 'b'],
    ]);
    assert.equal(p.changes[0]!.title, 'create user u in /etc/passwd (luseradd)');
  });
  it('changes with lusermod, lchage and lgroupmod (-M joins, -m leaves; append leaves none); removes with luserdel, without -f', async () => {
    const values = { 'user:u': present, 'group:u': { exists: true }, 'local-entry:/etc/passwd:u': true, 'shadow-status:u': { ...status, expireDays: 0 }, ...libuser() };
    const p = await plan('user', { name: 'u', local: true, shell: '/bin/bash', groups: ['b', 'c'], expires: -1, password_expire_account_disable: 3 }, values);
    assert.deepEqual(argvOf(p), [['lusermod', '-s', '/bin/bash', '-f', '3', 'u'], ['lchage', '-E', '-1', 'u'], ['lgroupmod', '-M', 'u', 'c'], ['lgroupmod', '-m', 'u', 'a']]);
    const appended = await plan('user', { name: 'u', local: true, groups: ['b', 'c'], append: true }, { 'user:u': present, 'group:u': { exists: true }, 'local-entry:/etc/passwd:u': true, ...libuser() });
    assert.deepEqual(argvOf(appended), [['lgroupmod', '-M', 'u', 'c']]);
    const gone = await plan('user', { name: 'u', local: true, state: 'absent', force: true, remove: true }, { 'user:u': present, 'local-entry:/etc/passwd:u': true, ...libuser() });
    assert.deepEqual(argvOf(gone), [['luserdel', '-r', 'u']]);
  });
  it('looks in /etc/passwd, not NSS: a user only NSS knows is created locally', async () => {
    const p = await plan('user', { name: 'u', local: true }, { 'user:u': present, 'group:u': { exists: true }, 'local-entry:/etc/passwd:u': false, ...libuser() });
    assert.deepEqual(argvOf(p), [['luseradd', '-n', 'u']]);
  });
  it('fails as Ansible does on a host without libuser or /etc/passwd, and refuses offline what Ansible refuses with local', async () => {
    await assert.rejects(async () => plan('user', { name: 'u', local: true }, { 'user:u': { exists: false }, 'group:u': { exists: false }, 'local-entry:/etc/passwd:u': false, ...libuser(['lgroupmod', 'luseradd']) }), /^Error: Failed to find required executable "lgroupmod" on h1/);
    await assert.rejects(async () => plan('user', { name: 'u', local: true }, { 'user:u': present, 'group:u': { exists: true }, 'local-entry:/etc/passwd:u': true, ...libuser(['lusermod']) }), /"lusermod"/);
    await assert.rejects(async () => plan('user', { name: 'u', local: true }, { 'user:u': present, 'group:u': { exists: true }, 'local-entry:/etc/passwd:u': 'no-file', ...libuser() }), /^Error: 'local: true' specified but unable to find local account file \/etc\/passwd to parse\.$/);
    assert.deepEqual(validate('user', { name: 'u', local: true, umask: '0077', uid_max: 9 }), [['umask', "'umask' can not be used with 'local'"], ['uid_max', "'uid_max' can not be used with 'local'"]]);
  });
  it('without local: useradd -Z and -f on creation, usermod -f only when the shadow entry differs (Ansible runs it every time)', async () => {
    const created = await plan('user', { name: 'u', seuser: 'user_u', password_expire_account_disable: 7 }, { 'user:u': { exists: false }, 'group:u': { exists: false }, 'shadow-status:u': status });
    assert.deepEqual(argvOf(created), [['useradd', '-Z', 'user_u', '-f', '7', '-m', 'u']]);
    const values = (inactive: number) => ({ 'user:u': present, 'group:u': { exists: true }, 'shadow-status:u': { ...status, inactive } });
    assert.deepEqual(argvOf(await plan('user', { name: 'u', password_expire_account_disable: 7 }, values(-1))), [['usermod', '-f', '7', 'u']]);
    const same = await plan('user', { name: 'u', password_expire_account_disable: 7, seuser: 'user_u' }, values(7));
    assert.deepEqual(same.changes, []);
  });
});
