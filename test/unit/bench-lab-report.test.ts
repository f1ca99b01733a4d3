import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSplit, kindOf, median, medianText, sideBySide, splitFirstRun, type ResultEvent } from '../bench/lab-report.js';

const modules: Record<string, string> = {
  'apt\0a': 'package',
  'apt\0b': 'binary',
  'apt\0c': 'docker_image',
  'apt\0d': 'copy',
  'apt\0e': 'wait_for',
  'web\0f': 'command',
  'web\0g': 'copy',
};
const moduleOf = (play: string, task: string) => modules[`${play}\0${task}`];
const result = (play: string, task: string, host: string, status: string, ms: number): ResultEvent => ({ type: 'task:result', play, task, host, status, ms });

describe('bench:lab first-run split', () => {
  it('names what a task spends node time on by its module', () => {
    assert.deepEqual(['package', 'binary', 'get_url', 'docker_image', 'wait_for', 'template', undefined].map(kindOf), ['apt', 'downloads', 'downloads', 'image loads', 'waits', 'other changes', 'other changes']);
  });

  it("takes each play's busiest host, counts waits whatever their status, and leaves the rest to the tool", () => {
    const events: ResultEvent[] = [
      { type: 'run:start' },
      // play apt: h1 has 100+200+300+40 = 640 of node work, h2 1000 of apt alone: h2 sets the play
      result('apt', 'a', 'h1', 'changed', 100),
      result('apt', 'b', 'h1', 'changed', 200),
      result('apt', 'c', 'h1', 'changed', 300),
      result('apt', 'd', 'h1', 'changed', 40),
      result('apt', 'a', 'h2', 'changed', 1000),
      // a wait that found the port open at once is ok, and still node work
      result('apt', 'e', 'h2', 'ok', 50),
      result('apt', 'd', 'h2', 'ok', 7),
      // play web: a command retried with until waited, though it ended ok
      { type: 'task:retry', play: 'web', task: 'f', host: 'h1' },
      result('web', 'f', 'h1', 'ok', 400),
      result('web', 'g', 'h1', 'ok', 3),
    ];
    const split = splitFirstRun(5000, events, moduleOf);
    assert.deepEqual(split.byKind, { apt: 1000, downloads: 0, 'image loads': 0, waits: 450, 'other changes': 0 });
    assert.equal(split.nodeWork, 1450);
    assert.equal(split.tool, 3550);
    assert.equal(split.unchanged, 10);
    const lines = formatSplit(split);
    assert.match(lines[0]!, /node work on each play's busiest host: 1450ms \(29%\)/);
    assert.match(lines.at(-1)!, /the tool's own .*: 3550ms \(71%\); tasks that changed nothing took 10ms/);
  });
});

describe('bench:lab container table', () => {
  it('medians with min and max', () => {
    assert.equal(median([5, 1, 3, 2, 4]), 3);
    assert.equal(median([4, 1, 3, 2]), 3);
    assert.equal(medianText([300, 100, 200]), '200ms (min 100, max 300)');
  });

  it('puts both LBs side by side, a row per series and direction', () => {
    const lines = sideBySide([
      { lb: 'nginx', series: 'no health check', serving: [400, 410, 390], out: [230, 240, 250] },
      { lb: 'haproxy', series: 'no health check', serving: [200, 210, 190], out: [100, 90, 95] },
      { lb: 'nginx', series: 'HTTP check every 1s', serving: [900], out: [300] },
    ]);
    assert.equal(lines.length, 6);
    assert.match(lines[0]!, /^\|\s+\| nginx\s+\| haproxy\s+\|$/);
    assert.match(lines[2]!, /^\| docker run -> serving, no health check\s+\| 400ms \(min 390, max 410\) n=3 \| 200ms \(min 190, max 210\) n=3 \|$/);
    assert.match(lines[3]!, /docker kill -> out, no health check\s+\| 240ms \(min 230, max 250\) n=3 \| 95ms \(min 90, max 100\) n=3/);
    assert.match(lines[4]!, /docker run -> serving, HTTP check every 1s\s+\| 900ms \(min 900, max 900\) n=1 \| -\s+\|$/);
    const widths = new Set(lines.map((l) => l.length));
    assert.equal(widths.size, 1, 'aligned columns');
  });
});
