import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describeCycle, roomCycles, roomGraph } from '../helpers/folder-cycles.js';

/* design.md 3.9: the folders of src/ import downward only; no room imports one that imports it back, even through others. */

const src = fileURLToPath(new URL('../../../src/', import.meta.url));

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'rooms-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('folder cycles', () => {
  it('src/ has no import cycle between its rooms', () => {
    const graph = roomGraph(src);
    assert.ok(graph.rooms.includes('runner') && graph.imports.length > 50, 'the check reads the real tree');
    const cycles = roomCycles(graph);
    assert.equal(cycles.length, 0, cycles.map((c) => describeCycle(graph, c)).join('\n'));
  });

  it('finds a cycle through three rooms, type-only and re-exports included, and names its imports', () => {
    const root = tree({
      'a/x.ts': "import type { B } from '../b/y.js';\nexport type A = B;\n",
      'b/y.ts': "export { c } from '../c.js';\nexport type B = number;\n",
      'c.ts': "import {\n  a,\n} from './a/x.js';\nexport const c = a;\n",
      'd/z.ts': "import { c } from '../c.js';\nimport fs from 'node:fs';\n",
    });
    const graph = roomGraph(root);
    assert.deepEqual(graph.rooms, ['a', 'b', 'c.ts', 'd']);
    const cycles = roomCycles(graph);
    assert.deepEqual(cycles, [['a', 'b', 'c.ts']]);
    const text = describeCycle(graph, cycles[0]!);
    assert.match(text, /a → b: a\/x\.ts → \.\.\/b\/y\.js \(line 1\)$/m);
    assert.match(text, /c\.ts → a: c\.ts → \.\/a\/x\.js \(line 1\)$/m);
    assert.doesNotMatch(text, /d →/);
  });

  it('reports no cycle for a tree that only imports downward', () => {
    const root = tree({ 'a/x.ts': "import { b } from '../b/y.js';\n", 'b/y.ts': 'export const b = 1;\n' });
    assert.deepEqual(roomCycles(roomGraph(root)), []);
  });
});
