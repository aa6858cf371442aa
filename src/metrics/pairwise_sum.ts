/**
 * NumPy's summation order for float64 reductions, so that means computed here round exactly as
 * `np.mean` / scikit-learn's do.
 *
 * NumPy (`np.add.reduce` on a contiguous float64 array) starts from 0 and adds a pairwise sum:
 * fewer than 8 values are added in order; up to 128 values go through eight interleaved
 * accumulators combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) followed by the remainder in
 * order; longer runs are split in two at a multiple of 8 near the middle.
 *
 * @module
 */

const BLOCK = 128;

function pairwise(values: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let sum = 0;
    for (let i = start; i < start + n; i++) sum += values[i];
    return sum;
  }
  if (n <= BLOCK) {
    const r = new Float64Array(8);
    for (let j = 0; j < 8; j++) r[j] = values[start + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += values[start + i + j];
    }
    let sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) sum += values[start + i];
    return sum;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwise(values, start, half) + pairwise(values, start + half, n - half);
}

/** The sum of `values` rounded exactly as NumPy 1.x sums a contiguous float64 array. */
export function numpySum(values: ArrayLike<number>): number {
  return 0 + pairwise(values, 0, values.length);
}

/** The mean of `values` as `np.mean` computes it (NumPy's sum divided by the count). */
export function numpyMean(values: ArrayLike<number>): number {
  return numpySum(values) / values.length;
}
