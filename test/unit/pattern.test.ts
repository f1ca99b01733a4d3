import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loadInventory } from '../../src/stack/inventory.js';
import { selectHosts, unknownPatternTerms } from '../../src/inventory/pattern.js';

const inv = loadInventory(fileURLToPath(new URL('../../../test/fixtures/config/merge/inventory.yml', import.meta.url)));

describe('selectHosts', () => {
  // fixture: prod > web {web1, web2}; lb {lb1, web1}; inventory order web1, web2, lb1
  const cases: Array<[string, string[]]> = [
    ['all', ['web1', 'web2', 'lb1']],
    ['*', ['web1', 'web2', 'lb1']],
    ['web', ['web1', 'web2']],
    ['prod', ['web1', 'web2']],
    ['lb1', ['lb1']],
    ['lb:web', ['web1', 'web2', 'lb1']],
    ['lb1,web2', ['web2', 'lb1']],
    ['lb:&web', ['web1']],
    ['web:!lb', ['web2']],
    ['all:!web', ['lb1']],
    ['!lb', ['web2']],
    ['web*', ['web1', 'web2']],
    ['l*', ['web1', 'lb1']],
    ['web?', ['web1', 'web2']],
    ['prod:&lb:!web2', ['web1']],
    [' web , lb1 ', ['web1', 'web2', 'lb1']],
    ['nosuch', []],
    ['web:&nosuch', []],
    ['', []],
  ];
  for (const [pattern, expected] of cases) {
    it(JSON.stringify(pattern), () => assert.deepEqual(selectHosts(inv, pattern), expected));
  }

  it('names the terms that match nothing, with a close name', () => {
    assert.deepEqual(unknownPatternTerms(inv, 'webb:lb:!prodd:zzz'), [
      { term: 'webb', suggestion: 'web' },
      { term: 'prodd', suggestion: 'prod' },
      { term: 'zzz', suggestion: undefined },
    ]);
  });
});
