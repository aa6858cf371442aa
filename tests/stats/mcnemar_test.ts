import assert from "node:assert/strict";
import { mcnemarExact, mcnemarFromCorrectness } from "../../src/stats/mcnemar.ts";
import { assertClose, vectors } from "./_vectors.ts";

Deno.test("McNemar's exact p-value is scipy's binomtest(b, b + c, 0.5) for every b + c <= 40", () => {
  let checked = 0;
  for (const { k, n, p, pvalue } of vectors.binomtest) {
    if (p !== 0.5) continue;
    assertClose(mcnemarExact(k, n - k).pValue, pvalue, `b=${k}, c=${n - k}`, 1e-11);
    // The test is symmetric in A and B.
    assertClose(mcnemarExact(n - k, k).pValue, pvalue, `b=${n - k}, c=${k}`, 1e-11);
    checked++;
  }
  assert.ok(checked > 800);
});

Deno.test("no discordant pair gives p = 1 (scipy refuses n = 0)", () => {
  assert.deepEqual(mcnemarExact(0, 0), { aOnly: 0, bOnly: 0, pValue: 1 });
});

Deno.test("discordant pairs are counted from per-sample correctness", () => {
  const a = [1, 1, 1, 0, 1, 0, 1, 1, 1, 1];
  const b = [1, 0, 0, 0, 1, 1, 0, 0, 0, 1];
  const result = mcnemarFromCorrectness(a, b);
  assert.equal(result.aOnly, 5);
  assert.equal(result.bOnly, 1);
  const vector = vectors.binomtest.find((v) => v.k === 5 && v.n === 6 && v.p === 0.5)!;
  assertClose(result.pValue, vector.pvalue, "b=5, c=1", 1e-12);
  assert.throws(() => mcnemarFromCorrectness([1], [1, 0]), RangeError);
  assert.throws(() => mcnemarExact(-1, 2), RangeError);
});
