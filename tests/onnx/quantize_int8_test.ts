/**
 * int8 weight quantisation (src/onnx/quantize_int8.ts, `GraphBuilder.quantizeMatMulWeights`):
 * the scales and values of onnxruntime's per-channel symmetric scheme on hand-worked cases, and a
 * quantised graph that onnxruntime runs as `DynamicQuantizeMatMul`, close to the float32 one,
 * with MatMuls of two activations left alone.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { encodeModel, GraphBuilder } from "../../src/onnx/builder.ts";
import { quantizeColumnsInt8, roundHalfEven } from "../../src/onnx/quantize_int8.ts";

Deno.test("roundHalfEven rounds halves to the even neighbour, as NumPy's rint", () => {
  assert.deepEqual(
    [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6, 126.5, 3].map(roundHalfEven).map((v) => v + 0),
    [0, 2, 2, 0, -2, -2, 2, -3, 126, 3],
  );
});

Deno.test("quantizeColumnsInt8: scale max|w|/127 per column, values rounded and clamped", () => {
  // 2 × 3, row-major: columns [1, -0.5], [0.25, 0.125], [0, 0].
  const { values, scales } = quantizeColumnsInt8(Float32Array.of(1, 0.25, 0, -0.5, 0.125, 0), 2, 3);
  assert.deepEqual([...scales], [Math.fround(1 / 127), Math.fround(0.25 / 127), 1]);
  // -0.5 / (1/127) = -63.5 → -64 (half to even); 0.125 / (0.25/127) = 63.5 → 64.
  assert.deepEqual([...values], [127, 127, 0, -64, 64, 0]);
  assert.throws(() => quantizeColumnsInt8(new Float32Array(5), 2, 3), RangeError);
});

/** `y = softmax(x·Wq · (x·Wk)ᵀ)`-like: two weight MatMuls, one MatMul of two activations. */
function graph(): GraphBuilder {
  const g = new GraphBuilder("q");
  g.input("x", "float32", [4, 64]);
  const weight = (name: string, seed: number) =>
    g.initializer(
      name,
      "float32",
      [64, 64],
      Float32Array.from({ length: 64 * 64 }, (_, i) => Math.sin(i * seed) * 0.2),
    );
  const q = g.op("MatMul", ["x", weight("wq", 1.3)]);
  const k = g.op("MatMul", ["x", weight("wk", 0.7)]);
  const scores = g.op("MatMul", [q, g.op("Transpose", [k], { perm: [1, 0] })]);
  g.node("Softmax", [scores], ["y"], { axis: -1 });
  g.output("y", "float32", [4, 4]);
  return g;
}

async function run(g: GraphBuilder): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(encodeModel(g).model);
  try {
    const x = Float32Array.from({ length: 4 * 64 }, (_, i) => Math.cos(i * 0.37));
    const { y } = await session.run({ x: new ort.Tensor("float32", x, [4, 64]) });
    return y.data as Float32Array;
  } finally {
    await session.release();
  }
}

Deno.test("quantizeMatMulWeights: weight MatMuls become DynamicQuantizeMatMul, results stay close", async () => {
  const reference = await run(graph());
  const quantized = graph();
  assert.equal(quantized.quantizeMatMulWeights(), 2, "the activation × activation MatMul stays");
  assert.deepEqual(quantized.extraDomains, ["com.microsoft"]);
  const output = await run(quantized);
  let worst = 0;
  for (let i = 0; i < reference.length; i++) {
    worst = Math.max(worst, Math.abs(output[i] - reference[i]));
  }
  assert.ok(worst > 0, "the quantised graph really computes in int8");
  assert.ok(worst < 0.02, `softmax outputs differ by ${worst}`);
  // Small weights (below minElements) are left in float32.
  const small = graph();
  assert.equal(small.quantizeMatMulWeights(64 * 64 + 1), 0);
  assert.deepEqual(small.extraDomains, []);
});
