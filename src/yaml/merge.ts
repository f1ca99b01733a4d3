function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Variable precedence merge: maps merge key by key (recursively), anything else (lists included) is replaced by `over`. */
export function deepMerge(under: unknown, over: unknown): unknown {
  if (over === undefined) return under;
  if (!isPlainMap(under) || !isPlainMap(over)) return over;
  const out: Record<string, unknown> = { ...under };
  for (const [key, value] of Object.entries(over)) out[key] = deepMerge(under[key], value);
  return out;
}

export function mergeAll(layers: Array<Record<string, unknown>>): Record<string, unknown> {
  return layers.reduce<Record<string, unknown>>((merged, layer) => deepMerge(merged, layer) as Record<string, unknown>, {});
}
