/**
 * The SigLIP tower graphs with the model generator's seeded weights: the tanh-approximated GELU
 * their MLPs use, the image tower's attention pooling (a probe shared by the whole batch) giving
 * each image the features it gets alone, and the text tower pooling the last position of an
 * unmasked encoder.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { SeededWeights } from "../../../tools/clip_model/seeded_weights.ts";
import { activate, LayerContext } from "../../../src/convert/graph/layers.ts";
import {
  buildSiglipTextTower,
  buildSiglipVisionTower,
  type SiglipShape,
} from "../../../src/convert/graph/siglip_towers.ts";
import { encodeModel, GraphBuilder } from "../../../src/onnx/builder.ts";

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

async function run(graph: GraphBuilder, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(encodeModel(graph).model);
  try {
    const outputs = await session.run(feeds);
    return outputs[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

Deno.test("gelu_pytorch_tanh computes 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))", async () => {
  const graph = new GraphBuilder("gelu");
  const ctx = new LayerContext(graph, new SeededWeights(0));
  const x = graph.input("x", "float32", [9]);
  graph.node("Identity", [activate(ctx, "gelu_pytorch_tanh", x)], ["y"]);
  graph.output("y", "float32", [9]);
  const inputs = Float32Array.from([-6, -3, -1.5, -0.5, 0, 0.25, 1, 2.5, 5]);
  const outputs = await run(graph, { x: new ort.Tensor("float32", inputs, [9]) });
  const expected = inputs.map((v) =>
    0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))
  );
  assert.ok(maxDifference(outputs, expected) < 1e-6, `${outputs} vs ${expected}`);
  // It is not the exact GELU, 0.5·x·(1 + erf(x/√2)): at x = −1.5 that is −0.1002108, 2.2e-4 away.
  assert.ok(Math.abs(outputs[2] - -0.1002108) > 1e-4);
});

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
    assert.ok(maxDifference(alone, batch.subarray(row * width, (row + 1) * width)) < 1e-5);
  }
  assert.ok(maxDifference(batch.subarray(0, 16), batch.subarray(16, 32)) > 1e-3);
});

Deno.test("the text tower pools the last position and lets every token reach it", async () => {
  const graph = buildSiglipTextTower(SHAPE, new SeededWeights(5));
  const embed = (ids: number[]) =>
    run(graph, {
      input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]),
    });
  const base = await embed([5, 6, 7, 8, 1, 1, 1, 1]);
  // Changing the first token changes the pooled last position (no mask hides it).
  assert.ok(maxDifference(base, await embed([9, 6, 7, 8, 1, 1, 1, 1])) > 1e-4);
  // Changing the last token changes it too, and so does the length (positions are added).
  assert.ok(maxDifference(base, await embed([5, 6, 7, 8, 1, 1, 1, 2])) > 1e-4);
  assert.ok(maxDifference(base, await embed([5, 6, 7, 8, 1, 1, 1])) > 1e-4);
});
