/** `npm run build` step: parses the bundled playbooks into dist/bundled-yaml.json (yaml/precompiled.ts). */
import { parseYaml } from './load-yaml.js';
import { writePrecompiled } from './precompiled.js';

const count = writePrecompiled(parseYaml);
if (count === 0) throw new Error('no bundled playbook was precompiled');
