import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RUN_OPTIONS } from '../../src/cli/options.js';
import { buildProgram } from '../../src/cli/program.js';
import { persistSeconds, servedCommand } from '../../src/cli/run-server-protocol.js';
import { Redactor } from '../../src/secrets/redactor.js';

describe('which command lines the run server is asked to run', () => {
  test('--persist N, --persist=N, else BOOTSTRAP_PERSIST; the option wins; zero or not a number is no persist', () => {
    assert.equal(persistSeconds(['inv.yaml', '--persist', '30'], {}), 30);
    assert.equal(persistSeconds(['inv.yaml', '--persist=5'], {}), 5);
    assert.equal(persistSeconds(['inv.yaml'], { BOOTSTRAP_PERSIST: '300' }), 300);
    assert.equal(persistSeconds(['inv.yaml', '--persist', '20'], { BOOTSTRAP_PERSIST: '300' }), 20);
    assert.equal(persistSeconds(['inv.yaml', '--persist', '0'], { BOOTSTRAP_PERSIST: '300' }), undefined);
    assert.equal(persistSeconds(['inv.yaml', '--persist', 'soon'], {}), undefined);
    assert.equal(persistSeconds(['inv.yaml'], {}), undefined);
  });

  test('exactly the commands that honour --persist (apply, also by its inventory alone), as the CLI defines them', async () => {
    const program = await buildProgram(() => undefined, new Redactor(), undefined, []);
    const honoured: readonly string[] = RUN_OPTIONS.find((o) => o.flags.startsWith('--persist '))!.for;
    const commands = program.commands.map((c) => ({ name: c.name(), persist: honoured.includes(c.name()) }));
    assert.ok(commands.some((c) => c.persist) && commands.some((c) => !c.persist), JSON.stringify(commands));
    for (const { name, persist } of commands) assert.equal(servedCommand([name, 'inv.yaml']), persist, name);
    assert.equal(servedCommand(['inv.yaml', '--persist', '30']), true, 'the default command');
    // an option first is run here: it may be one that takes a value, which a word check cannot tell from a command
    assert.equal(servedCommand(['--persist', '30', 'inv.yaml']), false);
    assert.equal(servedCommand([]), false);
  });
});
