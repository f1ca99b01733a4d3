import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { consulWrapperGoMod, pinnedDependencies } from '../../src/lab/go-builds.js';

describe('the older consul the lab builds for upgrades', () => {
  const pinned = { Go: '1.20', Require: [{ Path: 'golang.org/x/sys', Version: 'v0.15.0' }, { Path: 'github.com/hashicorp/hcp-sdk-go', Version: 'v0.73.0' }] };
  const older = { Go: '1.20', Require: [{ Path: 'golang.org/x/sys', Version: 'v0.13.0' }, { Path: 'github.com/hashicorp/hcp-sdk-go', Version: 'v0.55.0' }] };

  it('takes the pinned release\'s dependencies, except the modules whose API its code needs at its own version', () => {
    assert.deepEqual(pinnedDependencies(pinned, older).Require, [
      { Path: 'golang.org/x/sys', Version: 'v0.15.0' },
      { Path: 'github.com/hashicorp/hcp-sdk-go', Version: 'v0.55.0' },
    ]);
  });

  it('requires and replaces each of them at that version, and consul at its own', () => {
    const goMod = consulWrapperGoMod(pinnedDependencies(pinned, older), '1.16.3');
    assert.match(goMod, /\tgithub\.com\/hashicorp\/consul v1\.16\.3\n/);
    assert.match(goMod, /\tgolang\.org\/x\/sys => golang\.org\/x\/sys v0\.15\.0\n/);
    assert.match(goMod, /\tgithub\.com\/hashicorp\/hcp-sdk-go => github\.com\/hashicorp\/hcp-sdk-go v0\.55\.0\n/);
  });
});
