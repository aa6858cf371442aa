/**
 * Checkpoints converted to float16 graphs (`convert --dtype fp16`) against transformers' float32
 * outputs for the kit's three random checkpoints: the same embedding directions within float16's
 * precision (cosine ≥ 0.999 per row), with the attention masks (CLIP's causal one, BERT's padding
 * one at float32's minimum) still finite in float16.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { convertCheckpoint } from "../../src/convert/convert.ts";
import type { NpyArray } from "../../src/io/npy.ts";
import { GraphSession } from "../../src/model/onnx_session.ts";
import { KIT_DIR, kitTest } from "../_kit.ts";
import { readReference } from "./_checkpoint_reference.ts";

/** Runs a converted graph on the reference inputs it takes; returns its output as float32. */
async function run(path: string, inputs: Record<string, NpyArray>): Promise<Float32Array> {
  const session = await GraphSession.open(path, { threads: 1 });
  try {
    const feeds = Object.fromEntries(
      [...session.inputs.keys()].map((name) => {
        const array = inputs[name];
        assert.ok(array, `${path} takes ${name}`);
        const dims = [...array.shape];
        return [
          name,
          array.data instanceof Float32Array
            ? session.floatTensor(name, array.data, dims)
            : session.integerTensor(
              name,
              Int32Array.from(array.data as BigInt64Array, Number),
              dims,
            ),
        ];
      }),
    );
    const output = [...session.outputs.keys()][0];
    return (await session.runFloat(feeds, output)).data;
  } finally {
    await session.release();
  }
}

/** The lowest row cosine between `actual` and `expected` (`[rows, dim]`). */
function lowestCosine(actual: Float32Array, expected: NpyArray): number {
  const ref = expected.data as Float32Array;
  const [rows, dim] = expected.shape;
  let lowest = 1;
  for (let r = 0; r < rows; r++) {
    let dot = 0, a2 = 0, b2 = 0;
    for (let c = 0; c < dim; c++) {
      const a = actual[r * dim + c], b = ref[r * dim + c];
      dot += a * b;
      a2 += a * a;
      b2 += b * b;
    }
    lowest = Math.min(lowest, dot / Math.sqrt(a2 * b2));
  }
  return lowest;
}

for (const name of ["clip-tiny-random", "chinese-clip-tiny-random", "siglip-tiny-random"]) {
  kitTest(`fp16 conversion of ${name} follows transformers' float32 outputs`, async () => {
    const folder = `${KIT_DIR}/checkpoints/${name}`;
    const out = await Deno.makeTempDir({ prefix: "clipbench_fp16_" });
    try {
      await Deno.remove(out);
      await convertCheckpoint(folder, out, { dtype: "fp16" });
      const inputs: Record<string, NpyArray> = {};
      for (const input of ["pixel_values", "input_ids", "attention_mask", "token_type_ids"]) {
        const array = await readReference(folder, input);
        if (array) inputs[input] = array;
      }
      for (const tower of ["vision", "text"] as const) {
        const embeds = await run(join(out, "onnx", `${tower}_model_fp16.onnx`), inputs);
        assert.ok(embeds.every(Number.isFinite), `${name} ${tower}: non-finite values`);
        const reference =
          (await readReference(folder, `${tower === "vision" ? "image" : "text"}_embeds`))!;
        const cosine = lowestCosine(embeds, reference);
        assert.ok(cosine >= 0.999, `${name} ${tower}: lowest row cosine ${cosine}`);
        console.log(`${name} ${tower} fp16: lowest row cosine ${cosine.toFixed(6)}`);
      }
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  });
}
