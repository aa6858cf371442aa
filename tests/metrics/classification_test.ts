import assert from "node:assert/strict";
import { ClassificationAccumulator } from "../../src/metrics/classification.ts";
import { numpyMean, numpySum } from "../../src/metrics/pairwise_sum.ts";

interface VectorCase {
  name: string;
  classes: number;
  logits_milli: number[];
  labels: number[];
  acc1: number;
  acc5: number | null;
  mean_per_class_recall: number;
}

const vectors: { cases: VectorCase[] } = JSON.parse(
  await Deno.readTextFile(new URL("../data/metrics/classification_vectors.json", import.meta.url)),
);

for (const c of vectors.cases) {
  Deno.test(`classification metrics equal CLIP_benchmark/scikit-learn: ${c.name}`, () => {
    const logits = Float32Array.from(c.logits_milli, (m) => m / 1000);
    // Feed in uneven batches: the result must not depend on batching.
    const acc = new ClassificationAccumulator(c.classes);
    let row = 0;
    for (const size of [1, 7, 64, 3]) {
      const end = Math.min(row + size, c.labels.length);
      acc.update(logits.subarray(row * c.classes, end * c.classes), c.labels.slice(row, end));
      row = end;
    }
    acc.update(logits.subarray(row * c.classes), c.labels.slice(row));
    assert.equal(acc.count, c.labels.length);
    // Bit-exact: same counts, same division, NumPy's summation order for the mean.
    assert.deepEqual(acc.result(), {
      acc1: c.acc1,
      acc5: c.acc5,
      mean_per_class_recall: c.mean_per_class_recall,
    });
  });
}

Deno.test("classification metrics: hand-computed case with ties and an absent class", () => {
  // 4 classes; class 3 never occurs as a label but is predicted once.
  const logits = [
    [0.9, 0.1, 0.0, 0.0], // label 0 -> pred 0 (correct)
    [0.5, 0.5, 0.0, 0.0], // label 1 -> tie, lower index 0 wins (wrong)
    [0.0, 0.2, 0.2, 0.1], // label 2 -> tie between 1 and 2, 1 wins (wrong)
    [0.0, 0.0, 0.1, 0.7], // label 2 -> pred 3 (wrong)
    [0.0, 0.3, 0.2, 0.1], // label 1 -> pred 1 (correct)
  ];
  const acc = new ClassificationAccumulator(4);
  acc.update(logits.flat(), [0, 1, 2, 2, 1]);
  // recall: class 0 = 1/1, class 1 = 1/2, class 2 = 0/2; class 3 absent from labels.
  assert.deepEqual(acc.result(), {
    acc1: 2 / 5,
    acc5: null,
    mean_per_class_recall: (1 + 0.5 + 0) / 3,
  });
});

Deno.test("classification metrics: top-5 counts a tie at the fifth place for the lower index", () => {
  const acc = new ClassificationAccumulator(7);
  // Classes 0..3 score 1; classes 4, 5, 6 tie at 0.5. Label 4 ranks 5th (in), label 5 ranks 6th (out).
  const row = [1, 1, 1, 1, 0.5, 0.5, 0.5];
  acc.update([...row, ...row], [4, 5]);
  const result = acc.result();
  assert.equal(result.acc1, 0);
  assert.equal(result.acc5, 0.5);
});

Deno.test("classification metrics: bad input is rejected", () => {
  const acc = new ClassificationAccumulator(3);
  assert.throws(() => acc.update([0, 1, 2], [3]), RangeError);
  assert.throws(() => acc.update([0, 1], [0]), RangeError);
  assert.throws(() => acc.result(), /no samples/);
  assert.throws(() => new ClassificationAccumulator(0), RangeError);
});

Deno.test("numpySum follows NumPy's pairwise order", () => {
  // 0.1 added ten times sequentially is 0.9999999999999999; NumPy's pairwise sum gives 1.
  const tenths = new Array(10).fill(0.1);
  let sequential = 0;
  for (const v of tenths) sequential += v;
  assert.equal(sequential, 0.9999999999999999);
  assert.equal(numpySum(tenths), 1);
  assert.equal(numpyMean([1, 2, 3, 4]), 2.5);
  assert.equal(numpySum([]), 0);
});
