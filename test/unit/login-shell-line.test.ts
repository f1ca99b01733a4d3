import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loginShellLine, toShell } from '../../src/argv.js';

/** What sshd does with a command line: `<login shell> -c <line>`. */
const through = (shell: string, line: string) => execFileSync(shell, ['-c', line], { encoding: 'utf8', input: 'from stdin\n' });

describe('the command line sent through the login shell', () => {
  const script = ['sh', '-c', "x='a $b'; printf '%s|%s|' \"$x\" \"$1!\"\nread -r l; echo \"$l\"", 'sh', "it's !bang"];

  it('is the plain quoted line when it has no newline and no !', () => {
    assert.equal(loginShellLine(['mkdir', '-p', '/a b']), toShell(['mkdir', '-p', '/a b']));
  });

  it('otherwise has neither, and sh and tcsh both run it as the argv says, stdin included', () => {
    const line = loginShellLine(script);
    assert.doesNotMatch(line, /[\n!]/);
    const expected = "a $b|it's !bang!|from stdin\n";
    assert.equal(through('/bin/sh', line), expected);
    assert.equal(through('/bin/sh', toShell(script)), expected);
    assert.ok(existsSync('/usr/bin/tcsh'), 'tcsh is installed by .ci/setup');
    assert.equal(through('/usr/bin/tcsh', line), expected);
  });
});
