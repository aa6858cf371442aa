import assert from "node:assert/strict";
import {
  averagePrecisionPerClass,
  meanAveragePrecision,
  MultilabelAccumulator,
  torchFloat32Sum,
  type TorchVectorLanes,
} from "../../src/metrics/multilabel.ts";

interface Expected {
  ap: number[];
  mean_average_precision: number;
}

interface VectorCase {
  name: string;
  n: number;
  classes: number;
  scores?: number[][];
  targets?: number[][];
  lcg?: { seed: number; bits: number; rates_24: number[] };
  expected: Record<"8" | "16", Expected>;
}

const vectors: { cases: VectorCase[] } = JSON.parse(
  await Deno.readTextFile(
    new URL("../data/multilabel/average_precision_vectors.json", import.meta.url),
  ),
);

/** The inputs of a case: listed, or drawn from the generator's LCG (see its header). */
function caseInputs(c: VectorCase): { scores: Float32Array; targets: Uint8Array } {
  const scores = new Float32Array(c.n * c.classes);
  const targets = new Uint8Array(c.n * c.classes);
  if (c.lcg === undefined) {
    scores.set(c.scores!.flat());
    targets.set(c.targets!.flat());
    return { scores, targets };
  }
  const { seed, bits, rates_24: rates } = c.lcg;
  let state = seed >>> 0;
  const draw = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state >>> 8;
  };
  for (let i = 0; i < c.n; i++) {
    for (let k = 0; k < c.classes; k++) {
      scores[i * c.classes + k] = (draw() >>> (24 - bits)) / 2 ** bits;
      targets[i * c.classes + k] = draw() < rates[k % rates.length] ? 1 : 0;
    }
  }
  return { scores, targets };
}

function rowsOf(targets: Uint8Array, classes: number, start: number, end: number): Uint8Array[] {
  const rows: Uint8Array[] = [];
  for (let i = start; i < end; i++) rows.push(targets.subarray(i * classes, (i + 1) * classes));
  return rows;
}

for (const c of vectors.cases) {
  for (const lanes of [8, 16] as TorchVectorLanes[]) {
    Deno.test(`mAP equals CLIP_benchmark's in float32 torch (${lanes} lanes): ${c.name}`, () => {
      const { scores, targets } = caseInputs(c);
      const expected = c.expected[String(lanes) as "8" | "16"];
      // Fed in uneven batches: the result must not depend on batching.
      const accumulator = new MultilabelAccumulator(c.classes, { torchVectorLanes: lanes });
      let row = 0;
      for (const size of [1, 7, 1500, 3]) {
        const end = Math.min(row + size, c.n);
        accumulator.update(
          scores.subarray(row * c.classes, end * c.classes),
          rowsOf(targets, c.classes, row, end),
        );
        row = end;
      }
      accumulator.update(scores.subarray(row * c.classes), rowsOf(targets, c.classes, row, c.n));
      assert.equal(accumulator.count, c.n);
      assert.deepEqual([...accumulator.averagePrecisions()], expected.ap);
      assert.deepEqual(accumulator.result(), {
        mean_average_precision: expected.mean_average_precision,
      });
    });
  }
}

Deno.test("mAP vectors: the vector width matters, so the emulation is checked per width", () => {
  // Guards the vectors themselves: were both widths identical, the lanes tests would prove little.
  const differing = vectors.cases.filter((c) =>
    c.expected["8"].ap.some((ap, k) => ap !== c.expected["16"].ap[k])
  );
  assert.ok(differing.length >= 2, differing.map((c) => c.name).join(", "));
});

Deno.test("torchFloat32Sum: float32 rounding in torch's order, not a float64 sum", () => {
  // Below one vector: ((((x0 + x4) + x1) + x2) + x3) — column 0 takes the leftover x4 first.
  const tiny = Float32Array.of(1, 2 ** -24, 2 ** -24, 2 ** -24, 2 ** -24);
  // 1 + 2^-24 rounds back to 1 (ties to even), every time: the float32 sum stays 1.
  assert.equal(torchFloat32Sum(tiny), 1);
  // In float64 it would be 1 + 4·2^-24.
  assert.notEqual(tiny.reduce((a, b) => a + b, 0), 1);
  // 8 lanes: sixteen values are two vectors added lane-wise, then the lanes in order.
  const values = new Float32Array(16).fill(2 ** -24);
  values[0] = 1;
  // Lane 0: 1 + 2^-24 = 1; lanes 1..7: 2^-23 each; 0 + lane 0 = 1, then seven times 1 + 2^-23.
  assert.equal(torchFloat32Sum(values, 8), 1 + 7 * 2 ** -23);
  // 16 lanes: one vector; 1, then fifteen times 1 + 2^-24 = 1.
  assert.equal(torchFloat32Sum(values, 16), 1);
  assert.equal(torchFloat32Sum(new Float32Array(0)), 0);
});

Deno.test("average precision: hand-worked cases", () => {
  // Two classes, four samples.
  // Class 0 scores 0.9, 0.8, 0.7, 0.6 with truth 1, 0, 1, 0: precision at the positives 1/1 and 2/3.
  // Class 1 scores 0.5 everywhere (a four-way tie) with truth 0, 1, 1, 0: by sample order the
  // positives rank 2nd and 3rd: 1/2 and 2/3.
  const scores = Float32Array.of(0.9, 0.5, 0.8, 0.5, 0.7, 0.5, 0.6, 0.5);
  const targets = Uint8Array.of(1, 0, 0, 1, 1, 1, 0, 0);
  const ap = averagePrecisionPerClass(scores, targets, 4, 2);
  const f = Math.fround;
  assert.equal(ap[0], f(f(1 + f(2 / 3)) / 2));
  assert.equal(ap[1], f(f(f(1 / 2) + f(2 / 3)) / 2));
  assert.equal(meanAveragePrecision(ap), f(f(ap[0] + ap[1]) / 2));
});

Deno.test("average precision: a class without positives scores 0, an all-positive class 1", () => {
  const scores = Float32Array.of(0.3, 0.1, 0.2, 0.9, 0.1, 0.5);
  const targets = Uint8Array.of(0, 1, 0, 1, 0, 1);
  const ap = averagePrecisionPerClass(scores, targets, 3, 2);
  assert.deepEqual([...ap], [0, 1]);
  // The empty class still counts in the mean, as in CLIP_benchmark.
  assert.equal(meanAveragePrecision(ap), 0.5);
});

Deno.test("average precision: a single sample", () => {
  const accumulator = new MultilabelAccumulator(3);
  accumulator.update([0.2, -1, 7], [[1, 0, 1]]);
  assert.deepEqual([...accumulator.averagePrecisions()], [1, 0, 1]);
  assert.equal(accumulator.result().mean_average_precision, Math.fround(2 / 3));
});

Deno.test("average precision: ties rank the lower sample index first, across batches", () => {
  // One class, all scores equal: ranking is sample order, so positives at samples 2 and 3 give
  // precisions 1/3 and 2/4.
  const accumulator = new MultilabelAccumulator(1);
  accumulator.update([4, 4], [[0], [0]]);
  accumulator.update([4, 4], [[1], [1]]);
  const f = Math.fround;
  assert.equal(accumulator.averagePrecisions()[0], f(f(f(1 / 3) + f(2 / 4)) / 2));
  // Reversed truths: the positives come first and the AP is 1.
  const reversed = new MultilabelAccumulator(1);
  reversed.update([4, 4, 4, 4], [[1], [1], [0], [0]]);
  assert.equal(reversed.averagePrecisions()[0], 1);
});

Deno.test("multi-label accumulator: logits are stored as float32", () => {
  // 1 + 2^-30 and 1 are different float64 values but the same float32: a tie, sample order wins.
  const accumulator = new MultilabelAccumulator(1);
  accumulator.update([1, 1 + 2 ** -30], [[1], [0]]);
  assert.equal(accumulator.averagePrecisions()[0], 1);
});

Deno.test("multi-label accumulator: grows past its initial capacity", () => {
  const accumulator = new MultilabelAccumulator(2);
  const n = 5000;
  for (let start = 0; start < n; start += 333) {
    const rows = Math.min(333, n - start);
    const logits: number[] = [];
    const targets: number[][] = [];
    for (let i = start; i < start + rows; i++) {
      logits.push(-i, i % 2);
      targets.push([i < 10 ? 1 : 0, i % 2]);
    }
    accumulator.update(logits, targets);
  }
  assert.equal(accumulator.count, n);
  // Class 0: the ten positives have the ten highest logits. Class 1: positives score 1 and lead.
  assert.deepEqual([...accumulator.averagePrecisions()], [1, 1]);
});

Deno.test("multi-label accumulator: bad input is a RangeError naming it", () => {
  const accumulator = new MultilabelAccumulator(2);
  assert.throws(() => accumulator.update([1, 2, 3], [[0, 1]]), /3 values, 1 × 2 expected/);
  assert.throws(() => accumulator.update([1, 2], [[0, 1, 1]]), /row 0 has 3 values/);
  assert.throws(() => accumulator.update([1, 2], [[0, 2]]), /2 at class 1/);
  assert.throws(() => accumulator.result(), /no samples/);
  assert.throws(() => new MultilabelAccumulator(0), RangeError);
  assert.throws(
    () => new MultilabelAccumulator(2, { torchVectorLanes: 4 as TorchVectorLanes }),
    /8 or 16/,
  );
});
