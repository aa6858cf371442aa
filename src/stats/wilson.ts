/**
 * Wilson score interval of a binomial proportion (Wilson 1927), in the form scipy's
 * `BinomTestResult.proportion_ci(method="wilson")` computes it (Newcombe 1998, without continuity
 * correction): with p̂ = k/n and z the normal quantile,
 *
 *   center = (2·n·p̂ + z²) / (2·(n + z²)),   half-width = z / (2·(n + z²)) · √(4·n·p̂·(1 − p̂) + z²),
 *
 * and the bound is exactly 0 when k = 0 and exactly 1 when k = n. Unlike the normal (Wald)
 * interval it stays inside [0, 1] and keeps its coverage near 0 and 1 and for small n.
 *
 * @module
 */

/** The standard normal quantile of 0.975 (`scipy.special.ndtri(0.975)`): two-sided 95 %. */
export const Z_95 = 1.959963984540054;

/** A proportion with its confidence interval. */
export interface ProportionInterval {
  /** Successes. */
  readonly successes: number;
  /** Trials. */
  readonly trials: number;
  /** The observed proportion, successes / trials. */
  readonly estimate: number;
  /** Lower bound. */
  readonly low: number;
  /** Upper bound. */
  readonly high: number;
}

/**
 * The Wilson score interval of `successes` out of `trials` (95 % by default).
 *
 * @param z The normal quantile (default {@linkcode Z_95}).
 * @returns `null` when there are no trials (no proportion to bound).
 * @throws {RangeError} when the counts are not integers with 0 ≤ successes ≤ trials.
 *
 * @example
 * ```ts
 * import { wilsonInterval } from "./wilson.ts";
 * const interval = wilsonInterval(75, 100)!;
 * console.log(interval.low.toFixed(4), interval.high.toFixed(4)); // 0.6570 0.8245
 * ```
 */
export function wilsonInterval(
  successes: number,
  trials: number,
  z: number = Z_95,
): ProportionInterval | null {
  if (!Number.isSafeInteger(trials) || trials < 0) {
    throw new RangeError(`trials must be a non-negative integer, got ${trials}`);
  }
  if (!Number.isSafeInteger(successes) || successes < 0 || successes > trials) {
    throw new RangeError(`successes must be an integer from 0 to ${trials}, got ${successes}`);
  }
  if (trials === 0) return null;
  const n = trials;
  const p = successes / n;
  const q = 1 - p;
  const denominator = 2 * (n + z ** 2);
  const center = (2 * n * p + z ** 2) / denominator;
  const delta = z / denominator * Math.sqrt(4 * n * p * q + z ** 2);
  return {
    successes,
    trials,
    estimate: p,
    low: successes === 0 ? 0 : center - delta,
    high: successes === trials ? 1 : center + delta,
  };
}

/** Whether two intervals share at least one point. */
export function intervalsOverlap(
  a: { readonly low: number; readonly high: number },
  b: { readonly low: number; readonly high: number },
): boolean {
  return a.low <= b.high && b.low <= a.high;
}
