/**
 * The vectors of tools/vectors/make_stats_vectors.py (scipy 1.10, NumPy 1.24).
 *
 * @module
 */

/** What tests/data/stats/stats_vectors.json holds. */
export interface StatsVectors {
  z: number;
  wilson: {
    k: number;
    n: number;
    low: number;
    high: number;
    formula_low: number;
    formula_high: number;
  }[];
  binomtest: { k: number; n: number; p: number; pvalue: number }[];
  percentile: { values: number[]; q: number[]; expected: number[] }[];
  bootstrap: {
    name: string;
    a: number[];
    b: number[];
    indices: number[][];
    mean_a: number;
    mean_a_low: number;
    mean_a_high: number;
    difference: number;
    difference_low: number;
    difference_high: number;
  }[];
  prng: { seed: number; uint32: number[]; below: Record<string, number[]> }[];
}

/** The parsed vector file. */
export const vectors: StatsVectors = JSON.parse(
  await Deno.readTextFile(new URL("../data/stats/stats_vectors.json", import.meta.url)),
);

/** |actual − expected| within `relative` of |expected| (or `absolute`). */
export function assertClose(
  actual: number,
  expected: number,
  what: string,
  relative = 1e-12,
  absolute = 1e-300,
): void {
  const tolerance = Math.max(absolute, relative * Math.abs(expected));
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(`${what}: got ${actual}, expected ${expected} (tolerance ${tolerance})`);
  }
}
