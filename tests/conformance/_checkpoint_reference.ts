/**
 * Checks a converted model against a kit checkpoint's `reference/` (transformers' outputs for
 * fixed inputs): the towers an {@linkcode Architecture} builds from the checkpoint are encoded,
 * loaded in onnxruntime and run on `pixel_values.npy` and `input_ids.npy` (with
 * `attention_mask.npy` / `token_type_ids.npy` where the text graph takes them); their outputs
 * must equal `image_embeds.npy` and `text_embeds.npy` within the issue's bounds (max abs error
 * ≤ 1e-4 × max|ref|, cosine ≥ 0.99999 per row), and `logits_per_image.npy` must follow through
 * the model's logit scale (and bias). {@linkcode withOnlyWeightFile} checks one weight format of
 * a folder that has several.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import type { Architecture, ConvertedModel } from "../../src/convert/architecture.ts";
import { openCheckpoint } from "../../src/checkpoint/open_checkpoint.ts";
import type { Checkpoint } from "../../src/checkpoint/checkpoint.ts";
import { type NpyArray, parseNpy } from "../../src/io/npy.ts";
import { runGraph } from "../convert/_convert_fixture.ts";

/** Reads `reference/<name>.npy` of a checkpoint folder, or `undefined` when absent. */
export async function readReference(folder: string, name: string): Promise<NpyArray | undefined> {
  try {
    return parseNpy(await Deno.readFile(`${folder}/reference/${name}.npy`));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Runs `fn` on a temporary copy of the checkpoint folder `folder` that holds only `config.json`,
 * the weight file `weightFile` and `reference/` (so that `openCheckpoint` finds that file and no
 * other); the copy is removed afterwards.
 */
export async function withOnlyWeightFile<T>(
  folder: string,
  weightFile: string,
  fn: (copy: string) => Promise<T>,
): Promise<T> {
  const copy = await Deno.makeTempDir({ prefix: "clipbench-weights-" });
  try {
    for (const name of ["config.json", weightFile]) {
      await Deno.copyFile(join(folder, name), join(copy, name));
    }
    await Deno.mkdir(join(copy, "reference"));
    for await (const entry of Deno.readDir(join(folder, "reference"))) {
      await Deno.copyFile(
        join(folder, "reference", entry.name),
        join(copy, "reference", entry.name),
      );
    }
    return await fn(copy);
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
}

/** A reference array as an onnxruntime tensor (int64 ids and masks, float32 pixels). */
function toTensor(array: NpyArray): ort.Tensor {
  const dims = [...array.shape];
  if (array.data instanceof BigInt64Array) return new ort.Tensor("int64", array.data, dims);
  if (array.data instanceof Float32Array) return new ort.Tensor("float32", array.data, dims);
  if (array.data instanceof Int32Array) {
    return new ort.Tensor("int64", BigInt64Array.from(array.data, BigInt), dims);
  }
  throw new TypeError(`unexpected reference dtype ${array.descr}`);
}

/**
 * Asserts `actual` equals `expected` (both `[rows, dim]`) within the bounds, naming
 * `what` and the worst row.
 */
export function assertCloseRows(
  actual: Float32Array,
  expected: NpyArray,
  what: string,
): void {
  const ref = expected.data as Float32Array;
  assert.equal(
    actual.length,
    ref.length,
    `${what}: ${actual.length} values, expected ${ref.length}`,
  );
  const [rows, dim] = expected.shape;
  const maxRef = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  let maxError = 0;
  for (let i = 0; i < ref.length; i++) maxError = Math.max(maxError, Math.abs(actual[i] - ref[i]));
  assert.ok(
    maxError <= 1e-4 * maxRef,
    `${what}: max abs error ${maxError} > 1e-4 × max|ref| (${maxRef})`,
  );
  for (let r = 0; r < rows; r++) {
    let dot = 0, a2 = 0, b2 = 0;
    for (let c = 0; c < dim; c++) {
      const a = actual[r * dim + c], b = ref[r * dim + c];
      dot += a * b;
      a2 += a * a;
      b2 += b * b;
    }
    const cosine = dot / Math.sqrt(a2 * b2);
    assert.ok(cosine >= 0.99999, `${what}: row ${r} cosine ${cosine} < 0.99999`);
  }
}

/** What {@linkcode checkAgainstReference} computed, for further checks. */
export interface ReferenceRun {
  /** The converted model. */
  readonly converted: ConvertedModel;
  /** The checkpoint it was built from. */
  readonly checkpoint: Checkpoint;
  /** `image_embeds` `[rows, D]`. */
  readonly imageEmbeds: Float32Array;
  /** `text_embeds` `[rows, D]`. */
  readonly textEmbeds: Float32Array;
}

/**
 * Converts the checkpoint in `folder` (weights found by `openCheckpoint`, config from
 * `configFile`) with `architecture`, runs both towers on the reference inputs and asserts
 * embeddings and logits match transformers'.
 */
export async function checkAgainstReference(
  folder: string,
  architecture: Architecture,
  configFile = "config.json",
): Promise<ReferenceRun> {
  const checkpoint = await openCheckpoint(folder);
  const configPath = `${folder}/${configFile}`;
  const config = JSON.parse(await Deno.readTextFile(configPath));
  const converted = architecture.build(config, checkpoint, configPath);
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of ["pixel_values", "input_ids", "attention_mask", "token_type_ids"]) {
    const array = await readReference(folder, name);
    if (array) feeds[name] = toTensor(array);
  }
  const image = await runGraph(converted.vision, feeds);
  const text = await runGraph(converted.text, feeds);
  const imageRef = (await readReference(folder, "image_embeds"))!;
  const textRef = (await readReference(folder, "text_embeds"))!;
  assertCloseRows(image.data, imageRef, `${folder}: image_embeds`);
  assertCloseRows(text.data, textRef, `${folder}: text_embeds`);
  const logitsRef = await readReference(folder, "logits_per_image");
  if (logitsRef) {
    assertCloseRows(
      logits(image.data, text.data, imageRef.shape[1], converted),
      logitsRef,
      `${folder}: logits_per_image`,
    );
  }
  return { converted, checkpoint, imageEmbeds: image.data, textEmbeds: text.data };
}

/** `exp(scale) · normalise(image) · normalise(text)ᵀ + bias`, as transformers computes it. */
function logits(
  image: Float32Array,
  text: Float32Array,
  dim: number,
  model: ConvertedModel,
): Float32Array {
  const normalise = (rows: Float32Array) => {
    const out = new Float32Array(rows.length);
    for (let r = 0; r < rows.length / dim; r++) {
      let norm = 0;
      for (let c = 0; c < dim; c++) norm += rows[r * dim + c] ** 2;
      norm = Math.sqrt(norm);
      for (let c = 0; c < dim; c++) out[r * dim + c] = rows[r * dim + c] / norm;
    }
    return out;
  };
  const a = normalise(image), b = normalise(text);
  const imageRows = a.length / dim, textRows = b.length / dim;
  const out = new Float32Array(imageRows * textRows);
  const scale = Math.exp(model.logitScale);
  for (let i = 0; i < imageRows; i++) {
    for (let t = 0; t < textRows; t++) {
      let dot = 0;
      for (let c = 0; c < dim; c++) dot += a[i * dim + c] * b[t * dim + c];
      out[i * textRows + t] = dot * scale + (model.logitBias ?? 0);
    }
  }
  return out;
}
