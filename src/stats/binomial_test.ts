/**
 * The exact two-sided binomial test, defined as `scipy.stats.binomtest(k, n, p).pvalue`
 * (scipy 1.10, `scipy/stats/_binomtest.py`): the probability, under X ~ Binomial(n, p), of every
 * outcome at most as likely as the one observed.
 *
 * With d = P(X = k) and a relative tolerance of 10⁻⁷ (an outcome counts as "at most as likely"
 * when its mass is ≤ d·(1 + 10⁻⁷), so that masses equal in exact arithmetic but not in floating
 * point are treated alike):
 *
 * - k = n·p: the p-value is 1;
 * - k < n·p: the whole lower tail P(X ≤ k), plus the upper tail beyond the last outcome i ≥ ⌈n·p⌉
 *   whose mass exceeds d·(1 + 10⁻⁷), found by scipy's binary search over the decreasing masses
 *   (one more outcome is included in the rare case that its mass equals d·(1 + 10⁻⁷) exactly);
 * - k > n·p: mirrored, the lower tail up to the last outcome i ≤ ⌊n·p⌋ whose mass is at most
 *   d·(1 + 10⁻⁷), plus P(X ≥ k);
 *
 * capped at 1. The binary search reproduces scipy's, including its bounds, so that the same
 * outcomes enter the sum; the masses and tails themselves come from
 * {@linkcode binomialPmf} and the tail sums (agreeing with scipy's Boost-based ones to about
 * 10⁻¹³ relative).
 *
 * @module
 */

import { binomialLowerTail, binomialPmf, binomialUpperTail } from "./binomial_distribution.ts";

/** scipy's relative tolerance for masses equal to the observed one. */
const RELATIVE_TOLERANCE = 1 + 1e-7;

/**
 * scipy's `_binary_search_for_binom_tst`: over lo…hi, where `values` ascends, the index i with
 * values(i) ≤ target < values(i + 1) (lo − 1 when values(lo) > target). Kept step for step,
 * including its `hi = mid − 1`, so that the same index comes out.
 */
function binarySearch(values: (i: number) => number, target: number, lo: number, hi: number) {
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const value = values(mid);
    if (value < target) lo = mid + 1;
    else if (value > target) hi = mid - 1;
    else return mid;
  }
  return values(lo) <= target ? lo : lo - 1;
}

/**
 * The two-sided p-value of the exact binomial test of k successes in n trials against success
 * probability p, as `scipy.stats.binomtest(k, n, p).pvalue`.
 *
 * @throws {RangeError} when n < 1, k is not an integer in 0…n, or p is not in (0, 1) (scipy
 *   accepts p = 0 and 1, where the test is trivial; it refuses n = 0 as well).
 *
 * @example
 * ```ts
 * import { binomialTestPValue } from "./binomial_test.ts";
 * console.log(binomialTestPValue(3, 20, 0.5).toFixed(6)); // 0.002577
 * ```
 */
export function binomialTestPValue(k: number, n: number, p: number = 0.5): number {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`n must be an integer not less than 1, got ${n}`);
  }
  if (!Number.isSafeInteger(k) || k < 0 || k > n) {
    throw new RangeError(`k must be an integer from 0 to n = ${n}, got ${k}`);
  }
  if (!(p > 0 && p < 1)) throw new RangeError(`p must lie in (0, 1), got ${p}`);
  const threshold = binomialPmf(k, n, p) * RELATIVE_TOLERANCE;
  let pValue: number;
  if (k === p * n) {
    pValue = 1;
  } else if (k < p * n) {
    const last = binarySearch((i) => -binomialPmf(i, n, p), -threshold, Math.ceil(p * n), n);
    const beyond = n - last + (threshold === binomialPmf(last, n, p) ? 1 : 0);
    pValue = binomialLowerTail(k, n, p) + binomialUpperTail(n - beyond, n, p);
  } else {
    const last = binarySearch((i) => binomialPmf(i, n, p), threshold, 0, Math.floor(p * n));
    pValue = binomialLowerTail(last, n, p) + binomialUpperTail(k - 1, n, p);
  }
  return Math.min(1, pValue);
}
