import assert from "node:assert/strict";
import {
  pairedBootstrapDifference,
  pairedBootstrapMeanDifference,
} from "../../src/stats/paired_bootstrap.ts";
import { meanAt } from "../../src/stats/bootstrap.ts";
import { assertClose, vectors } from "./_vectors.ts";

Deno.test("paired differences over NumPy's resample indices match NumPy", () => {
  for (const vector of vectors.bootstrap) {
    const interval = pairedBootstrapMeanDifference(vector.a, vector.b, {
      resamples: vector.indices.length,
      indices: (resample) => vector.indices[resample],
    });
    assertClose(interval.estimate, vector.difference, `${vector.name} difference`, 1e-13, 1e-15);
    assertClose(interval.low, vector.difference_low, `${vector.name} low`, 1e-12, 1e-15);
    assertClose(interval.high, vector.difference_high, `${vector.name} high`, 1e-12, 1e-15);
  }
});

Deno.test("both models see the same indices in every resample", () => {
  const seen: string[] = [];
  const record = (tag: string) => (indices: ArrayLike<number>) => {
    seen.push(`${tag}:${Array.from(indices).join(",")}`);
    return meanAt([1, 0, 1, 1], indices);
  };
  const interval = pairedBootstrapDifference(4, record("a"), record("b"), {
    resamples: 20,
    seed: 3,
  });
  // Identical metrics on identical indices: every difference, and the interval, is 0.
  assert.deepEqual([interval.estimate, interval.low, interval.high], [0, 0, 0]);
  for (let i = 0; i < 20; i++) {
    assert.equal(seen[2 * i].slice(2), seen[2 * i + 1].slice(2));
  }
  assert.throws(() => pairedBootstrapMeanDifference([1], [1, 0]), RangeError);
});
