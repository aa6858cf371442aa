/**
 * The percentile bootstrap (Efron 1979): resample the n samples with replacement, compute the
 * statistic on each resample, and take the (1 − confidence)/2 and (1 + confidence)/2 percentiles
 * of those values ({@linkcode percentiles}, NumPy's default method) as the interval.
 *
 * The resamples come from a {@linkcode ResampleIndexSource}: by default
 * {@linkcode seededIndexSource}, n draws of {@linkcode Xoshiro128StarStar.nextBelow} per
 * resample from the given seed, so a report can print the seed and anyone can reproduce the
 * interval; a test can inject fixed index arrays instead.
 *
 * @module
 */

import { percentiles } from "./percentile.ts";
import { Xoshiro128StarStar } from "./prng.ts";

/** Resamples drawn by default, as the issue and common practice ask. */
export const DEFAULT_RESAMPLES = 1000;

/** The seed used when none is given. */
export const DEFAULT_SEED = 0;

/**
 * Gives the sample indices of resample number `resample` (0, 1, …): `n` integers in 0…n − 1.
 * Called once per resample, in order.
 */
export type ResampleIndexSource = (resample: number, n: number) => ArrayLike<number>;

/** The index source of a seeded generator: resample r is the generator's next n draws. */
export function seededIndexSource(seed: number): ResampleIndexSource {
  const generator = new Xoshiro128StarStar(seed);
  return (_resample, n) => {
    const indices = new Uint32Array(n);
    for (let i = 0; i < n; i++) indices[i] = generator.nextBelow(n);
    return indices;
  };
}

/** How a bootstrap is drawn. */
export interface BootstrapOptions {
  /** Number of resamples (default {@linkcode DEFAULT_RESAMPLES}). */
  readonly resamples?: number;
  /** Confidence level in (0, 1) (default 0.95). */
  readonly confidence?: number;
  /** Seed of the default index source (default {@linkcode DEFAULT_SEED}). */
  readonly seed?: number;
  /** Where resample indices come from; replaces the seeded generator (then `seed` is unused). */
  readonly indices?: ResampleIndexSource;
}

/** A statistic with its percentile-bootstrap interval. */
export interface BootstrapInterval {
  /** The statistic on all the samples. */
  readonly estimate: number;
  /** Lower percentile of the resampled statistics. */
  readonly low: number;
  /** Upper percentile of the resampled statistics. */
  readonly high: number;
  /** Confidence level. */
  readonly confidence: number;
  /** Resamples drawn. */
  readonly resamples: number;
  /** The seed of the index source; `null` when indices were injected. */
  readonly seed: number | null;
}

/** Validated options with defaults filled in. */
function resolveBootstrapOptions(options: BootstrapOptions): {
  resamples: number;
  confidence: number;
  seed: number | null;
  indices: ResampleIndexSource;
} {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const confidence = options.confidence ?? 0.95;
  if (!Number.isSafeInteger(resamples) || resamples < 1) {
    throw new RangeError(`resamples must be a positive integer, got ${resamples}`);
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`confidence must lie in (0, 1), got ${confidence}`);
  }
  const seed = options.indices ? null : options.seed ?? DEFAULT_SEED;
  const indices = options.indices ?? seededIndexSource(seed!);
  return { resamples, confidence, seed, indices };
}

/**
 * Draws resample indices from `source`, checking them.
 *
 * @throws {RangeError} when the source gives the wrong number of indices or one out of range.
 */
function drawResample(source: ResampleIndexSource, resample: number, n: number) {
  const indices = source(resample, n);
  if (indices.length !== n) {
    throw new RangeError(`resample ${resample} has ${indices.length} indices, expected ${n}`);
  }
  for (let i = 0; i < n; i++) {
    const index = indices[i];
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new RangeError(`resample ${resample} has index ${index} outside 0..${n - 1}`);
    }
  }
  return indices;
}

/** The two percentiles (in %) bounding a central interval of the given confidence. */
function intervalPercentiles(confidence: number): [number, number] {
  return [50 * (1 - confidence), 50 * (1 + confidence)];
}

/**
 * The percentile-bootstrap interval of a statistic of n samples.
 *
 * @param n Number of samples (at least 1).
 * @param statistic Computes the statistic from sample indices (all of 0…n − 1 for the estimate,
 *   a resample's indices otherwise; an index may repeat).
 *
 * @example Mean of 0/1 outcomes with a fixed seed
 * ```ts
 * import { percentileBootstrap } from "./bootstrap.ts";
 * const correct = [1, 1, 0, 1, 0, 1, 1, 1];
 * const mean = (indices: ArrayLike<number>) => {
 *   let sum = 0;
 *   for (let i = 0; i < indices.length; i++) sum += correct[indices[i]];
 *   return sum / indices.length;
 * };
 * const interval = percentileBootstrap(correct.length, mean, { seed: 7 });
 * console.log(interval.estimate, interval.low <= 0.75 && 0.75 <= interval.high); // 0.75 true
 * ```
 */
export function percentileBootstrap(
  n: number,
  statistic: (indices: ArrayLike<number>) => number,
  options: BootstrapOptions = {},
): BootstrapInterval {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`the bootstrap needs at least one sample, got ${n}`);
  }
  const { resamples, confidence, seed, indices } = resolveBootstrapOptions(options);
  const all = new Uint32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  const values = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) values[r] = statistic(drawResample(indices, r, n));
  const [low, high] = percentiles(values, intervalPercentiles(confidence));
  return { estimate: statistic(all), low, high, confidence, resamples, seed };
}

/** The mean of `values` at `indices`. */
export function meanAt(values: ArrayLike<number>, indices: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < indices.length; i++) sum += values[indices[i]];
  return sum / indices.length;
}

/** The percentile-bootstrap interval of the mean of `values` (e.g. per-sample 0/1 correctness). */
export function bootstrapMean(
  values: ArrayLike<number>,
  options: BootstrapOptions = {},
): BootstrapInterval {
  return percentileBootstrap(values.length, (indices) => meanAt(values, indices), options);
}
