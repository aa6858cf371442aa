/**
 * The SigLIP tower graphs with the model generator's seeded weights: the image tower's attention
 * pooling (a probe shared by the whole batch) giving each image the features it gets alone, and
 * the text tower pooling the last position of an unmasked encoder. (The tanh-approximated GELU
 * their MLPs use is tested in layers_test.ts.)
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { SeededWeights } from "../../../tools/clip_model/seeded_weights.ts";
import {
  buildSiglipTextTower,
  buildSiglipVisionTower,
  type SiglipShape,
} from "../../../src/convert/graph/siglip_towers.ts";
import type { GraphBuilder } from "../../../src/onnx/builder.ts";
import { maxAbsDifference, runGraph } from "../_convert_fixture.ts";

const SHAPE: SiglipShape = {
  vision: {
    imageSize: 16,
    patchSize: 4,
    numChannels: 3,
    width: 16,
    layers: 2,
    heads: 4,
    intermediate: 32,
    activation: "gelu_pytorch_tanh",
    layerNormEps: 1e-6,
  },
  text: {
    contextLength: 8,
    vocabSize: 50,
    width: 16,
    layers: 2,
    heads: 4,
    intermediate: 32,
    activation: "gelu_pytorch_tanh",
    layerNormEps: 1e-6,
    projection: 16,
  },
};

/** Runs `graph` on `feeds`; returns its output values. */
async function run(graph: GraphBuilder, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  return (await runGraph(graph, feeds)).data;
}

Deno.test("the image tower pools each image alone, whatever else is in the batch", async () => {
  const graph = buildSiglipVisionTower(SHAPE, new SeededWeights(3));
  const size = 3 * 16 * 16;
  const pixels = Float32Array.from({ length: 3 * size }, (_, i) => Math.sin(i * 0.37));
  const batch = await run(graph, {
    pixel_values: new ort.Tensor("float32", pixels, [3, 3, 16, 16]),
  });
  assert.equal(batch.length, 3 * SHAPE.vision.width);
  for (let row = 0; row < 3; row++) {
    const alone = await run(graph, {
      pixel_values: new ort.Tensor(
        "float32",
        pixels.slice(row * size, (row + 1) * size),
        [1, 3, 16, 16],
      ),
    });
    const width = SHAPE.vision.width;
    assert.ok(maxAbsDifference(alone, batch.subarray(row * width, (row + 1) * width)) < 1e-5);
  }
  assert.ok(maxAbsDifference(batch.subarray(0, 16), batch.subarray(16, 32)) > 1e-3);
});

Deno.test("the text tower pools the last position and lets every token reach it", async () => {
  const graph = buildSiglipTextTower(SHAPE, new SeededWeights(5));
  const embed = (ids: number[]) =>
    run(graph, {
      input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]),
    });
  const base = await embed([5, 6, 7, 8, 1, 1, 1, 1]);
  // Changing the first token changes the pooled last position (no mask hides it).
  assert.ok(maxAbsDifference(base, await embed([9, 6, 7, 8, 1, 1, 1, 1])) > 1e-4);
  // Changing the last token changes it too, and so does the length (positions are added).
  assert.ok(maxAbsDifference(base, await embed([5, 6, 7, 8, 1, 1, 1, 2])) > 1e-4);
  assert.ok(maxAbsDifference(base, await embed([5, 6, 7, 8, 1, 1, 1])) > 1e-4);
});
