import assert from "node:assert/strict";
import { UsageError } from "../../src/errors.ts";
import {
  float32Mean,
  RetrievalAccumulator,
  retrievalMetrics,
  type RetrievalRanks,
  retrievalRanks,
} from "../../src/metrics/retrieval.ts";

interface VectorCase {
  name: string;
  dim: number;
  scale: number;
  images: number[][];
  captions: number[][];
  caption_images: number[];
  recall_k: number[];
  metrics?: Record<string, number>;
  error?: string;
}

const vectors: { cases: VectorCase[]; means: [number, number, number][] } = JSON.parse(
  await Deno.readTextFile(new URL("../data/retrieval/retrieval_vectors.json", import.meta.url)),
);

/** A seeded PRNG (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** `count × dim` random L2-normalised rows. */
function unitRows(count: number, dim: number, next: () => number): Float32Array {
  const rows = new Float32Array(count * dim);
  for (let r = 0; r < count; r++) {
    let norm = 0;
    for (let k = 0; k < dim; k++) {
      const value = next() * 2 - 1;
      rows[r * dim + k] = value;
      norm += value * value;
    }
    for (let k = 0; k < dim; k++) rows[r * dim + k] /= Math.sqrt(norm);
  }
  return rows;
}

/**
 * The straightforward way: the whole captions × images score matrix, every row and column
 * sorted (score descending, index ascending), top-k sets checked one by one.
 */
function bruteForce(
  images: Float32Array,
  captions: Float32Array,
  owners: ArrayLike<number>,
  dim: number,
  recallK: number[],
): { ranks: RetrievalRanks; metrics: Record<string, number> } {
  const imageCount = images.length / dim;
  const captionCount = owners.length;
  const scores: number[][] = [];
  for (let c = 0; c < captionCount; c++) {
    const row: number[] = [];
    for (let i = 0; i < imageCount; i++) {
      let sum = 0;
      for (let k = 0; k < dim; k++) sum += captions[c * dim + k] * images[i * dim + k];
      row.push(sum);
    }
    scores.push(row);
  }
  const order = (values: number[]) =>
    values.map((score, index) => ({ score, index }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .map((entry) => entry.index);
  const captionRanks = new Int32Array(captionCount);
  for (let c = 0; c < captionCount; c++) captionRanks[c] = order(scores[c]).indexOf(owners[c]);
  const imageRanks = new Int32Array(imageCount);
  for (let i = 0; i < imageCount; i++) {
    const ranking = order(scores.map((row) => row[i]));
    const first = ranking.findIndex((c) => owners[c] === i);
    imageRanks[i] = first < 0 ? captionCount : first;
  }
  const metrics: Record<string, number> = {};
  for (const k of recallK) {
    let captionHits = 0;
    for (let c = 0; c < captionCount; c++) {
      if (order(scores[c]).slice(0, k).includes(owners[c])) captionHits++;
    }
    let imageHits = 0;
    for (let i = 0; i < imageCount; i++) {
      const top = order(scores.map((row) => row[i])).slice(0, k);
      if (top.some((c) => owners[c] === i)) imageHits++;
    }
    metrics[`image_retrieval_recall@${k}`] = Math.fround(captionHits / captionCount);
    metrics[`text_retrieval_recall@${k}`] = Math.fround(imageHits / imageCount);
  }
  return { ranks: { captionRanks, imageRanks }, metrics };
}

/** Adds images and captions to an accumulator in batches of the given size, in order. */
function accumulate(
  images: Float32Array,
  captions: Float32Array,
  owners: ArrayLike<number>,
  dim: number,
  batchSize: number,
): RetrievalAccumulator {
  const accumulator = new RetrievalAccumulator(dim);
  const imageCount = images.length / dim;
  let caption = 0;
  for (let start = 0; start < imageCount; start += batchSize) {
    const end = Math.min(imageCount, start + batchSize);
    accumulator.addImages(images.subarray(start * dim, end * dim), end - start);
    const first = caption;
    while (caption < owners.length && owners[caption] < end) caption++;
    accumulator.addCaptions(
      captions.subarray(first * dim, caption * dim),
      Array.from(owners).slice(first, caption),
    );
  }
  assert.equal(caption, owners.length, "captions must be grouped by image, in image order");
  return accumulator;
}

function fromVector(c: VectorCase) {
  const flat = (rows: number[][]) => Float32Array.from(rows.flat(), (v) => v / c.scale);
  return { images: flat(c.images), captions: flat(c.captions), owners: c.caption_images };
}

Deno.test("float32Mean rounds as torch's (x > 0).float().mean().item()", () => {
  assert.ok(vectors.means.length > 300);
  for (const [hits, count, expected] of vectors.means) {
    assert.equal(float32Mean(hits, count), expected, `${hits} / ${count}`);
  }
  // It is not the float64 mean.
  assert.notEqual(float32Mean(1, 3), 1 / 3);
});

Deno.test("metrics equal PyTorch's on CLIP_benchmark's formulas (tie-free vectors)", () => {
  const withMetrics = vectors.cases.filter((c) => c.metrics);
  assert.ok(withMetrics.length >= 6);
  for (const c of withMetrics) {
    const { images, captions, owners } = fromVector(c);
    for (const batchSize of [1, 3, 64, 1000]) {
      const metrics = accumulate(images, captions, owners, c.dim, batchSize).result(c.recall_k);
      // deepEqual with the key order: for each k, image retrieval then text retrieval.
      assert.deepEqual(Object.entries(metrics), Object.entries(c.metrics!), c.name);
    }
    assert.deepEqual(
      bruteForce(images, captions, owners, c.dim, c.recall_k).metrics,
      c.metrics,
      `${c.name}: brute force`,
    );
  }
});

Deno.test("a k larger than the candidates is an error naming both numbers (torch.topk fails too)", () => {
  const c = vectors.cases.find((v) => v.error)!;
  assert.match(c.error!, /selected index k out of range/);
  const { images, captions, owners } = fromVector(c);
  const accumulator = accumulate(images, captions, owners, c.dim, 2);
  assert.throws(
    () => accumulator.result(c.recall_k),
    (e: unknown) =>
      e instanceof UsageError && /recall@4/.test(e.message) && /only 3 images/.test(e.message),
  );
  // Text retrieval: k above the number of captions (but not of images).
  const next = random(7);
  const many = new RetrievalAccumulator(4);
  many.addImages(unitRows(6, 4, next), 6);
  many.addCaptions(unitRows(1, 4, next), [2]);
  assert.throws(
    () => many.result([2]),
    (e: unknown) =>
      e instanceof UsageError && /recall@2/.test(e.message) && /only 1 captions/.test(e.message),
  );
  assert.deepEqual(Object.keys(many.result([1])), [
    "image_retrieval_recall@1",
    "text_retrieval_recall@1",
  ]);
  for (const bad of [[], [0], [1.5], [-1]]) {
    assert.throws(() => many.result(bad), UsageError, JSON.stringify(bad));
  }
});

Deno.test("random embeddings, 1 to many captions per image: ranks and metrics equal the full matrix", () => {
  const next = random(20260514);
  for (
    const [imageCount, maxCaptions, dim] of [[1, 1, 3], [5, 9, 7], [37, 4, 16], [300, 3, 9]]
  ) {
    const perImage = Array.from(
      { length: imageCount },
      (_, i) => i === 0 ? 1 : 1 + Math.floor(next() * maxCaptions),
    );
    const owners = perImage.flatMap((n, i) => Array<number>(n).fill(i));
    const images = unitRows(imageCount, dim, next);
    const captions = unitRows(owners.length, dim, next);
    // Pull each caption towards its image, so recall is neither 0 nor 1.
    for (let c = 0; c < owners.length; c++) {
      for (let k = 0; k < dim; k++) captions[c * dim + k] += images[owners[c] * dim + k];
    }
    const recallK = [...new Set([1, 2, 5, 10, imageCount])].filter((k) => k <= imageCount);
    const expected = bruteForce(images, captions, owners, dim, recallK);
    const ranks = retrievalRanks(images, captions, Int32Array.from(owners), dim);
    assert.deepEqual(ranks, expected.ranks, `${imageCount} images`);
    for (const batchSize of [1, 7, 256]) {
      const metrics = accumulate(images, captions, owners, dim, batchSize).result(recallK);
      assert.deepEqual(Object.entries(metrics), Object.entries(expected.metrics));
    }
    // k = N: every caption finds its image.
    assert.equal(expected.metrics[`image_retrieval_recall@${imageCount}`], 1);
  }
});

Deno.test("ties: equal scores rank by index, the lower first", () => {
  // Images 0 and 1 are identical, image 2 differs; captions 0 (of image 1) and 1 (of image 0)
  // are identical, caption 2 belongs to image 2.
  const images = Float32Array.from([1, 0, 1, 0, 0, 1]);
  const captions = Float32Array.from([1, 0, 1, 0, 0, 1]);
  const ranks = retrievalRanks(images, captions, Int32Array.from([1, 0, 2]), 2);
  // Caption 0's image (1) ties with image 0, which has the lower index: rank 1. Caption 1's
  // image (0) wins the same tie: rank 0.
  assert.deepEqual([...ranks.captionRanks], [1, 0, 0]);
  // Image 0's captions: caption 1 ties with caption 0 (of image 1), which comes first: rank 1.
  // Image 1: caption 0 ranks first. Image 2: caption 2 scores 1, the others 0.
  assert.deepEqual([...ranks.imageRanks], [1, 0, 0]);
  const metrics = retrievalMetrics(ranks, [1, 2]);
  assert.deepEqual(metrics, {
    "image_retrieval_recall@1": Math.fround(2 / 3),
    "text_retrieval_recall@1": Math.fround(2 / 3),
    "image_retrieval_recall@2": 1,
    "text_retrieval_recall@2": 1,
  });

  // An image's best caption among tied captions of its own is the lower index; a caption of
  // another image with the same score and a lower index still ranks first.
  const tied = retrievalRanks(
    Float32Array.from([1, 0, 1, 0]), // images 0 and 1 identical
    Float32Array.from([1, 0, 1, 0, 1, 0]), // three identical captions
    Int32Array.from([0, 1, 1]),
    2,
  );
  // Captions 1 and 2 belong to image 1, which ties with image 0 (lower index): rank 1.
  assert.deepEqual([...tied.captionRanks], [0, 1, 1]);
  // Image 0: caption 0 first. Image 1: its best is caption 1, behind caption 0.
  assert.deepEqual([...tied.imageRanks], [0, 1]);
});

Deno.test("an image without captions is a miss in text retrieval, as in the reference", () => {
  const c = vectors.cases.find((v) => v.name === "images without captions")!;
  const { images, captions, owners } = fromVector(c);
  const ranks = retrievalRanks(images, captions, Int32Array.from(owners), c.dim);
  assert.equal(ranks.imageRanks[1], owners.length);
  assert.equal(ranks.imageRanks[4], owners.length);
});

Deno.test("the accumulator checks its inputs", () => {
  assert.throws(() => new RetrievalAccumulator(0), RangeError);
  const accumulator = new RetrievalAccumulator(2);
  assert.throws(() => accumulator.addImages(new Float32Array(3), 2), RangeError);
  accumulator.addImages(new Float32Array(4), 2);
  assert.throws(() => accumulator.addCaptions(new Float32Array(2), [2]), RangeError);
  assert.throws(() => accumulator.addCaptions(new Float32Array(2), [-1]), RangeError);
  assert.equal(accumulator.imageCount, 2);
  assert.equal(accumulator.captionCount, 0);
  // Growth past the initial capacity keeps every row.
  const next = random(3);
  const grown = new RetrievalAccumulator(3);
  const rows = unitRows(500, 3, next);
  for (let i = 0; i < 500; i += 100) grown.addImages(rows.subarray(i * 3, (i + 100) * 3), 100);
  grown.addCaptions(rows, Array.from({ length: 500 }, (_, i) => i));
  assert.deepEqual(
    grown.ranks(),
    retrievalRanks(rows, rows, Int32Array.from({ length: 500 }, (_, i) => i), 3),
  );
  assert.equal(grown.result([1])["image_retrieval_recall@1"], 1);
});
