import './v8-tiering.js';
import { runCli } from './run-cli.js';

void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Output is flushed by letting the loop drain; a stray handle must not keep the CLI alive.
  setTimeout(() => process.exit(code), 3000).unref();
});
