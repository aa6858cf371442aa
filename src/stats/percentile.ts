/**
 * Percentiles as `numpy.percentile(values, q)` computes them with its default `method="linear"`
 * (Hyndman and Fan's definition 7): sort, take the virtual index h = (n − 1)·(q / 100), and
 * interpolate between the values at ⌊h⌋ and ⌊h⌋ + 1 with NumPy's `_lerp` (a + (b − a)·t, or
 * b − (b − a)·(1 − t) when t ≥ ½), so the results agree bit for bit.
 *
 * @module
 */

/**
 * The q-th percentile (0 ≤ q ≤ 100) of `values`; NaN when any value is NaN (as NumPy).
 *
 * @throws {RangeError} when `values` is empty or q lies outside [0, 100].
 *
 * @example
 * ```ts
 * import { percentile } from "./percentile.ts";
 * console.log(percentile([1, 2, 3, 4], 25)); // 1.75
 * ```
 */
export function percentile(values: ArrayLike<number>, q: number): number {
  return percentiles(values, [q])[0];
}

/**
 * Several percentiles of the same values (sorted once).
 *
 * @throws {RangeError} when `values` is empty or a q lies outside [0, 100].
 */
export function percentiles(values: ArrayLike<number>, qs: readonly number[]): number[] {
  if (values.length === 0) throw new RangeError("the percentile of no values is undefined");
  for (const q of qs) {
    if (!(q >= 0 && q <= 100)) throw new RangeError(`percentiles lie in [0, 100], got ${q}`);
  }
  const sorted = Float64Array.from(values);
  if (sorted.some(Number.isNaN)) return qs.map(() => NaN);
  sorted.sort();
  const n = sorted.length;
  return qs.map((q) => {
    const virtual = (n - 1) * (q / 100);
    let previous = Math.floor(virtual);
    let next = previous + 1;
    if (virtual >= n - 1) previous = next = n - 1;
    const t = virtual - Math.floor(virtual);
    const a = sorted[previous];
    const b = sorted[next];
    const difference = b - a;
    return t >= 0.5 ? b - difference * (1 - t) : a + difference * t;
  });
}
