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
  meanAt,
  percentileBootstrap,
} from "./bootstrap.ts";

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
  // One statistic over the shared resample: both metrics see the same indices.
  return percentileBootstrap(n, (indices) => metricA(indices) - metricB(indices), options);
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
