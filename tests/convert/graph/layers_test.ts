/**
 * The transformer building blocks (src/convert/graph/layers.ts) as onnxruntime computes them:
 * the tanh-approximated GELU of SigLIP's MLPs.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { SeededWeights } from "../../../tools/clip_model/seeded_weights.ts";
import { activate, LayerContext } from "../../../src/convert/graph/layers.ts";
import { GraphBuilder } from "../../../src/onnx/builder.ts";
import { maxAbsDifference, runGraph } from "../_convert_fixture.ts";

Deno.test("gelu_pytorch_tanh computes 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))", async () => {
  const graph = new GraphBuilder("gelu");
  const ctx = new LayerContext(graph, new SeededWeights(0));
  const x = graph.input("x", "float32", [9]);
  graph.node("Identity", [activate(ctx, "gelu_pytorch_tanh", x)], ["y"]);
  graph.output("y", "float32", [9]);
  const inputs = Float32Array.from([-6, -3, -1.5, -0.5, 0, 0.25, 1, 2.5, 5]);
  const { data: outputs } = await runGraph(graph, { x: new ort.Tensor("float32", inputs, [9]) });
  const expected = inputs.map((v) =>
    0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))
  );
  assert.ok(maxAbsDifference(outputs, expected) < 1e-6, `${outputs} vs ${expected}`);
  // It is not the exact GELU, 0.5·x·(1 + erf(x/√2)): at x = −1.5 that is −0.1002108, 2.2e-4 away.
  assert.ok(Math.abs(outputs[2] - -0.1002108) > 1e-4);
});
