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
import { openCheckpoint } from "../../../src/checkpoint/open_checkpoint.ts";
import {
  chineseClipArchitecture,
  readChineseClipShape,
} from "../../../src/convert/architectures/chinese_clip.ts";
import { ModelError } from "../../../src/errors.ts";
import { encodeModel, type GraphBuilder } from "../../../src/onnx/builder.ts";

const SOURCE = "/models/cc/config.json";

/** A small Chinese-CLIP config (BERT 8 wide, ViT 8 wide on 8×8 images with 4×4 patches). */
function smallConfig(): Record<string, unknown> {
  return {
    model_type: "chinese_clip",
    projection_dim: 4,
    text_config: {
      vocab_size: 20,
      hidden_size: 8,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 16,
      max_position_embeddings: 12,
    },
    vision_config: {
      hidden_size: 8,
      image_size: 8,
      patch_size: 4,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 16,
    },
  };
}

/** Every tensor of {@linkcode smallConfig}'s `ChineseCLIPModel` state dict, with its shape. */
function smallStateDictShapes(): Map<string, number[]> {
  const shapes = new Map<string, number[]>([
    ["logit_scale", []],
    ["text_model.embeddings.word_embeddings.weight", [20, 8]],
    ["text_model.embeddings.position_embeddings.weight", [12, 8]],
    ["text_model.embeddings.token_type_embeddings.weight", [2, 8]],
    ["text_model.embeddings.LayerNorm.weight", [8]],
    ["text_model.embeddings.LayerNorm.bias", [8]],
    ["text_projection.weight", [4, 8]],
    ["vision_model.embeddings.class_embedding", [8]],
    ["vision_model.embeddings.patch_embedding.weight", [8, 3, 4, 4]],
    ["vision_model.embeddings.position_embedding.weight", [5, 8]],
    ["vision_model.pre_layrnorm.weight", [8]],
    ["vision_model.pre_layrnorm.bias", [8]],
    ["vision_model.post_layernorm.weight", [8]],
    ["vision_model.post_layernorm.bias", [8]],
    ["visual_projection.weight", [4, 8]],
  ]);
  const linear = (name: string, out: number, inDim: number) => {
    shapes.set(`${name}.weight`, [out, inDim]);
    shapes.set(`${name}.bias`, [out]);
  };
  const norm = (name: string) => {
    shapes.set(`${name}.weight`, [8]);
    shapes.set(`${name}.bias`, [8]);
  };
  for (let i = 0; i < 2; i++) {
    const layer = `text_model.encoder.layer.${i}`;
    for (const part of ["query", "key", "value"]) linear(`${layer}.attention.self.${part}`, 8, 8);
    linear(`${layer}.attention.output.dense`, 8, 8);
    norm(`${layer}.attention.output.LayerNorm`);
    linear(`${layer}.intermediate.dense`, 16, 8);
    linear(`${layer}.output.dense`, 8, 16);
    norm(`${layer}.output.LayerNorm`);
  }
  const layer = "vision_model.encoder.layers.0";
  for (const part of ["q_proj", "k_proj", "v_proj", "out_proj"]) {
    linear(`${layer}.self_attn.${part}`, 8, 8);
  }
  norm(`${layer}.layer_norm1`);
  norm(`${layer}.layer_norm2`);
  linear(`${layer}.mlp.fc1`, 16, 8);
  linear(`${layer}.mlp.fc2`, 8, 16);
  return shapes;
}

/** Seeded uniform values in [-0.5, 0.5) (mulberry32). */
function seededValues(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 32 - 0.5;
  }
  return out;
}

/** Writes `tensors` (float32) as `folder/model.safetensors`. */
async function writeSafetensors(
  folder: string,
  tensors: Map<string, { shape: number[]; values: Float32Array }>,
): Promise<void> {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, { shape, values }] of tensors) {
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + values.byteLength] };
    offset += values.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const file = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  file.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const { values } of tensors.values()) {
    file.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    at += values.byteLength;
  }
  await Deno.writeFile(join(folder, "model.safetensors"), file);
}

/**
 * Opens a seeded checkpoint of {@linkcode smallConfig}, after `edit` has changed its tensors,
 * and builds it.
 */
async function buildSmall(
  edit: (shapes: Map<string, number[]>) => void = () => {},
): Promise<ReturnType<typeof chineseClipArchitecture.build>> {
  const shapes = smallStateDictShapes();
  edit(shapes);
  const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
  let seed = 1;
  for (const [name, shape] of shapes) {
    const values = seededValues(shape.reduce((n, d) => n * d, 1), seed++);
    if (name.endsWith("LayerNorm.weight") || /layer_?norm\d?\.weight$/.test(name)) {
      for (let i = 0; i < values.length; i++) values[i] += 1;
    }
    tensors.set(name, { shape, values });
  }
  const folder = await Deno.makeTempDir({ prefix: "chinese_clip_test_" });
  try {
    await writeSafetensors(folder, tensors);
    const checkpoint = await openCheckpoint(folder);
    return chineseClipArchitecture.build(smallConfig(), checkpoint, join(folder, "config.json"));
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

/** Runs `graph` on `feeds`; returns its output. */
async function run(
  graph: GraphBuilder,
  feeds: Record<string, ort.Tensor>,
): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(encodeModel(graph).model);
  try {
    const outputs = await session.run(feeds);
    return outputs[session.outputNames[0]];
  } finally {
    await session.release();
  }
}

/** An int64 `[rows.length, width]` tensor. */
function int64Rows(rows: number[][]): ort.Tensor {
  return new ort.Tensor("int64", BigInt64Array.from(rows.flat(), BigInt), [
    rows.length,
    rows[0].length,
  ]);
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
    [{ vision_config: { layer_norm_eps: 1e-6 } }, "vision_config.layer_norm_eps"],
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

  const image = await run(model.vision, {
    pixel_values: new ort.Tensor("float32", seededValues(2 * 3 * 8 * 8, 99), [2, 3, 8, 8]),
  });
  assert.deepEqual(image.dims, [2, 4]);

  const short = await run(model.text, {
    input_ids: int64Rows([[1, 7, 9, 2]]),
    attention_mask: int64Rows([[1, 1, 1, 1]]),
    token_type_ids: int64Rows([[0, 0, 0, 0]]),
  });
  const padded = await run(model.text, {
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
  await assert.rejects(buildSmall((shapes) => shapes.delete(missing)), (error: unknown) => {
    assert.ok(error instanceof CheckpointError);
    assert.equal(error.tensor, missing);
    assert.ok(error.message.includes(missing) && error.message.includes("model.safetensors"));
    return true;
  });
  await assert.rejects(
    buildSmall((shapes) => shapes.delete("logit_scale")),
    (error: unknown) => error instanceof CheckpointError && error.tensor === "logit_scale",
  );
});

Deno.test("chineseClipArchitecture: a mis-shaped tensor is a CheckpointError naming it", async () => {
  const name = "text_model.embeddings.token_type_embeddings.weight";
  await assert.rejects(buildSmall((shapes) => shapes.set(name, [2, 6])), (error: unknown) => {
    assert.ok(error instanceof CheckpointError);
    assert.equal(error.tensor, name);
    assert.ok(error.message.includes("[2, 6]"));
    return true;
  });
});
