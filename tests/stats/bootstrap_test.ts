import assert from "node:assert/strict";
import {
  bootstrapMean,
  DEFAULT_RESAMPLES,
  meanAt,
  percentileBootstrap,
  seededIndexSource,
} from "../../src/stats/bootstrap.ts";
import { Xoshiro128StarStar } from "../../src/stats/prng.ts";
import { assertClose, vectors } from "./_vectors.ts";

Deno.test("with NumPy's resample indices the interval is NumPy's", () => {
  for (const vector of vectors.bootstrap) {
    const interval = bootstrapMean(vector.a, {
      resamples: vector.indices.length,
      indices: (resample) => vector.indices[resample],
    });
    assertClose(interval.estimate, vector.mean_a, `${vector.name} mean`, 1e-14);
    assertClose(interval.low, vector.mean_a_low, `${vector.name} low`, 1e-14);
    assertClose(interval.high, vector.mean_a_high, `${vector.name} high`, 1e-14);
    assert.equal(interval.seed, null);
    assert.equal(interval.resamples, vector.indices.length);
  }
});

Deno.test("the default source draws n indices per resample from the seeded generator", () => {
  const source = seededIndexSource(99);
  const generator = new Xoshiro128StarStar(99);
  for (let r = 0; r < 3; r++) {
    const expected = Array.from({ length: 17 }, () => generator.nextBelow(17));
    assert.deepEqual(Array.from(source(r, 17)), expected);
  }
});

Deno.test("a seeded bootstrap is reproducible and reports its seed and resamples", () => {
  const values = Array.from({ length: 200 }, (_, i) => (i * 7919) % 10 < 7 ? 1 : 0);
  const first = bootstrapMean(values, { seed: 5 });
  const second = bootstrapMean(values, { seed: 5 });
  assert.deepEqual(first, second);
  assert.equal(first.seed, 5);
  assert.equal(first.resamples, DEFAULT_RESAMPLES);
  assert.equal(first.estimate, 0.7);
  assert.ok(first.low < 0.7 && 0.7 < first.high);
  assert.notDeepEqual(bootstrapMean(values, { seed: 6 }), first);
});

Deno.test("index sources giving bad indices, and bad options, are refused", () => {
  const mean = (indices: ArrayLike<number>) => meanAt([1, 0, 1], indices);
  assert.throws(() => percentileBootstrap(3, mean, { indices: () => [0, 1] }), RangeError);
  assert.throws(() => percentileBootstrap(3, mean, { indices: () => [0, 1, 3] }), RangeError);
  assert.throws(() => percentileBootstrap(3, mean, { resamples: 0 }), RangeError);
  assert.throws(() => percentileBootstrap(3, mean, { confidence: 1 }), RangeError);
  assert.throws(() => percentileBootstrap(0, mean), RangeError);
});
