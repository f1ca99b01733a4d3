/** Edit distance (insert, delete, substitute, swap two adjacent letters: each costs 1). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate closest to `word`, when close enough to be a plausible typo:
 * same letters ignoring case, `_`/`-` swaps, or an edit distance of at most
 * `maxDistance` (default: 1 for short words, 2 for words of 5+ letters, a third of longer ones).
 */
export function closest(word: string, candidates: Iterable<string>, maxDistance?: number): string | undefined {
  const normalized = normalize(word);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    if (normalize(candidate) === normalized) return candidate;
    const limit = maxDistance ?? Math.max(word.length < 5 ? 1 : 2, Math.floor(Math.min(word.length, candidate.length) / 3));
    if (Math.abs(word.length - candidate.length) > Math.min(limit, bestDistance)) continue; // the distance is at least that
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function normalize(word: string): string {
  return word.toLowerCase().replace(/[-_]/g, '');
}

/** " (did you mean `x`?)" or "" */
export function didYouMean(word: string, candidates: Iterable<string>, maxDistance?: number): string {
  const match = closest(word, candidates, maxDistance);
  return match === undefined ? '' : `; did you mean \`${match}\`?`;
}
