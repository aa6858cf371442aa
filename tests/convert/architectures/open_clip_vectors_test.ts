/**
 * open_clip's options against open_clip's own PyTorch numbers: for every case of
 * tests/data/open_clip/ (made by tools/vectors/make_open_clip_vectors.py with open_clip 3.3's
 * `CLIP` / `CustomTextCLIP`), the towers {@linkcode openClipArchitecture} builds from the case's
 * `open_clip_config.json` and its `open_clip_pytorch_model.bin` must reproduce
 * `encode_image` / `encode_text` (max abs error ≤ 1e-4 × max|ref|, cosine ≥ 0.99999 per row) and
 * `get_logits` through the stored logit scale and bias; and the text graph fed only the used ids
 * of a row (no trailing padding) must give that row's embedding, as the converter pads ids itself
 * where open_clip's output depends on the padding.
 *
 * Cases that share a state dict (their options add or drop no parameter) read one weight folder
 * under `weights/`; `cases.json` names it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { openClipArchitecture } from "../../../src/convert/architectures/open_clip.ts";
import type { ConvertedModel } from "../../../src/convert/architecture.ts";
import { openCheckpoint } from "../../../src/checkpoint/open_checkpoint.ts";
import { type NpyArray, parseNpy } from "../../../src/io/npy.ts";
import { assertCloseRows } from "../../conformance/_checkpoint_reference.ts";
import { runGraph } from "../_convert_fixture.ts";

const DATA = new URL("../../data/open_clip/", import.meta.url).pathname;

/** One entry of `cases.json`. */
interface VectorCase {
  /** The folder under `cases/`. */
  readonly name: string;
  /** The folder under `weights/` holding its `open_clip_pytorch_model.bin`. */
  readonly weights: string;
  /** The id its tokenizer pads with. */
  readonly pad: number;
  /** The options it covers. */
  readonly covers: string;
}

/** The max abs error over max|ref| that these tiny float32 models stay within. */
const TIGHT_BOUND = 1e-5;

/** Cases whose disagreement with open_clip is a known converter defect (none at present). */
const KNOWN_DEFECTS: Readonly<Record<string, string>> = {};

const manifest = JSON.parse(await Deno.readTextFile(join(DATA, "cases.json"))) as {
  cases: VectorCase[];
};

/** Reads `<folder>/<name>.npy`. */
async function readNpy(folder: string, name: string): Promise<NpyArray> {
  return parseNpy(await Deno.readFile(join(folder, `${name}.npy`)));
}

/** An int64 or float32 array as an onnxruntime tensor. */
function tensorOf(array: NpyArray): ort.Tensor {
  const dims = [...array.shape];
  if (array.data instanceof BigInt64Array) return new ort.Tensor("int64", array.data, dims);
  assert.ok(array.data instanceof Float32Array, `unexpected dtype ${array.descr}`);
  return new ort.Tensor("float32", array.data, dims);
}

/** The converted model of `vectorCase`. */
async function convert(vectorCase: VectorCase): Promise<ConvertedModel> {
  const configPath = join(DATA, "cases", vectorCase.name, "open_clip_config.json");
  const config = JSON.parse(await Deno.readTextFile(configPath));
  const checkpoint = await openCheckpoint(join(DATA, "weights", vectorCase.weights));
  return openClipArchitecture.build(config, checkpoint, configPath);
}

/** `exp(scale) · normalise(image) · normalise(text)ᵀ + bias`, as open_clip's `get_logits`. */
function logitsPerImage(
  image: Float32Array,
  text: Float32Array,
  dim: number,
  model: ConvertedModel,
): Float32Array {
  const unit = (rows: Float32Array, r: number) => {
    const row = rows.subarray(r * dim, (r + 1) * dim);
    const norm = Math.hypot(...row);
    return Array.from(row, (v) => v / norm);
  };
  const imageRows = image.length / dim, textRows = text.length / dim;
  const out = new Float32Array(imageRows * textRows);
  for (let i = 0; i < imageRows; i++) {
    const a = unit(image, i);
    for (let t = 0; t < textRows; t++) {
      const b = unit(text, t);
      const dot = a.reduce((sum, v, c) => sum + v * b[c], 0);
      out[i * textRows + t] = Math.exp(model.logitScale) * dot + (model.logitBias ?? 0);
    }
  }
  return out;
}

/** The largest absolute difference over the largest absolute reference value. */
function relativeError(actual: Float32Array, expected: NpyArray): number {
  const ref = expected.data as Float32Array;
  const maxRef = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return actual.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i])), 0) / maxRef;
}

/** Row 0 of `ids` `[rows, L]` without its trailing `pad` ids, as a `[1, used]` tensor. */
function usedIdsOfFirstRow(ids: NpyArray, pad: number): ort.Tensor {
  const length = ids.shape[1];
  const row = (ids.data as BigInt64Array).subarray(0, length);
  let used = length;
  while (used > 1 && row[used - 1] === BigInt(pad)) used--;
  assert.ok(used < length, "row 0 should end in padding");
  return new ort.Tensor("int64", row.slice(0, used), [1, used]);
}

Deno.test("open_clip vectors: the cases cover the options and fit the size budget", async () => {
  assert.ok(manifest.cases.length >= 15);
  let bytes = 0;
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      else bytes += (await Deno.stat(path)).size;
    }
  };
  await walk(DATA);
  assert.ok(bytes < 300_000, `tests/data/open_clip holds ${bytes} bytes`);
});

for (const vectorCase of manifest.cases) {
  const defect = KNOWN_DEFECTS[vectorCase.name];
  Deno.test({
    name: `open_clip vectors: ${vectorCase.name} (${vectorCase.covers}) matches open_clip`,
    ignore: defect !== undefined,
    async fn() {
      const folder = join(DATA, "cases", vectorCase.name);
      const converted = await convert(vectorCase);
      const pixels = await readNpy(DATA, "pixel_values");
      const ids = await readNpy(folder, "input_ids");
      const imageRef = await readNpy(folder, "image_embeds");
      const textRef = await readNpy(folder, "text_embeds");
      const image = await runGraph(converted.vision, { pixel_values: tensorOf(pixels) });
      const text = await runGraph(converted.text, { input_ids: tensorOf(ids) });
      assert.deepEqual(image.dims, imageRef.shape);
      assert.deepEqual(text.dims, textRef.shape);
      assertCloseRows(image.data, imageRef, `${vectorCase.name}: image_embeds`);
      assertCloseRows(text.data, textRef, `${vectorCase.name}: text_embeds`);
      const logitsRef = await readNpy(folder, "logits_per_image");
      const logits = logitsPerImage(image.data, text.data, imageRef.shape[1], converted);
      assertCloseRows(logits, logitsRef, `${vectorCase.name}: logits_per_image`);
      // Tiny float32 models agree far inside the bound (about 3e-7 measured); 1e-5 also
      // catches the options whose effect is small (tanh vs erf GELU differ by 2e-4 here).
      for (
        const [what, actual, expected] of [
          ["image_embeds", image.data, imageRef],
          ["text_embeds", text.data, textRef],
        ] as const
      ) {
        const error = relativeError(actual, expected);
        assert.ok(
          error <= TIGHT_BOUND,
          `${vectorCase.name}: ${what} max error / max|ref| ${error}`,
        );
      }

      const trimmed = await runGraph(converted.text, {
        input_ids: usedIdsOfFirstRow(ids, vectorCase.pad),
      });
      const firstRow: NpyArray = {
        ...textRef,
        shape: [1, textRef.shape[1]],
        data: (textRef.data as Float32Array).subarray(0, textRef.shape[1]),
      };
      assertCloseRows(trimmed.data, firstRow, `${vectorCase.name}: text_embeds of unpadded ids`);
      console.log(
        `${vectorCase.name}: max error / max|ref|: image ${
          relativeError(image.data, imageRef).toExponential(2)
        }, text ${relativeError(text.data, textRef).toExponential(2)}, logits ${
          relativeError(logits, logitsRef).toExponential(2)
        }`,
      );
    },
  });
}
