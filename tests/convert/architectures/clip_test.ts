/**
 * transformers' `CLIPModel` read from `config.json`: transformers 4.40's defaults for absent
 * keys, `text_config_dict` over `text_config`, pooling by `eos_token_id` (the highest id for the
 * legacy 2), the attention mask as an input, and refusals naming the file and the option.
 */

import assert from "node:assert/strict";
import { CheckpointError } from "../../../src/checkpoint/checkpoint.ts";
import { ModelError } from "../../../src/errors.ts";
import { clipArchitecture, clipShape } from "../../../src/convert/architectures/clip.ts";
import { tinyTowerConfig, withCheckpoint } from "../_convert_fixture.ts";

const SOURCE = "/models/x/config.json";

Deno.test("clip: absent keys take transformers 4.40's defaults", () => {
  const shape = clipShape({ model_type: "clip" }, SOURCE);
  assert.deepEqual(shape.vision, {
    imageSize: 224,
    patchSize: 32,
    width: 768,
    layers: 12,
    heads: 12,
    intermediate: 3072,
  });
  assert.deepEqual(shape.text, {
    contextLength: 77,
    vocabSize: 49408,
    width: 512,
    layers: 12,
    heads: 8,
    intermediate: 2048,
  });
  assert.equal(shape.embedDim, 512);
  assert.equal(shape.activation, "quick_gelu");
  assert.deepEqual(shape.textOptions, {
    activation: "quick_gelu",
    layerNormEpsilon: 1e-5,
    attentionMask: true,
    pooling: { kind: "eos", tokenId: 49407 },
  });
});

Deno.test("clip: hidden_act, layer_norm_eps, eos_token_id and text_config_dict are read", () => {
  const shape = clipShape({
    projection_dim: 64,
    text_config: { hidden_act: "gelu", eos_token_id: 2, layer_norm_eps: 1e-6 },
    text_config_dict: { hidden_size: 48, num_attention_heads: 4 },
    vision_config: { hidden_act: "gelu_new", layer_norm_eps: 1e-6 },
  }, SOURCE);
  assert.equal(shape.embedDim, 64);
  assert.equal(shape.text.width, 48);
  assert.equal(shape.text.heads, 4);
  assert.equal(shape.activation, "gelu_pytorch_tanh");
  assert.equal(shape.textOptions?.activation, "gelu");
  assert.deepEqual(shape.textOptions?.pooling, { kind: "argmax" });
  assert.equal(shape.textOptions?.layerNormEpsilon, 1e-6);
  assert.equal(shape.visionOptions?.layerNormEpsilon, 1e-6);
});

Deno.test("clip: unsupported or wrong options are refused naming the file and the option", () => {
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ text_config: { hidden_act: "relu" } }, /text_config\.hidden_act "relu" is not supported/],
    [{ vision_config: { num_channels: 1 } }, /vision_config\.num_channels 1 is not supported/],
    [
      { vision_config: { hidden_size: 0 } },
      /vision_config\.hidden_size must be a positive integer/,
    ],
    [{ text_config: { layer_norm_eps: -1 } }, /text_config\.layer_norm_eps must be a positive/],
    [{ model_type: "siglip" }, /model_type "siglip" is not supported/],
    [{ vision_config: { patch_size: 30 } }, /vision\.patchSize \(30\) must divide/],
  ];
  for (const [config, message] of refused) {
    assert.throws(
      () => clipShape(config, SOURCE),
      (error: unknown) =>
        error instanceof ModelError && message.test(error.message) &&
        error.message.startsWith(SOURCE),
      `expected ${message}`,
    );
  }
});

Deno.test("clip: a missing tensor is a CheckpointError naming it", async () => {
  const config = {
    projection_dim: 8,
    text_config: tinyTowerConfig(),
    vision_config: { ...tinyTowerConfig(), image_size: 8, patch_size: 4 },
  };
  await withCheckpoint({
    "vision_model.embeddings.patch_embedding.weight": [8, 3, 4, 4],
    logit_scale: [],
  }, (checkpoint) => {
    assert.throws(
      () => clipArchitecture.build(config, checkpoint, SOURCE),
      (error: unknown) =>
        error instanceof CheckpointError &&
        error.tensor === "vision_model.embeddings.class_embedding" &&
        /model\.safetensors: no tensor vision_model\.embeddings\.class_embedding/.test(
          error.message,
        ),
    );
  });
});
