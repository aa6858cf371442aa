/**
 * The paired bootstrap of a difference between two models scored on the same samples: every
 * resample draws the same sample indices for both, so the interval reflects the variation of the
 * difference itself (smaller than that of either metric when the models agree on most samples).
 * The interval is the percentile interval of (metric A − metric B) over the resamples.
 *
 * @module
 */

import {
  type BootstrapInterval,
  type BootstrapOptions,
  drawResample,
  intervalPercentiles,
  meanAt,
  resolveBootstrapOptions,
} from "./bootstrap.ts";
import { percentiles } from "./percentile.ts";

/**
 * The paired percentile-bootstrap interval of `metricA − metricB` over n shared samples.
 *
 * @param metricA A's metric on the samples at the given indices.
 * @param metricB B's metric on the samples at the given indices.
 * @returns the difference on all samples and its interval.
 */
export function pairedBootstrapDifference(
  n: number,
  metricA: (indices: ArrayLike<number>) => number,
  metricB: (indices: ArrayLike<number>) => number,
  options: BootstrapOptions = {},
): BootstrapInterval {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`the bootstrap needs at least one sample, got ${n}`);
  }
  const { resamples, confidence, seed, indices } = resolveBootstrapOptions(options);
  const all = new Uint32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  const differences = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    const resample = drawResample(indices, r, n);
    differences[r] = metricA(resample) - metricB(resample);
  }
  const [low, high] = percentiles(differences, intervalPercentiles(confidence));
  return { estimate: metricA(all) - metricB(all), low, high, confidence, resamples, seed };
}

/**
 * The paired bootstrap of the difference of two means (e.g. per-sample 0/1 correctness of A and
 * B: the accuracy difference).
 *
 * @throws {RangeError} when the lengths differ.
 */
export function pairedBootstrapMeanDifference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: BootstrapOptions = {},
): BootstrapInterval {
  if (a.length !== b.length) {
    throw new RangeError(`paired samples differ in number: ${a.length} and ${b.length}`);
  }
  return pairedBootstrapDifference(
    a.length,
    (indices) => meanAt(a, indices),
    (indices) => meanAt(b, indices),
    options,
  );
}
