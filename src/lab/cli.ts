import { Command, Option } from 'commander';
import { ExitCode } from '../errors.js';
import { positive } from '../option-numbers.js';
import type { LabRun } from './commands.js';

/**
 * `bootstrap lab …`, the CLI's add-on for local nodes. Only commander is loaded up front; each
 * action imports the lab when it runs. `run` is how the demo applies and verifies (the CLI's own commands).
 */
export function labCommand(setExit: (code: number) => void, run: () => Promise<LabRun>): Command {
  const lab = new Command('lab').description('local throw-away nodes: Docker containers booting systemd (or Upstart) and sshd');
  const registratorSrc = (cmd: Command) =>
    cmd.option('--registrator-src <dir>', 'registrator source to build from (default $BOOTSTRAP_REGISTRATOR_SRC, else go install of the pinned commit)');
  const nodes = (cmd: Command) =>
    registratorSrc(cmd.option('--lb <n>', 'lb nodes', '1').option('--web <n>', 'web nodes', '2'))
      .option('--distro <spec>', 'Debian release of the nodes: bookworm (default) or trixie, or per node: lb1=trixie,web1=trixie')
      .option('--init <spec>', 'what the nodes boot as PID 1: systemd (default) or upstart (built from source), or per node: web2=upstart')
      .option('--acme', "run Let's Encrypt's test CA Pebble on the lab host and add the app auto (auto.lab.test) with tls: acme")
      .option('--acme-validity <seconds>', "lifetime of Pebble's certificates, with --acme", '7776000');
  const labCommands = () => import('./commands.js');
  const labOptions = async (o: { lb: string; web: string; distro?: string; init?: string; registratorSrc?: string; acme?: boolean; acmeValidity: string }) => ({
    lb: positive('--lb', o.lb),
    web: positive('--web', o.web),
    distros: (await import('./nodes.js')).parseDistros(o.distro),
    inits: (await import('./nodes.js')).parseInits(o.init),
    registratorSrc: o.registratorSrc,
    acme: o.acme ? { validitySeconds: positive('--acme-validity', o.acmeValidity) } : undefined,
  });
  nodes(lab.command('up').description('start the nodes (reusing what exists) and write the lab inventory')).action(async (o) => {
    await (await labCommands()).labUpCommand(await labOptions(o));
    setExit(ExitCode.OK);
  });
  registratorSrc(lab.command('build').description('build (or find cached) what the lab ships: consul, consul-template, registrator and the demo app images; and Pebble with ARI for the tests'))
    .option('--previous', 'also the consul and consul-template releases before the pinned ones (to try an upgrade on the lab)')
    .option('--node-images', "also the node images' root filesystems (Debian 12 and 13 with systemd, Debian 12 with Upstart), built while the Go builds run")
    .action(async (o) => {
      await (await labCommands()).labBuildCommand(o.registratorSrc, Boolean(o.previous), Boolean(o.nodeImages));
      setExit(ExitCode.OK);
    });
  lab.command('down').description('remove every lab container, network and process').action(async () => {
    await (await labCommands()).labDownCommand();
    setExit(ExitCode.OK);
  });
  lab.command('status').description('nodes and addresses').action(async () => {
    await (await labCommands()).labStatusCommand();
    setExit(ExitCode.OK);
  });
  nodes(lab.command('demo').description('lab up, bootstrap the stack and demo apps, verify, and show what to try next'))
    .addOption(new Option('--output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (o) => setExit(await (await labCommands()).labDemoCommand(await labOptions(o), o.output, await run())));

  return lab;
}
