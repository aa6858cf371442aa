/**
 * Tests for the Chinese-CLIP architecture: its config is read with transformers' defaults and
 * every unsupported option is refused by name; a small seeded checkpoint (written as
 * `model.safetensors` and opened like any other) converts into towers with the transformers.js
 * inputs and outputs whose text embedding ignores masked padding; a missing or mis-shaped tensor
 * is a CheckpointError naming it. The numbers against transformers are checked by
 * tests/conformance/convert_chinese_clip_test.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { CheckpointError } from "../../../src/checkpoint/checkpoint.ts";
import {
  chineseClipArchitecture,
  readChineseClipShape,
} from "../../../src/convert/architectures/chinese_clip.ts";
import { ModelError } from "../../../src/errors.ts";
import { SeededRandom } from "../../../tools/seeded_random.ts";
import {
  clipEncoderShapes,
  int64Rows,
  linearShapes,
  normShapes,
  runGraph,
  type TensorShapes,
  tensorsOf,
  tinyTowerConfig,
  withCheckpoint,
} from "../_convert_fixture.ts";

const SOURCE = "/models/cc/config.json";

/** A small Chinese-CLIP config (BERT 8 wide, ViT 8 wide on 8×8 images with 4×4 patches). */
function smallConfig(): Record<string, unknown> {
  return {
    model_type: "chinese_clip",
    projection_dim: 4,
    text_config: { ...tinyTowerConfig(2), vocab_size: 20, max_position_embeddings: 12 },
    vision_config: { ...tinyTowerConfig(), image_size: 8, patch_size: 4 },
  };
}

/** Every tensor of {@linkcode smallConfig}'s `ChineseCLIPModel` state dict, with its shape. */
function smallStateDictShapes(): TensorShapes {
  const shapes: Record<string, readonly number[]> = {
    logit_scale: [],
    "text_model.embeddings.word_embeddings.weight": [20, 8],
    "text_model.embeddings.position_embeddings.weight": [12, 8],
    "text_model.embeddings.token_type_embeddings.weight": [2, 8],
    ...normShapes("text_model.embeddings.LayerNorm"),
    "text_projection.weight": [4, 8],
    "vision_model.embeddings.class_embedding": [8],
    "vision_model.embeddings.patch_embedding.weight": [8, 3, 4, 4],
    "vision_model.embeddings.position_embedding.weight": [5, 8],
    ...normShapes("vision_model.pre_layrnorm"),
    ...normShapes("vision_model.post_layernorm"),
    "visual_projection.weight": [4, 8],
  };
  for (let i = 0; i < 2; i++) {
    const layer = `text_model.encoder.layer.${i}`;
    for (const part of ["query", "key", "value"]) {
      Object.assign(shapes, linearShapes(`${layer}.attention.self.${part}`, 8, 8));
    }
    Object.assign(
      shapes,
      linearShapes(`${layer}.attention.output.dense`, 8, 8),
      normShapes(`${layer}.attention.output.LayerNorm`),
      linearShapes(`${layer}.intermediate.dense`, 16, 8),
      linearShapes(`${layer}.output.dense`, 8, 16),
      normShapes(`${layer}.output.LayerNorm`),
    );
  }
  return Object.assign(shapes, clipEncoderShapes("vision_model"));
}

/** Seeded uniform values in [-0.5, 0.5). */
function seededValues(count: number, seed: number): Float32Array {
  return new SeededRandom(seed).fillUniform(new Float32Array(count), 0.5);
}

/**
 * Opens a seeded checkpoint of {@linkcode smallConfig}, after `edit` has changed its tensors,
 * and builds it.
 */
async function buildSmall(
  edit: (shapes: Record<string, readonly number[]>) => void = () => {},
): Promise<ReturnType<typeof chineseClipArchitecture.build>> {
  const shapes = smallStateDictShapes();
  edit(shapes);
  const tensors = tensorsOf(shapes, (name, count, index) => {
    const values = seededValues(count, index + 1);
    if (name.endsWith("LayerNorm.weight") || /layer_?norm\d?\.weight$/.test(name)) {
      for (let i = 0; i < values.length; i++) values[i] += 1;
    }
    return values;
  });
  return await withCheckpoint(
    tensors,
    (checkpoint, folder) =>
      chineseClipArchitecture.build(smallConfig(), checkpoint, join(folder, "config.json")),
  );
}

/** Asserts that `fn` throws `type` with a message containing each of `parts`. */
function assertThrowsNaming(
  fn: () => unknown,
  type: typeof ModelError,
  parts: readonly string[],
): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof type, `expected ${type.name}, got ${error}`);
    for (const part of parts) {
      assert.ok(error.message.includes(part), `"${error.message}" does not name ${part}`);
    }
    return true;
  });
}

Deno.test("readChineseClipShape: absent keys take transformers' ChineseCLIP defaults", () => {
  const shape = readChineseClipShape({ model_type: "chinese_clip" }, SOURCE);
  assert.deepEqual(shape.text, {
    vocabSize: 30522,
    maxPositions: 512,
    typeVocabSize: 2,
    width: 768,
    layers: 12,
    heads: 12,
    intermediate: 3072,
    activation: "gelu",
    layerNormEps: 1e-12,
    embedDim: 512,
  });
  assert.deepEqual(shape.clip.vision, {
    imageSize: 224,
    patchSize: 32,
    width: 768,
    layers: 12,
    heads: 12,
    intermediate: 3072,
  });
  assert.equal(shape.clip.activation, "quick_gelu");
  assert.equal(shape.clip.embedDim, 512);
  assert.deepEqual(shape.clip.visionOptions, { layerNormEpsilon: 1e-5 });
});

Deno.test("readChineseClipShape: the vision tower's layer_norm_eps is honoured", () => {
  const shape = readChineseClipShape({
    model_type: "chinese_clip",
    vision_config: { layer_norm_eps: 1e-6 },
  }, SOURCE);
  assert.deepEqual(shape.clip.visionOptions, { layerNormEpsilon: 1e-6 });
});

Deno.test("readChineseClipShape: the legacy *_config_dict keys win, as in transformers", () => {
  const shape = readChineseClipShape({
    ...smallConfig(),
    text_config_dict: { hidden_size: 16, num_attention_heads: 4, layer_norm_eps: 1e-5 },
    vision_config_dict: { hidden_act: "gelu" },
  }, SOURCE);
  assert.equal(shape.text.width, 16);
  assert.equal(shape.text.layerNormEps, 1e-5);
  assert.equal(shape.text.vocabSize, 30522);
  assert.equal(shape.clip.activation, "gelu");
  assert.equal(shape.clip.vision.imageSize, 224);
});

Deno.test("readChineseClipShape: an unsupported option is a ModelError naming it and the file", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ text_config: { position_embedding_type: "relative_key" } }, "position_embedding_type"],
    [{ text_config: { hidden_act: "gelu_new" } }, "text_config.hidden_act"],
    [{ text_config: { is_decoder: true } }, "text_config.is_decoder"],
    [{ text_config: { pruned_heads: { "0": [1] } } }, "text_config.pruned_heads"],
    [{ text_config: { hidden_size: 10, num_attention_heads: 4 } }, "num_attention_heads"],
    [{ vision_config: { hidden_act: "relu" } }, "vision_config.hidden_act"],
    [{ vision_config: { layer_norm_eps: 0 } }, "vision_config.layer_norm_eps"],
    [{ vision_config: { num_channels: 1 } }, "vision_config.num_channels"],
    [{ vision_config: { image_size: 30, patch_size: 8 } }, "vision_config.patch_size"],
    [{ projection_dim: 0 }, "projection_dim"],
    [{ text_config: "bert" }, "text_config"],
  ];
  for (const [options, named] of cases) {
    assertThrowsNaming(
      () => readChineseClipShape({ model_type: "chinese_clip", ...options }, SOURCE),
      ModelError,
      [SOURCE, named],
    );
  }
  assertThrowsNaming(
    () => readChineseClipShape({ model_type: "clip" }, SOURCE),
    ModelError,
    [SOURCE, "model_type"],
  );
});

Deno.test("chineseClipArchitecture: towers take transformers.js inputs; masked padding is ignored", async () => {
  const model = await buildSmall();
  assert.equal(model.config.model_type, "chinese_clip");
  assert.ok(Number.isFinite(model.logitScale));
  assert.deepEqual(model.text.inputNames, ["input_ids", "attention_mask", "token_type_ids"]);
  assert.deepEqual(model.vision.inputNames, ["pixel_values"]);

  const image = await runGraph(model.vision, {
    pixel_values: new ort.Tensor("float32", seededValues(2 * 3 * 8 * 8, 99), [2, 3, 8, 8]),
  });
  assert.deepEqual(image.dims, [2, 4]);

  const short = await runGraph(model.text, {
    input_ids: int64Rows([[1, 7, 9, 2]]),
    attention_mask: int64Rows([[1, 1, 1, 1]]),
    token_type_ids: int64Rows([[0, 0, 0, 0]]),
  });
  const padded = await runGraph(model.text, {
    input_ids: int64Rows([[1, 7, 9, 2, 0, 0, 0], [1, 7, 9, 2, 5, 5, 2]]),
    attention_mask: int64Rows([[1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1]]),
    token_type_ids: int64Rows([[0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0]]),
  });
  assert.deepEqual(padded.dims, [2, 4]);
  const shortData = short.data as Float32Array;
  const paddedData = padded.data as Float32Array;
  for (let i = 0; i < 4; i++) {
    assert.ok(Math.abs(paddedData[i] - shortData[i]) < 1e-5, `masked padding changed value ${i}`);
  }
  // The second row attends to more tokens, so its [CLS] state differs.
  const differs = [0, 1, 2, 3].some((i) => Math.abs(paddedData[4 + i] - shortData[i]) > 1e-4);
  assert.ok(differs, "attended tokens must change the [CLS] embedding");
});

Deno.test("chineseClipArchitecture: a missing tensor is a CheckpointError naming it", async () => {
  const missing = "text_model.encoder.layer.1.output.LayerNorm.bias";
  await assert.rejects(buildSmall((shapes) => delete shapes[missing]), (error: unknown) => {
    assert.ok(error instanceof CheckpointError);
    assert.equal(error.tensor, missing);
    assert.ok(error.message.includes(missing) && error.message.includes("model.safetensors"));
    return true;
  });
  await assert.rejects(
    buildSmall((shapes) => delete shapes.logit_scale),
    (error: unknown) => error instanceof CheckpointError && error.tensor === "logit_scale",
  );
});

Deno.test("chineseClipArchitecture: a mis-shaped tensor is a CheckpointError naming it", async () => {
  const name = "text_model.embeddings.token_type_embeddings.weight";
  await assert.rejects(buildSmall((shapes) => (shapes[name] = [2, 6])), (error: unknown) => {
    assert.ok(error instanceof CheckpointError);
    assert.equal(error.tensor, name);
    assert.ok(error.message.includes("[2, 6]"));
    return true;
  });
});
