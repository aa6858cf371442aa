/**
 * The shared input embeddings, run in onnxruntime on hand-made weights: patch tokens are each
 * patch's kernel-weighted sum (plus the bias) in row-major patch order, and token embeddings add
 * the leading rows of the position table for inputs shorter than it.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { patchEmbedding, tokenEmbeddings } from "../../../src/convert/graph/embeddings.ts";
import { LayerContext } from "../../../src/convert/graph/layers.ts";
import type { WeightSource } from "../../../src/convert/graph/weights.ts";
import { GraphBuilder } from "../../../src/onnx/builder.ts";
import { runGraph } from "../_convert_fixture.ts";

/** Weights from a table (each must be asked for with its stored size). */
function tableWeights(table: Record<string, readonly number[]>): WeightSource {
  return {
    has: (name) => name in table,
    read: (name, dims) => {
      const values = table[name];
      assert.ok(values, `no weight ${name}`);
      assert.equal(values.length, dims.reduce((n, d) => n * d, 1), name);
      return Float32Array.from(values);
    },
  };
}

Deno.test("patchEmbedding: each patch's kernel-weighted sum plus the bias, in row-major order", async () => {
  const graph = new GraphBuilder("patches");
  const ctx = new LayerContext(
    graph,
    tableWeights({ "patch.weight": [1, 1, 1, 1], "patch.bias": [0.5] }),
  );
  const pixels = graph.input("pixels", "float32", [1, 1, 4, 4]);
  const tokens = patchEmbedding(ctx, "patch", pixels, {
    patchSize: 2,
    channels: 1,
    width: 1,
    bias: true,
  });
  graph.node("Identity", [tokens], ["tokens"]);
  graph.output("tokens", "float32", [1, 4, 1]);
  const image = Float32Array.from({ length: 16 }, (_, i) => i);
  const out = await runGraph(graph, { pixels: new ort.Tensor("float32", image, [1, 1, 4, 4]) });
  assert.deepEqual(out.dims, [1, 4, 1]);
  // Patches (top-left, top-right, bottom-left, bottom-right) of the 4×4 ramp 0..15.
  assert.deepEqual(
    [...out.data],
    [0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13, 10 + 11 + 14 + 15]
      .map((sum) => sum + 0.5),
  );
});

Deno.test("tokenEmbeddings: token rows plus the first S position rows", async () => {
  const graph = new GraphBuilder("tokens");
  const ctx = new LayerContext(
    graph,
    tableWeights({
      "t.embeddings.token_embedding.weight": [10, 20, 30, 40, 50, 60], // 3 ids × width 2
      "t.embeddings.position_embedding.weight": [1, 2, 3, 4, 5, 6, 7, 8], // 4 positions
    }),
  );
  const ids = graph.input("ids", "int64", ["batch", "sequence"]);
  const { embedded, length } = tokenEmbeddings(ctx, "t", ids, {
    vocabSize: 3,
    contextLength: 4,
    width: 2,
  });
  graph.node("Identity", [embedded], ["embedded"]);
  graph.output("embedded", "float32", ["batch", "sequence", 2]);
  graph.node("Identity", [length], ["length"]);
  graph.output("length", "int64", [1]);
  const out = await runGraph(graph, {
    ids: new ort.Tensor("int64", BigInt64Array.from([2n, 0n]), [1, 2]),
  });
  assert.deepEqual(out.dims, [1, 2, 2]);
  assert.deepEqual([...out.data], [50 + 1, 60 + 2, 10 + 3, 20 + 4]);
});
