import assert from "node:assert/strict";
import { intervalsOverlap, wilsonInterval, Z_95 } from "../../src/stats/wilson.ts";
import { assertClose, vectors } from "./_vectors.ts";

Deno.test("Z_95 is scipy's ndtri(0.975)", () => {
  assert.equal(Z_95, vectors.z);
});

Deno.test("Wilson intervals match scipy's proportion_ci(method='wilson') and the formula", () => {
  assert.ok(vectors.wilson.length >= 10);
  for (const { k, n, low, high, formula_low, formula_high } of vectors.wilson) {
    const interval = wilsonInterval(k, n)!;
    assert.equal(interval.estimate, k / n);
    assertClose(interval.low, low, `low of ${k}/${n}`, 1e-14, 1e-15);
    assertClose(interval.high, high, `high of ${k}/${n}`, 1e-14, 1e-15);
    assertClose(interval.low, formula_low, `formula low of ${k}/${n}`, 1e-12, 1e-14);
    assertClose(interval.high, formula_high, `formula high of ${k}/${n}`, 1e-12, 1e-14);
    assert.ok(interval.low <= k / n && k / n <= interval.high);
  }
});

Deno.test("the bounds are exactly 0 and 1 at the ends; no trials gives no interval", () => {
  assert.equal(wilsonInterval(0, 12)!.low, 0);
  assert.equal(wilsonInterval(12, 12)!.high, 1);
  assert.equal(wilsonInterval(0, 0), null);
});

Deno.test("counts that are not integers in range are refused", () => {
  assert.throws(() => wilsonInterval(2.5, 10), RangeError);
  assert.throws(() => wilsonInterval(11, 10), RangeError);
  assert.throws(() => wilsonInterval(-1, 10), RangeError);
  assert.throws(() => wilsonInterval(1, -3), RangeError);
});

Deno.test("intervalsOverlap: touching counts, disjoint does not", () => {
  assert.equal(intervalsOverlap({ low: 0, high: 0.5 }, { low: 0.5, high: 1 }), true);
  assert.equal(intervalsOverlap({ low: 0, high: 0.4 }, { low: 0.5, high: 1 }), false);
  assert.equal(intervalsOverlap({ low: 0.6, high: 0.9 }, { low: 0.5, high: 0.7 }), true);
});
