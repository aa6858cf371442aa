import assert from "node:assert/strict";
import { ClassificationAccumulator } from "../../../src/metrics/classification.ts";
import { MultilabelAccumulator } from "../../../src/metrics/multilabel.ts";
import { RetrievalAccumulator } from "../../../src/metrics/retrieval.ts";
import type {
  PredictionRow,
  PredictionsHeader,
} from "../../../src/results/predictions/predictions_file.ts";
import { allRows, sampleOutcomes } from "../../../src/results/predictions/sample_metrics.ts";
import {
  multiLabelRows,
  singleLabelRows,
  topClasses,
} from "../../../tasks/zeroshot_classification/predictions.ts";
import { retrievalRows } from "../../../tasks/zeroshot_retrieval/predictions.ts";
import { Xoshiro128StarStar } from "../../../src/stats/prng.ts";

const header = (kind: PredictionsHeader["kind"], extra: object): PredictionsHeader => ({
  format: "clipbench-predictions",
  version: 1,
  dataset: "d",
  model: "m",
  task: kind === "retrieval" ? "zeroshot_retrieval" : "zeroshot_classification",
  kind,
  ...extra,
});

/** Logits drawn from a few levels, so that many tie. */
function tiedLogits(random: Xoshiro128StarStar, count: number): Float64Array {
  return Float64Array.from({ length: count }, () => random.nextBelow(6) / 2);
}

Deno.test("topClasses ranks as acc@k counts: higher first, lower index among equals", () => {
  assert.deepEqual(topClasses([1, 3, 3, 0, 2, 3, 1], 0, 7), [1, 2, 5, 4, 0]);
  assert.deepEqual(topClasses([5, 5, 5], 0, 3), [0, 1, 2]);
  assert.deepEqual(topClasses([9, 0, 1, 2, 3, 4, 5], 1, 6), [5, 4, 3, 2, 1]);
});

Deno.test("classification rows give the accumulator's acc1, acc5 and mean per-class recall, ties included", () => {
  const random = new Xoshiro128StarStar(7);
  for (const classes of [3, 10, 37]) {
    const n = 500;
    const logits = tiedLogits(random, n * classes);
    const labels = Array.from({ length: n }, () => random.nextBelow(classes));
    const accumulator = new ClassificationAccumulator(classes);
    accumulator.update(logits, labels);
    const rows = singleLabelRows(logits, labels, classes).map((row, i) => ({
      key: `s${i}`,
      ...row,
    })) as PredictionRow[];
    const classnames = Array.from({ length: classes }, (_, c) => `c${c}`);
    const outcomes = sampleOutcomes({ header: header("classification", { classnames }) }, rows);
    const every = allRows(n);
    const expected = accumulator.result();
    assert.equal(outcomes.metrics.get("acc1")!(every), expected.acc1);
    assert.equal(outcomes.metrics.get("acc5")?.(every) ?? null, expected.acc5);
    assert.equal(
      outcomes.metrics.get("mean_per_class_recall")!(every),
      expected.mean_per_class_recall,
    );
  }
});

Deno.test("multi-label rows hold the float32 logits: the accumulator's mAP from them, and the weighted mAP within float32", () => {
  const random = new Xoshiro128StarStar(3);
  const classes = 6;
  const n = 300;
  const logits = Float64Array.from({ length: n * classes }, () => random.nextBelow(1e6) / 7e3);
  const targets = Array.from(
    { length: n },
    () => Uint8Array.from({ length: classes }, () => (random.nextBelow(3) === 0 ? 1 : 0)),
  );
  const reference = new MultilabelAccumulator(classes);
  reference.update(logits, targets);
  const rows = multiLabelRows(logits, targets, classes).map((row, i) => ({
    key: `s${i}`,
    ...row,
  })) as { key: string; labels: number[]; scores: number[] }[];
  const fromRows = new MultilabelAccumulator(classes);
  fromRows.update(
    rows.flatMap((row) => row.scores),
    rows.map((row) =>
      Uint8Array.from({ length: classes }, (_, c) => row.labels.includes(c) ? 1 : 0)
    ),
  );
  const expected = reference.result().mean_average_precision;
  assert.equal(fromRows.result().mean_average_precision, expected);
  const classnames = Array.from({ length: classes }, (_, c) => `c${c}`);
  const outcomes = sampleOutcomes({ header: header("multilabel", { classnames }) }, rows);
  const metric = outcomes.metrics.get("mean_average_precision")!;
  assert.ok(Math.abs(metric(allRows(n)) - expected) < 1e-6);
  // A resample with repeats: the weighted walk equals the accumulator on the rows repeated
  // (no two samples tie, so the copies of a sample rank next to each other either way).
  const draw = Uint32Array.from({ length: n }, () => random.nextBelow(n));
  const repeated = new MultilabelAccumulator(classes);
  repeated.update(
    Array.from(draw).flatMap((i) => rows[i].scores),
    Array.from(draw, (i) => targets[i]),
  );
  assert.ok(Math.abs(metric(draw) - repeated.result().mean_average_precision) < 1e-6);
});

Deno.test("retrieval rows give the accumulator's recalls; the image is the resampled unit", () => {
  const random = new Xoshiro128StarStar(11);
  const dim = 4;
  const images = 40;
  const accumulator = new RetrievalAccumulator(dim);
  accumulator.addImages(
    Float32Array.from({ length: images * dim }, () => random.nextBelow(5) - 2),
    images,
  );
  const owners = Int32Array.from({ length: 130 }, (_, i) => Math.min(images - 1, i % 43));
  owners.sort();
  accumulator.addCaptions(
    Float32Array.from({ length: owners.length * dim }, () => random.nextBelow(5) - 2),
    owners,
  );
  const recallK = [1, 5, 10];
  const rows = retrievalRows(accumulator).map((row, i) => ({ key: `i${i}`, ...row }));
  const outcomes = sampleOutcomes({ header: header("retrieval", { recall_k: recallK }) }, rows);
  const expected = accumulator.result(recallK);
  for (const [name, value] of Object.entries(expected)) {
    assert.ok(Math.abs(outcomes.metrics.get(name)!(allRows(images)) - value) < 1e-6, name);
    const hits = outcomes.hits.get(name)!;
    const trials = name.startsWith("image") ? owners.length : images;
    assert.equal(hits.length, trials);
    assert.equal(Math.fround(hits.reduce((a, b) => a + b, 0) / trials), value, name);
  }
});
