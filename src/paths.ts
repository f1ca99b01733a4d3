import { fileURLToPath } from 'node:url';

/** The package's root (where playbooks/ and templates/ live), from dist/src/ or src/. */
export const packageRoot = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../' : '../', import.meta.url));

export const defaultPlaybook = `${packageRoot}playbooks/site.yml`;
