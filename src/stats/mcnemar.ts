/**
 * The exact McNemar test of two classifiers scored on the same samples: of the discordant pairs,
 * b samples that A gets right and B wrong and c that B gets right and A wrong, the two-sided
 * p-value of b successes in b + c trials with p = ½ — `scipy.stats.binomtest(b, b + c, 0.5)`
 * (see {@linkcode binomialTestPValue}). Samples both get right or both wrong say nothing about
 * which is better and do not enter.
 *
 * @module
 */

import { binomialTestPValue } from "./binomial_test.ts";

/** The discordant counts of a paired comparison and the exact McNemar p-value. */
export interface McNemarResult {
  /** Samples A gets right and B wrong. */
  readonly aOnly: number;
  /** Samples B gets right and A wrong. */
  readonly bOnly: number;
  /** Two-sided exact p-value; 1 when there is no discordant pair. */
  readonly pValue: number;
}

/**
 * The exact McNemar test from the discordant counts.
 *
 * With no discordant pair (b = c = 0) the p-value is 1 by convention: nothing distinguishes the
 * two (scipy's `binomtest` refuses n = 0).
 *
 * @throws {RangeError} when a count is not a non-negative integer.
 *
 * @example
 * ```ts
 * import { mcnemarExact } from "./mcnemar.ts";
 * console.log(mcnemarExact(12, 3).pValue.toFixed(5)); // 0.03516
 * ```
 */
export function mcnemarExact(aOnly: number, bOnly: number): McNemarResult {
  for (const [name, value] of [["aOnly", aOnly], ["bOnly", bOnly]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
    }
  }
  const discordant = aOnly + bOnly;
  const pValue = discordant === 0 ? 1 : binomialTestPValue(aOnly, discordant, 0.5);
  return { aOnly, bOnly, pValue };
}

/**
 * The exact McNemar test from per-sample correctness of A and B (equal lengths; truthy = right).
 *
 * @throws {RangeError} when the lengths differ.
 */
export function mcnemarFromCorrectness(
  aCorrect: ArrayLike<number | boolean>,
  bCorrect: ArrayLike<number | boolean>,
): McNemarResult {
  if (aCorrect.length !== bCorrect.length) {
    throw new RangeError(
      `paired samples differ in number: ${aCorrect.length} and ${bCorrect.length}`,
    );
  }
  let aOnly = 0;
  let bOnly = 0;
  for (let i = 0; i < aCorrect.length; i++) {
    const a = Boolean(aCorrect[i]);
    const b = Boolean(bCorrect[i]);
    if (a && !b) aOnly++;
    else if (b && !a) bOnly++;
  }
  return mcnemarExact(aOnly, bOnly);
}
