import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { bundledPlaybooks } from '../../src/paths.js';
import { loadYamlFile, parseYaml } from '../../src/yaml/load-yaml.js';
import { precompiled } from '../../src/yaml/precompiled.js';

describe('bundled playbooks parsed at build time (dist/bundled-yaml.json, written by npm run build)', () => {
  const files = readdirSync(bundledPlaybooks).filter((n) => n.endsWith('.yml')).map((n) => `${bundledPlaybooks}${n}`);

  it('has an entry for the current text of every bundled playbook', () => {
    for (const file of files) assert.ok(precompiled(file, readFileSync(file, 'utf8'), 'plays'), `${file}: no entry for its text (run npm run build)`);
  });

  it('gives the same values and positions as parsing the file', () => {
    for (const file of files) {
      const parsed = parseYaml(readFileSync(file, 'utf8'), file, 'plays');
      const loaded = loadYamlFile(file, 'plays');
      assert.deepEqual(loaded.value, parsed.value, file);
      assert.deepEqual([...loaded.positions], [...parsed.positions], file);
    }
  });

  it('is not used for another text, another root, or a file outside the bundled playbooks', () => {
    const file = files[0]!;
    const text = readFileSync(file, 'utf8');
    assert.equal(precompiled(file, `${text}\n# edited\n`, 'plays'), undefined);
    assert.equal(precompiled(file, text, ''), undefined);
    assert.equal(precompiled('/tmp/site.yml', text, 'plays'), undefined);
  });
});
