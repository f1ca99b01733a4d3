import { ConfigError } from './errors.js';

/* Numbers read from command-line option values: bad ones are invalid input, naming the option. */

export function positive(option: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError({ file: option }, '', `expected a positive integer, got "${value}"`);
  return n;
}

export function nonNegative(option: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError({ file: option }, '', `expected a whole number of seconds (0 or more), got "${value}"`);
  return n;
}
