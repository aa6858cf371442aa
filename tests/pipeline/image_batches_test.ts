/**
 * `imageBatches` (src/pipeline/image_batches.ts): pixel batches decoded on the calling thread,
 * the same batches and skips as the embedding pipeline, each batch's pixels valid until the batch
 * after next is requested.
 */
import assert from "node:assert/strict";
import type { Sample } from "../../src/dataset/webdataset.ts";
import { decodeNativeImage } from "../../src/image/decode/mod.ts";
import { ClipModel } from "../../src/model/model.ts";
import { imageBatches } from "../../src/pipeline/image_batches.ts";
import type { SkippedSample } from "../../src/results/result.ts";
import { readTarMembers } from "../_tar_writer.ts";

const DEMO = new URL("../../examples/demo/", import.meta.url).pathname;
const members = readTarMembers(await Deno.readFile(`${DEMO}data/fashion_mnist_1k/test/0.tar`));
const pngs = members.filter((m) => m.name.endsWith(".png")).slice(0, 7).map((m) => m.data);

Deno.test("imageBatches: pixels, order, skips and the two alternating buffers", async () => {
  const model = await ClipModel.load(`${DEMO}tiny-clip-demo`);
  try {
    const preprocessor = model.preprocessor;
    const size = preprocessor.outputLength;
    const samples: (Sample | SkippedSample)[] = pngs.map((png, i) => ({
      key: `s${i}`,
      source: "memory",
      fields: new Map([["png", png], ["cls", new TextEncoder().encode(String(i))]]),
    }));
    samples.splice(1, 0, { key: "gone", source: "memory", reason: "missing file" });
    samples.splice(4, 0, {
      key: "bad",
      source: "memory",
      fields: new Map([["png", pngs[0].slice(0, 40)]]),
    });
    const skipped: string[] = [];
    const sampled: string[] = [];
    const stream = async function* () {
      yield* samples;
    };
    const batches = [];
    const iterator = imageBatches(stream(), preprocessor, {
      batchSize: 3,
      extract: (s) => Number(new TextDecoder().decode(s.fields.get("cls"))),
      onSkip: (s) => skipped.push(s.key),
      onSample: (s) => sampled.push(s.key),
    });
    for await (const batch of iterator) batches.push(batch);
    assert.deepEqual(batches.map((b) => [b.count, b.keys, b.items]), [
      [3, ["s0", "s1", "s2"], [0, 1, 2]],
      [3, ["s3", "s4", "s5"], [3, 4, 5]],
      [1, ["s6"], [6]],
    ]);
    assert.deepEqual(skipped, ["gone", "bad"]);
    assert.deepEqual(sampled, samples.map((s) => s.key));
    // Batches alternate between two buffers.
    assert.notEqual(batches[0].pixels, batches[1].pixels);
    assert.equal(batches[0].pixels, batches[2].pixels);
    // The last two batches' pixels are intact after the generator ended.
    const expected = new Float32Array(size);
    for (const [b, i, png] of [[1, 0, 3], [1, 2, 5], [2, 0, 6]]) {
      preprocessor.process(await decodeNativeImage(pngs[png], "png"), expected, 0);
      assert.deepEqual(batches[b].pixels.subarray(i * size, (i + 1) * size), expected);
    }
  } finally {
    await model.release();
  }
});

Deno.test("imageBatches: a batch size that is not a positive integer is refused", async () => {
  const model = await ClipModel.load(`${DEMO}tiny-clip-demo`);
  try {
    const empty = async function* (): AsyncGenerator<Sample> {};
    await assert.rejects(
      imageBatches(empty(), model.preprocessor, {
        batchSize: 0,
        extract: () => 0,
        onSkip: () => {},
      }).next(),
      RangeError,
    );
  } finally {
    await model.release();
  }
});
