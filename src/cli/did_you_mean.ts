/**
 * "did you mean …" suggestions for misspelled names (dataset names, flags, commands): the known
 * names closest to the given one by the optimal-string-alignment distance (Levenshtein's edits
 * plus the swap of two neighbouring characters, each edit costing 1).
 *
 * @module
 */

/**
 * The optimal-string-alignment distance between `a` and `b`: the fewest insertions, deletions,
 * substitutions and swaps of two adjacent characters turning one into the other (no substring is
 * edited twice). Case-sensitive; compares UTF-16 code units.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  // Three rows of the dynamic programme: two rows back (for swaps), the previous, the current.
  let beforePrevious = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let current = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const substitution = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + substitution);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, beforePrevious[j - 2] + 1);
      }
      current[j] = best;
    }
    [beforePrevious, previous, current] = [previous, current, beforePrevious];
  }
  return previous[b.length];
}

/**
 * The largest distance still worth suggesting for a name of this length: 1 for up to 4
 * characters, 2 up to 8, then a third of the length (so `mnst` finds `mnist` while unrelated
 * short words find nothing).
 */
export function suggestionThreshold(length: number): number {
  if (length <= 4) return 1;
  if (length <= 8) return 2;
  return Math.floor(length / 3);
}

/**
 * The known names nearest to `given` (case-insensitively): those at the smallest distance found,
 * at most `limit` of them, in `known`'s order; empty when none is within
 * {@linkcode suggestionThreshold}.
 */
export function closestNames(given: string, known: Iterable<string>, limit = 3): string[] {
  const wanted = given.toLowerCase();
  const threshold = suggestionThreshold(wanted.length);
  const scored: { name: string; distance: number; order: number }[] = [];
  let order = 0;
  for (const name of new Set(known)) {
    const distance = editDistance(wanted, name.toLowerCase());
    if (distance <= threshold && name !== given) scored.push({ name, distance, order });
    order++;
  }
  const best = Math.min(...scored.map((s) => s.distance));
  return scored.filter((s) => s.distance === best)
    .sort((x, y) => x.order - y.order)
    .slice(0, limit)
    .map((s) => s.name);
}

/**
 * A message tail suggesting the closest known names: `" (did you mean 'mnist'?)"`, `" (did you
 * mean 'cars' or 'cifar10'?)"`, or `""` when nothing is close.
 *
 * @param quote Wraps each name as written in the message (default: single quotes).
 */
export function didYouMean(
  given: string,
  known: Iterable<string>,
  quote: (name: string) => string = (name) => `'${name}'`,
): string {
  const names = closestNames(given, known).map(quote);
  if (names.length === 0) return "";
  const listed = names.length === 1
    ? names[0]
    : `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
  return ` (did you mean ${listed}?)`;
}
