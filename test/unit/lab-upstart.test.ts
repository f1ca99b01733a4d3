import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { upstartSources } from '../../src/lab/upstart-build.js';
import { labNofileLimit } from '../../src/lab/inventory.js';
import { parseDistros, parseInits, plannedNodes } from '../../src/lab/nodes.js';

describe('Upstart sources', () => {
  it('none given: the error names both variables', () => {
    assert.throws(() => upstartSources({}), /libnih: neither \$BOOTSTRAP_LIBNIH_SRC nor \$BOOTSTRAP_THIRD_PARTY is set; upstart: neither \$BOOTSTRAP_UPSTART_SRC nor \$BOOTSTRAP_THIRD_PARTY is set/);
  });

  it('a directory without the sources: the error names each path tried and what it lacks', () => {
    assert.throws(
      () => upstartSources({ BOOTSTRAP_UPSTART_SRC: '/nonexistent/upstart', BOOTSTRAP_THIRD_PARTY: '/nonexistent/tp' }),
      (error: Error) =>
        error.message.includes('libnih: $BOOTSTRAP_THIRD_PARTY/libnih = /nonexistent/tp/libnih has no nih/libnih.pc.in') &&
        error.message.includes('upstart: $BOOTSTRAP_UPSTART_SRC = /nonexistent/upstart has no init/main.c') &&
        error.message.includes('upstart: $BOOTSTRAP_THIRD_PARTY/upstart = /nonexistent/tp/upstart has no init/main.c'),
    );
  });

  it('a directory holding both, and a per-source variable winning over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'third-party-'));
    try {
      for (const [sub, marker] of [['libnih', 'nih/libnih.pc.in'], ['upstart', 'init/main.c'], ['other-upstart', 'init/main.c']]) {
        mkdirSync(join(dir, sub, marker, '..'), { recursive: true });
        writeFileSync(join(dir, sub, marker), '');
      }
      assert.deepEqual(upstartSources({ BOOTSTRAP_THIRD_PARTY: dir }), { libnih: join(dir, 'libnih'), upstart: join(dir, 'upstart') });
      assert.deepEqual(upstartSources({ BOOTSTRAP_THIRD_PARTY: dir, BOOTSTRAP_UPSTART_SRC: join(dir, 'other-upstart') }).upstart, join(dir, 'other-upstart'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lab inventory', () => {
  it('asks consul for no more open files than the machine allows', () => {
    const limits = (hard: string) => `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${hard}                ${hard}                files\n`;
    assert.equal(labNofileLimit(limits('20000')), 20000);
    assert.equal(labNofileLimit(limits('1048576')), undefined);
  });
});

describe('lab --init', () => {
  it('one init for every node, or NODE=INIT pairs over the default', () => {
    assert.deepEqual(parseInits('upstart'), { '*': 'upstart' });
    assert.deepEqual(parseInits(undefined), { '*': 'systemd' });
    assert.deepEqual(parseInits('upstart, lb1=systemd'), { '*': 'upstart', lb1: 'systemd' });
    const nodes = plannedNodes({ lb: 1, web: 2 }, { inits: parseInits('web2=upstart'), distros: parseDistros('web2=trixie') });
    assert.deepEqual(nodes.map((n) => `${n.name}:${n.init}:${n.distro}`), ['lb1:systemd:bookworm', 'web1:systemd:bookworm', 'web2:upstart:trixie']);
  });

  it('bad choices are errors that say what was expected', () => {
    assert.throws(() => parseInits('sysvinit'), /lab: --init "sysvinit": expected one of systemd, upstart/);
    assert.throws(() => parseInits('db1=upstart'), /--init "db1=upstart": expected NODE=INIT with a node such as lb1 or web2/);
    assert.throws(() => parseInits('web1=runit'), /--init "runit": expected one of systemd, upstart/);
    assert.throws(() => plannedNodes({ lb: 1, web: 1 }, { inits: parseInits('web3=upstart') }), /--distro\/--init name web3, not among the planned nodes \(lb1, web1\)/);
  });
});
