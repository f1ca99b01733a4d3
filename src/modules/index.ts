import { assertModule } from './assert.js';
import { binaryModule } from './binary.js';
import { debugModule } from './debug.js';
import { failModule } from './fail.js';
import { setFactModule } from './set-fact.js';
import { statModule } from './stat.js';
import { lineinfileModule } from './lineinfile.js';
import { blockinfileModule } from './blockinfile.js';
import { getUrlModule } from './get-url.js';
import { aptRepositoryModule } from './apt-repository.js';
import { deb822RepositoryModule } from './deb822-repository.js';
import { systemdModule } from './systemd.js';
import { unarchiveModule } from './unarchive.js';
import { groupModule } from './group.js';
import { userModule } from './user.js';
import { commandModule } from './command.js';
import { consulAclPolicyModule, consulAclTokenModule } from './consul-acl.js';
import { copyModule } from './copy.js';
import { dockerContainerModule } from './docker-container.js';
import { dockerImageModule } from './docker-image.js';
import { fileModule } from './file.js';
import { packageModule } from './package.js';
import { serviceModule } from './service.js';
import { shellModule } from './shell.js';
import { templateModule } from './template.js';
import type { Module } from './types.js';
import { waitForModule } from './wait-for.js';

// Each module is typed by its own params; the registry hands them out untyped (params are
// checked against `module.params` before planning).
const all = [
  packageModule, fileModule, copyModule, templateModule, serviceModule, dockerContainerModule,
  dockerImageModule, binaryModule, commandModule, shellModule, waitForModule,
  debugModule, setFactModule, assertModule, failModule, statModule, lineinfileModule, blockinfileModule,
  groupModule, userModule, getUrlModule, systemdModule, aptRepositoryModule, deb822RepositoryModule, unarchiveModule,
  consulAclPolicyModule, consulAclTokenModule,
] as unknown as Module[];

export const modules = new Map<string, Module>(all.map((m) => [m.name, m]));
modules.set('systemd_unit', modules.get('service')!);
modules.set('systemd_service', systemdModule as unknown as Module);

export function getModule(name: string): Module | undefined {
  return modules.get(name);
}
