import assert from "node:assert/strict";
import { percentile, percentiles } from "../../src/stats/percentile.ts";
import { vectors } from "./_vectors.ts";

Deno.test("percentiles equal numpy.percentile (method 'linear') bit for bit", () => {
  for (const { values, q, expected } of vectors.percentile) {
    assert.deepEqual(percentiles(values, q), expected, `values of length ${values.length}`);
    for (let i = 0; i < q.length; i++) assert.equal(percentile(values, q[i]), expected[i]);
  }
});

Deno.test("percentile leaves its input alone; NaN in, NaN out; bad q refused", () => {
  const values = [3, 1, 2];
  assert.equal(percentile(values, 50), 2);
  assert.deepEqual(values, [3, 1, 2]);
  assert.ok(Number.isNaN(percentile([1, NaN], 50)));
  assert.throws(() => percentile([], 50), RangeError);
  assert.throws(() => percentile([1], 101), RangeError);
  assert.throws(() => percentile([1], -1), RangeError);
});
