import assert from "node:assert/strict";
import { binomialTestPValue } from "../../src/stats/binomial_test.ts";
import { assertClose, vectors } from "./_vectors.ts";

Deno.test("two-sided p-values match scipy.stats.binomtest for every vector", () => {
  assert.ok(vectors.binomtest.length > 1000);
  for (const { k, n, p, pvalue } of vectors.binomtest) {
    // 1e-300 absolute: p-values that underflow in scipy (0) may be a subnormal here.
    assertClose(binomialTestPValue(k, n, p), pvalue, `binomtest(${k}, ${n}, ${p})`, 1e-11);
  }
});

Deno.test("ties of masses within scipy's relative tolerance count as at most as likely", () => {
  // n = 2, p just above 1/2: P(X = 2) exceeds P(X = 0) by a relative 8e-9, below scipy's 1e-7,
  // so both outcomes enter: about 0.5, not P(X = 0) = 0.25.
  const vector = vectors.binomtest.find((v) => v.n === 2 && v.k === 0 && v.p === 0.5 + 1e-9)!;
  assertClose(vector.pvalue, 0.5, "scipy's value", 1e-8);
  assertClose(binomialTestPValue(0, 2, 0.5 + 1e-9), vector.pvalue, "binomtest(0, 2, ~0.5)");
  // Odd n, k just below the middle: the mirrored outcome has the same mass: p-value 1.
  assertClose(binomialTestPValue(10, 21, 0.5), 1, "binomtest(10, 21)", 1e-14);
});

Deno.test("invalid arguments are refused as scipy refuses them", () => {
  assert.throws(() => binomialTestPValue(0, 0), RangeError);
  assert.throws(() => binomialTestPValue(5, 4), RangeError);
  assert.throws(() => binomialTestPValue(1.5, 4), RangeError);
  assert.throws(() => binomialTestPValue(1, 4, 1.5), RangeError);
});
