/**
 * The ONNX writer (src/onnx/builder.ts): a model saved by streaming is byte for byte the encoded
 * model, inline or with its large initializers in an external-data file, and onnxruntime runs
 * both with the same result.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { encodeModel, GraphBuilder, saveModel } from "../../src/onnx/builder.ts";

/** `y = x · W + b` with a W large enough to go external and a b small enough to stay inline. */
function linearGraph(): GraphBuilder {
  const graph = new GraphBuilder("linear");
  graph.input("x", "float32", ["batch", 64]);
  const weight = Float32Array.from({ length: 64 * 32 }, (_, i) => ((i * 37) % 101) / 101 - 0.5);
  const bias = Float32Array.from({ length: 32 }, (_, i) => i / 32);
  const product = graph.op("MatMul", ["x", graph.initializer("w", "float32", [64, 32], weight)]);
  graph.node("Add", [product, graph.initializer("b", "float32", [32], bias)], ["y"]);
  graph.output("y", "float32", ["batch", 32]);
  return graph;
}

async function run(path: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path);
  try {
    const x = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i));
    const { y } = await session.run({ x: new ort.Tensor("float32", x, [2, 64]) });
    return y.data as Float32Array;
  } finally {
    await session.release();
  }
}

Deno.test("saveModel streams exactly what encodeModel encodes, inline and with external data", async () => {
  const dir = await Deno.makeTempDir({ prefix: "clipbench_onnx_" });
  try {
    const graph = linearGraph();
    const inline = join(dir, "inline.onnx");
    await saveModel(inline, graph);
    assert.deepEqual(await Deno.readFile(inline), encodeModel(graph).model);

    const split = join(dir, "split.onnx");
    await saveModel(split, graph, { externalData: { minBytes: 1024 } });
    const encoded = encodeModel(graph, {}, { location: "split.onnx_data", minBytes: 1024 });
    assert.deepEqual(await Deno.readFile(split), encoded.model);
    assert.ok(encoded.externalData, "the weight went external");
    assert.deepEqual(await Deno.readFile(`${split}_data`), encoded.externalData);
    assert.ok(encoded.model.length < 1024, "only the small bias stays inline");

    assert.deepEqual(await run(split), await run(inline));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
