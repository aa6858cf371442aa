/**
 * Zero-shot retrieval end to end on the kit: tiny-clip-fashion on fashion_captions (1,000
 * images × 5 captions). The kit publishes no expected numbers for it, so the task's metrics are
 * checked against an independent computation over embeddings encoded separately: the full
 * 5,000 × 1,000 score matrix, each row and column sorted, CLIP_benchmark's definitions applied to
 * the sorted orders.
 */
import assert from "node:assert/strict";
import { KIT_DIR, kitTest } from "../_kit.ts";
import { openWebDataset } from "../../src/dataset/wds.ts";
import { decodeImage } from "../../src/image/decode/mod.ts";
import { ClipModel } from "../../src/model/model.ts";
import { imageField } from "../../src/dataset/webdataset.ts";
import { evaluateZeroShotRetrieval } from "../../tasks/zeroshot_retrieval/mod.ts";

const MODEL = `${KIT_DIR}/models/tiny-clip-fashion`;
const DATA = `${KIT_DIR}/datasets/fashion_captions`;
const RECALL_K = [1, 5, 10];

/** Position of `target` when `count` indices are sorted by `score` descending, index ascending. */
function sortedPosition(count: number, score: Float64Array, isTarget: (j: number) => boolean) {
  const order = Uint32Array.from({ length: count }, (_, j) => j)
    .sort((a, b) => score[b] - score[a] || a - b);
  return order.findIndex(isTarget);
}

kitTest(
  "tiny-clip-fashion on fashion_captions: retrieval equals the full-matrix computation",
  async () => {
    const model = await ClipModel.load(MODEL);
    try {
      const dataset = await openWebDataset(DATA);
      assert.equal(dataset.type, "retrieval");
      const result = await evaluateZeroShotRetrieval(model, dataset, {
        datasetName: "fashion_captions",
        recallK: RECALL_K,
      });
      console.log(
        `fashion_captions: ${JSON.stringify(result.metrics)} (${result.n_images} images, ` +
          `${result.n_captions} captions)`,
      );
      assert.equal(result.n_images, 1000);
      assert.equal(result.n_captions, 5000);
      assert.equal(result.n_skipped, 0);

      // Independently: captions straight from the txt members (5 a sample, "\n"-joined, per the
      // kit's README), all 1,000 images in one encoder batch, all 5,000 captions in another.
      const size = model.preprocessor.outputLength;
      const pixels = new Float32Array(1000 * size);
      const captions: string[] = [];
      let count = 0;
      for await (const sample of dataset.samples()) {
        const image = imageField(sample)!;
        model.preprocessor.process(await decodeImage(image.bytes, image.ext), pixels, count * size);
        const lines = new TextDecoder().decode(sample.fields.get("txt")).split("\n");
        assert.equal(lines.length, 5);
        captions.push(...lines);
        count++;
      }
      assert.equal(count, 1000);
      const { embeddings: images, dim } = await model.encodeImages(pixels, 1000);
      const { embeddings: texts } = await model.encodeTexts(captions, 5000);
      // Caption j of image i is text 5i + j.
      const imageOf = (caption: number) => Math.floor(caption / 5);
      const scores = new Float64Array(5000 * 1000);
      for (let c = 0; c < 5000; c++) {
        for (let i = 0; i < 1000; i++) {
          let sum = 0;
          for (let k = 0; k < dim; k++) sum += texts[c * dim + k] * images[i * dim + k];
          scores[c * 1000 + i] = sum;
        }
      }
      const captionPositions = Array.from(
        { length: 5000 },
        (_, c) =>
          sortedPosition(1000, scores.subarray(c * 1000, (c + 1) * 1000), (i) => i === imageOf(c)),
      );
      const column = new Float64Array(5000);
      const imagePositions = Array.from({ length: 1000 }, (_, i) => {
        for (let c = 0; c < 5000; c++) column[c] = scores[c * 1000 + i];
        return sortedPosition(5000, column, (c) => imageOf(c) === i);
      });
      const expected: Record<string, number> = {};
      for (const k of RECALL_K) {
        const hits = (positions: number[]) => positions.filter((p) => p < k).length;
        expected[`image_retrieval_recall@${k}`] = Math.fround(hits(captionPositions) / 5000);
        expected[`text_retrieval_recall@${k}`] = Math.fround(hits(imagePositions) / 1000);
      }
      assert.deepEqual(Object.entries(result.metrics), Object.entries(expected));
      // Far above chance (0.1 % for image retrieval at k = 1), as the kit's README says.
      assert.ok(result.metrics["image_retrieval_recall@1"] > 0.01);
    } finally {
      await model.release();
    }
  },
);
