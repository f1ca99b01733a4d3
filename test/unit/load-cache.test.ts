import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { ConfigErrors } from '../../src/errors.js';
import { cachedLoad, LOAD_CACHE_ENV } from '../../src/cli/load-cache.js';
import { loadInventoryWith, loadRun, type Loaded, type RunSelection } from '../../src/cli/load-run.js';
import { recordInputs } from '../../src/cli/input-record.js';
import { Expansions } from '../../src/playbook/expansions.js';
import { placeholderFactsOf } from '../../src/playbook/placeholder-facts.js';

const FILES: Record<string, string> = {
  'inventory.yml': `all:
  vars:
    root: /tmp/load-cache-test
  children:
    web:
      hosts:
        web1: { address: 10.0.0.11 }
        web2: { address: 10.0.0.12 }
`,
  'group_vars/web.yml': 'greeting: hello\n',
  'playbooks/site.yml': `- name: site
  hosts: web
  become: false
  vars_files: [vars.yml]
  tasks:
    - name: page
      template: { src: page.ejs, dest: "<%= root %>/page" }
    - name: motd
      copy: { dest: "<%= root %>/motd", content: "<%= greeting %> <%= who %>" }
`,
  'playbooks/vars.yml': 'who: world\n',
  'templates/page.ejs': '<%= greeting %> from <%= inventory_hostname %>\n',
};

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  delete process.env[LOAD_CACHE_ENV];
  delete process.env.BOOTSTRAP_LOAD_CACHE_TEST;
});

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'load-cache-test-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** A run's load through the cache, as apply does it. */
function load(dir: string, selection: RunSelection = {}, expansions?: Expansions) {
  const inventory = join(dir, 'inventory.yml');
  const playbooks = [join(dir, 'playbooks/site.yml')];
  return cachedLoad(inventory, playbooks, selection, () => loadRun(inventory, playbooks, selection, { expansions }), () => loadInventoryWith(inventory, selection.extraVars), expansions);
}

/** Every task of every play on every host, expanded as the run's first round trip does (placeholder facts), through `expansions`. */
function expandAll(loaded: Loaded, expansions: Expansions): unknown[] {
  return loaded.plays.flatMap((play) =>
    play.tasks.flatMap((task) =>
      loaded.hosts.map((host) => {
        const hp = { inventory: loaded.inventory, play, host, facts: placeholderFactsOf(loaded.inventory, host), scopeExtra: {}, runId: 'test' };
        return expansions.expand(task, hp).map((i) => ({ module: i.module.name, params: i.params, label: i.label, skipped: i.skipped }));
      }),
    ),
  );
}

/** What a run gets from a load, as plain data (the inventory's functions left out). */
function shape(loaded: Loaded): unknown {
  const { locate: _l, locateGroup: _g, ...inventory } = loaded.inventory;
  return { inventory, plays: loaded.plays, hosts: loaded.hosts, notes: loaded.artifactNotes };
}

/** What loadRun gives without any cache, or the messages of the ConfigErrors it throws. */
function fresh(dir: string, selection: RunSelection = {}): unknown {
  try {
    return shape(loadRun(join(dir, 'inventory.yml'), [join(dir, 'playbooks/site.yml')], selection));
  } catch (error) {
    if (error instanceof ConfigErrors) return error.message;
    throw error;
  }
}

function viaCache(dir: string, selection: RunSelection = {}): { outcome: unknown; reused: boolean; note: string } {
  try {
    const { loaded, cache } = load(dir, selection);
    return { outcome: shape(loaded), reused: cache.reused, note: cache.note };
  } catch (error) {
    if (error instanceof ConfigErrors) return { outcome: error.message, reused: false, note: 'threw' };
    throw error;
  }
}

const cacheFiles = (dir: string) => readdirSync(join(dir, '.bootstrap', 'cache')).map((name) => join(dir, '.bootstrap', 'cache', name));

describe('load cache', () => {
  it('reuses the load of unchanged inputs, which is the same as a fresh one', () => {
    const dir = project();
    const first = viaCache(dir);
    assert.equal(first.reused, false);
    assert.match(first.note, /no cached load yet: loaded and validated, kept in /);
    const second = viaCache(dir);
    assert.equal(second.reused, true, second.note);
    assert.deepEqual(second.outcome, fresh(dir));
    assert.deepEqual(second.outcome, first.outcome);
  });

  it('loads again when any input changed: a template, a vars file, group_vars, a new host_vars file, a playbook', () => {
    const dir = project();
    viaCache(dir);
    const edits: Array<[string, () => void, RegExp]> = [
      // a template that no longer renders: the error must come back, not the cached success
      ['templates/page.ejs', () => writeFileSync(join(dir, 'templates/page.ejs'), '<%= greeting.nope.deeper %>\n'), /page\.ejs/],
      ['templates/page.ejs', () => writeFileSync(join(dir, 'templates/page.ejs'), 'fixed <%= greeting %>\n'), /./],
      ['playbooks/vars.yml', () => writeFileSync(join(dir, 'playbooks/vars.yml'), 'who: everyone\n'), /./],
      ['group_vars/web.yml', () => writeFileSync(join(dir, 'group_vars/web.yml'), 'greeting: hi\n'), /./],
      ['host_vars/', () => {
        mkdirSync(join(dir, 'host_vars'));
        writeFileSync(join(dir, 'host_vars/web1.yml'), 'greeting: hey\n');
      }, /./],
      ['playbooks/site.yml', () => writeFileSync(join(dir, 'playbooks/site.yml'), FILES['playbooks/site.yml']!.replace('hosts: web', 'hosts: web1')), /./],
      ['templates/page.ejs (removed)', () => rmSync(join(dir, 'templates/page.ejs')), /template not found/],
    ];
    for (const [what, edit, expected] of edits) {
      edit();
      const after = viaCache(dir);
      assert.equal(after.reused, false, `${what}: ${after.note}`);
      assert.deepEqual(after.outcome, fresh(dir), what);
      assert.match(typeof after.outcome === 'string' ? after.outcome : 'loaded', expected, what);
    }
    assert.deepEqual(viaCache(dir).outcome, fresh(dir));
  });

  it('a damaged, cut or foreign cache file is loaded afresh, with the same outcome', () => {
    const dir = project();
    viaCache(dir);
    const [file] = cacheFiles(dir);
    const good = readFileSync(file!);
    const damaged: Array<[string, Buffer]> = [
      ['a flipped byte', Buffer.from(good.map((b, i) => (i === good.length - 10 ? b ^ 0xff : b)))],
      ['cut short', good.subarray(0, good.length >> 1)],
      ['empty', Buffer.alloc(0)],
      ['garbage', Buffer.from('not a cache at all\n')],
    ];
    for (const [what, bytes] of damaged) {
      writeFileSync(file!, bytes);
      const after = viaCache(dir);
      assert.equal(after.reused, false, what);
      assert.match(after.note, /cache damaged/, what);
      assert.deepEqual(after.outcome, fresh(dir), what);
      assert.equal(viaCache(dir).reused, true, `${what}: rewritten`);
    }
    // another project's entry under this project's name: made for other inputs
    const other = project();
    writeFileSync(join(other, 'group_vars/web.yml'), 'greeting: other\n');
    viaCache(other);
    writeFileSync(file!, readFileSync(cacheFiles(other)[0]!));
    const after = viaCache(dir);
    assert.equal(after.reused, false);
    assert.match(after.note, /made for other inputs/);
    assert.deepEqual(after.outcome, fresh(dir));
  });

  it('options and the environment are part of the key', () => {
    const dir = project();
    viaCache(dir);
    const limited = viaCache(dir, { limit: 'web2' });
    assert.equal(limited.reused, false);
    assert.deepEqual(limited.outcome, fresh(dir, { limit: 'web2' }));
    assert.equal(viaCache(dir, { extraVars: ['greeting=yo'] }).reused, false);
    process.env.BOOTSTRAP_LOAD_CACHE_TEST = '1';
    assert.equal(viaCache(dir).reused, false);
    delete process.env.BOOTSTRAP_LOAD_CACHE_TEST;
    assert.equal(viaCache(dir).reused, true);
    assert.equal(viaCache(dir, { limit: 'web2' }).reused, true);
  });

  it('keeps the 8 loads used last: a reused one stays, the one unused longest goes', () => {
    const dir = project();
    viaCache(dir);
    const [kept] = cacheFiles(dir);
    const made: string[] = [];
    for (let i = 0; i < 8; i++) {
      // the first load is reused before each new one is made
      assert.equal(viaCache(dir).reused, true);
      const before = new Set(cacheFiles(dir));
      assert.equal(viaCache(dir, { extraVars: [`n=${i}`] }).reused, false);
      made.push(...cacheFiles(dir).filter((file) => !before.has(file)));
    }
    const files = cacheFiles(dir);
    assert.equal(files.length, 8);
    assert.ok(files.includes(kept!), 'the load reused before each new one is still kept');
    assert.ok(!files.includes(made[0]!), 'the load unused longest is gone');
  });

  it('a failed validation is not kept; BOOTSTRAP_LOAD_CACHE=off neither reads nor writes', () => {
    const dir = project();
    writeFileSync(join(dir, 'playbooks/site.yml'), FILES['playbooks/site.yml']!.replace('template:', 'templat:'));
    assert.match(String(viaCache(dir).outcome), /templat/);
    assert.equal(existsSync(join(dir, '.bootstrap', 'cache')), false);
    writeFileSync(join(dir, 'playbooks/site.yml'), FILES['playbooks/site.yml']!);
    process.env[LOAD_CACHE_ENV] = 'off';
    assert.match(viaCache(dir).note, /load cache off/);
    assert.equal(existsSync(join(dir, '.bootstrap', 'cache')), false);
  });

  it("validation's expansions come back with a reused load: the run reuses them, and they are what a fresh expansion gives", () => {
    const dir = project();
    load(dir, {}, new Expansions());
    const adopted = new Expansions();
    const { loaded, cache } = load(dir, {}, adopted);
    assert.equal(cache.reused, true, cache.note);
    const instances = expandAll(loaded, adopted);
    assert.deepEqual(adopted.counts, { expanded: 0, reused: instances.length });
    const fresh = new Expansions();
    assert.deepEqual(instances, expandAll(loadRun(join(dir, 'inventory.yml'), [join(dir, 'playbooks/site.yml')], {}), fresh));
    assert.equal(fresh.counts.reused, 0);
    // a value it read that is not the same any more: expanded again, with that value
    const motd = loaded.plays[0]!.tasks[1]!;
    const [again] = adopted.expand(motd, { inventory: loaded.inventory, play: loaded.plays[0]!, host: 'web1', facts: placeholderFactsOf(loaded.inventory, 'web1'), scopeExtra: { greeting: 'bye' }, runId: 'test' });
    assert.equal(adopted.counts.expanded, 1);
    assert.equal(again!.params.content, 'bye world');
  });

  it("a reused inventory still locates its values (the inventory is read again when asked)", () => {
    const dir = project();
    const first = load(dir).loaded.inventory.locate('web1', 'greeting');
    const { loaded, cache } = load(dir);
    assert.equal(cache.reused, true);
    assert.deepEqual(loaded.inventory.locate('web1', 'greeting'), first);
    assert.match(first.pos.file, /group_vars\/web\.yml$/);
  });
});

describe('recordInputs', () => {
  it('sees reads, existence, listings and stats, and calls a write unreusable', () => {
    const dir = project();
    const file = join(dir, 'group_vars/web.yml');
    const recorded = recordInputs(() => [readFileSync(file, 'utf8'), existsSync(join(dir, 'nope')), readdirSync(dir).length]);
    assert.equal(recorded.result[0], 'greeting: hello\n');
    assert.deepEqual(
      recorded.observations.map((o) => [o.kind, o.path]),
      [['read', file], ['exists', join(dir, 'nope')], ['dir', dir]],
    );
    assert.equal(recorded.unreusable, undefined);
    const writing = recordInputs(() => writeFileSync(join(dir, 'x'), 'x'));
    assert.equal(writing.unreusable, 'fs.writeFileSync');
    // fs is as it was afterwards
    assert.deepEqual(recordInputs(() => 1).observations, []);
  });
});
