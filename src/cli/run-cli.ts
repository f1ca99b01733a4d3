import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, ConfigErrors, ExitCode } from '../errors.js';
import { packageVersion } from '../paths.js';
import type { Redactor } from '../secrets/redactor.js';

/**
 * The one redactor of a run: it knows every secret kept beside any file named on the
 * command line (the inventory is one of them) before anything is parsed, and apply adds each
 * secret() it hands out. Runner events, facts, verify, listings and every error pass through it.
 */
async function runRedactor(argv: readonly string[]): Promise<Redactor> {
  const { redactorFor } = await import('../secrets/store.js');
  return redactorFor(argv.filter((arg) => existsSync(arg) && statSync(arg).isFile()).map((arg) => dirname(resolve(arg))));
}

/** Commander errors (unknown option, missing argument) become our invalid-input exit code at every level. */
function overrideExits(cmd: Command): void {
  cmd.exitOverride();
  cmd.commands.forEach(overrideExits);
}

/** `bootstrap --version` alone: answered before commander, the command table and node:crypto (the secret store) load. */
function versionOnly(argv: readonly string[]): boolean {
  return argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V');
}

/** One run of the CLI: argv without node and the script, as typed. Returns the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  if (versionOnly(argv)) {
    console.log(packageVersion());
    return ExitCode.OK;
  }
  const [{ CommanderError }, { buildProgram }] = await Promise.all([import('commander'), import('./program.js')]);
  let code: number = ExitCode.OK;
  const redactor = await runRedactor(argv);
  const program = await buildProgram((c) => (code = c), redactor, undefined, argv);
  overrideExits(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.OK : ExitCode.INVALID_INPUT;
    }
    if (error instanceof ConfigErrors || error instanceof ConfigError) {
      console.error(redactor.text(error.message));
      console.error('Nothing was contacted.');
      return ExitCode.INVALID_INPUT;
    }
    const exitCode = (error as { exitCode?: unknown }).exitCode;
    console.error(redactor.text(`bootstrap: ${(error as Error).message ?? error}`));
    if (process.env.BOOTSTRAP_DEBUG) console.error(redactor.text(String((error as Error).stack)));
    return typeof exitCode === 'number' ? exitCode : ExitCode.INTERNAL;
  }
}

