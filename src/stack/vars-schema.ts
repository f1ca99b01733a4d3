import type { Field } from '../schema/types.js';

/** Inventory variables of the LB + web stack (apps, consul, nginx, docker, install sources). */
export const stackVarsSchema: Record<string, Field> = {};
