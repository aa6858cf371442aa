/**
 * transformers' `CLIPModel` and open_clip's `CLIP` converted from the kit's checkpoints: the
 * random `clip-tiny-random` reproduces transformers' reference outputs from both weight formats,
 * and the trained `tiny-clip-fashion` model, as a transformers checkpoint and as an open_clip
 * one (the same weights), gives the features of the kit's ONNX export of it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { KIT_DIR, kitTest } from "../_kit.ts";
import {
  assertCloseRows,
  checkAgainstReference,
  readReference,
  withOnlyWeightFile,
} from "./_checkpoint_reference.ts";
import { runGraph } from "../convert/_convert_fixture.ts";
import { clipArchitecture } from "../../src/convert/architectures/clip.ts";
import { openClipArchitecture } from "../../src/convert/architectures/open_clip.ts";
import type { Architecture, ConvertedModel } from "../../src/convert/architecture.ts";
import { openCheckpoint } from "../../src/checkpoint/open_checkpoint.ts";
import type { NpyArray } from "../../src/io/npy.ts";

const CHECKPOINTS = `${KIT_DIR}/checkpoints`;
const RANDOM = `${CHECKPOINTS}/clip-tiny-random`;
const KIT_MODEL = `${KIT_DIR}/models/tiny-clip-fashion`;

kitTest("clip-tiny-random (model.safetensors) reproduces transformers' outputs", async () => {
  const run = await checkAgainstReference(RANDOM, clipArchitecture);
  assert.deepEqual(run.checkpoint.files.map((f) => f.split("/").pop()), ["model.safetensors"]);
  assert.equal(run.converted.config.model_type, "clip");
  assert.deepEqual(run.converted.text.inputNames, ["input_ids", "attention_mask"]);
});

kitTest("clip-tiny-random (pytorch_model.bin) reproduces transformers' outputs", async () => {
  await withOnlyWeightFile(RANDOM, "pytorch_model.bin", async (dir) => {
    const run = await checkAgainstReference(dir, clipArchitecture);
    assert.deepEqual(run.checkpoint.files.map((f) => f.split("/").pop()), ["pytorch_model.bin"]);
  });
});

/** Seeded pixel values in the normalised range, `[rows, 3, 32, 32]`. */
function randomPixels(rows: number, seed: number): ort.Tensor {
  const data = new Float32Array(rows * 3 * 32 * 32);
  let state = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = (state / 2 ** 32) * 4 - 2;
  }
  return new ort.Tensor("float32", data, [rows, 3, 32, 32]);
}

/** The single output of the kit's ONNX tower `file` for `feeds`, as a reference array. */
async function kitTower(file: string, feeds: Record<string, ort.Tensor>): Promise<NpyArray> {
  const session = await ort.InferenceSession.create(`${KIT_MODEL}/onnx/${file}`);
  try {
    const inputs = Object.fromEntries(session.inputNames.map((name) => [name, feeds[name]]));
    const output = (await session.run(inputs))[session.outputNames[0]];
    return { shape: output.dims, descr: "<f4", data: output.data as Float32Array };
  } finally {
    await session.release();
  }
}

/**
 * Converts the fashion checkpoint in `folder` and checks both towers against the kit's ONNX
 * towers on seeded random pixels, the kit's reference pixels, and the kit's reference ids.
 */
async function checkFashion(
  folder: string,
  configFile: string,
  architecture: Architecture,
): Promise<ConvertedModel> {
  const checkpoint = await openCheckpoint(folder);
  const configPath = join(folder, configFile);
  const config = JSON.parse(await Deno.readTextFile(configPath));
  const converted = architecture.build(config, checkpoint, configPath);
  const referencePixels = (await readReference(KIT_MODEL, "pixel_values"))!;
  for (
    const pixels of [
      randomPixels(5, 11),
      new ort.Tensor("float32", referencePixels.data as Float32Array, [...referencePixels.shape]),
    ]
  ) {
    const feeds = { pixel_values: pixels };
    const ours = await runGraph(converted.vision, feeds);
    assertCloseRows(ours.data, await kitTower("vision_model.onnx", feeds), `${folder}: image`);
  }
  const ids = (await readReference(KIT_MODEL, "input_ids"))!;
  const idsTensor = new ort.Tensor("int64", ids.data as BigInt64Array, [...ids.shape]);
  const ones = new ort.Tensor(
    "int64",
    new BigInt64Array(ids.data.length).fill(1n),
    [...ids.shape],
  );
  const feeds = { input_ids: idsTensor, attention_mask: ones };
  const ours = await runGraph(converted.text, feeds);
  assertCloseRows(ours.data, await kitTower("text_model.onnx", feeds), `${folder}: text`);
  return converted;
}

kitTest("tiny-clip-fashion-hf converts to the kit model's towers", async () => {
  const converted = await checkFashion(
    `${CHECKPOINTS}/tiny-clip-fashion-hf`,
    "config.json",
    clipArchitecture,
  );
  // The kit's config records exp(logit_scale) of the trained model.
  const kitConfig = JSON.parse(await Deno.readTextFile(`${KIT_MODEL}/config.json`));
  assert.ok(Math.abs(Math.exp(converted.logitScale) - kitConfig.logit_scale) < 1e-4);
  assert.equal(converted.preprocessorConfig, undefined);
});

kitTest("tiny-clip-fashion-openclip converts to the kit model's towers", async () => {
  const folder = `${CHECKPOINTS}/tiny-clip-fashion-openclip`;
  const converted = await checkFashion(folder, "open_clip_config.json", openClipArchitecture);
  assert.deepEqual(converted.text.inputNames, ["input_ids"]);
  const hf = await openCheckpoint(`${CHECKPOINTS}/tiny-clip-fashion-hf`);
  assert.equal(converted.logitScale, hf.get("logit_scale")!.float32()[0]);
  const config = converted.config as {
    model_type: string;
    projection_dim: number;
    text_config: Record<string, unknown>;
    vision_config: Record<string, unknown>;
  };
  assert.equal(config.model_type, "clip");
  assert.equal(config.projection_dim, 64);
  assert.equal(config.text_config.hidden_size, 48);
  assert.equal(config.text_config.max_position_embeddings, 77);
  assert.equal(config.vision_config.hidden_size, 96);
  assert.equal(config.vision_config.hidden_act, "gelu");
  assert.deepEqual(converted.preprocessorConfig, {
    image_processor_type: "CLIPImageProcessor",
    do_convert_rgb: true,
    do_resize: true,
    size: { shortest_edge: 32 },
    resample: 3,
    do_center_crop: true,
    crop_size: { height: 32, width: 32 },
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_std: [0.26862954, 0.26130258, 0.27577711],
  });
});
