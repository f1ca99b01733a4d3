import './v8-tiering.js';
import { handedOver } from './cli-handover.js';
import { runCli } from './run-cli.js';

if (!handedOver(runCli)) {
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // Output is flushed by letting the loop drain; a stray handle must not keep the CLI alive.
    setTimeout(() => process.exit(code), 3000).unref();
  });
}
