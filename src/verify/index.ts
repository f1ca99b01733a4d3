export { verifyStack } from './stack.js';
export { allPassed, formatCheckTable } from './table.js';
export type { CheckResult, VerifyOptions } from './types.js';
