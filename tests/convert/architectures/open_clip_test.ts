/**
 * open_clip's `CLIP` read from `open_clip_config.json`: its options become graph options (layer
 * scale, mean pooling, no `ln_pre`, bidirectional text padded to the context, other pooled
 * positions, a projection bias, `text.`-prefixed weights), the preprocessing becomes
 * `CLIPImageProcessor` settings, and what cannot be built is refused by name.
 */

import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { CheckpointError } from "../../../src/checkpoint/checkpoint.ts";
import { ModelError } from "../../../src/errors.ts";
import type { GraphBuilder } from "../../../src/onnx/builder.ts";
import {
  openClipArchitecture,
  readOpenClipModel,
} from "../../../src/convert/architectures/open_clip.ts";
import { int64Rows, runGraph, type TensorShapes, withCheckpoint } from "../_convert_fixture.ts";

const SOURCE = "/models/x/open_clip_config.json";

/** A tiny model config with `vision` and `text` options merged in. */
function tinyConfig(
  vision: Record<string, unknown> = {},
  text: Record<string, unknown> = {},
  model: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    model_cfg: {
      embed_dim: 8,
      vision_cfg: {
        image_size: 8,
        patch_size: 4,
        width: 8,
        head_width: 4,
        layers: 1,
        mlp_ratio: 2,
        ...vision,
      },
      text_cfg: {
        context_length: 6,
        vocab_size: 10,
        width: 8,
        heads: 2,
        layers: 1,
        mlp_ratio: 2,
        ...text,
      },
      ...model,
    },
  };
}

/** The state dict of the tiny model, as open_clip names it. */
function tinyTensors(
  options: { layerScale?: boolean; textPrefix?: string; projBias?: boolean } = {},
): TensorShapes {
  const t = options.textPrefix ?? "";
  const block = (prefix: string): TensorShapes => ({
    [`${prefix}ln_1.weight`]: [8],
    [`${prefix}ln_1.bias`]: [8],
    [`${prefix}attn.in_proj_weight`]: [24, 8],
    [`${prefix}attn.in_proj_bias`]: [24],
    [`${prefix}attn.out_proj.weight`]: [8, 8],
    [`${prefix}attn.out_proj.bias`]: [8],
    [`${prefix}ln_2.weight`]: [8],
    [`${prefix}ln_2.bias`]: [8],
    [`${prefix}mlp.c_fc.weight`]: [16, 8],
    [`${prefix}mlp.c_fc.bias`]: [16],
    [`${prefix}mlp.c_proj.weight`]: [8, 16],
    [`${prefix}mlp.c_proj.bias`]: [8],
    ...(options.layerScale ? { [`${prefix}ls_1.gamma`]: [8], [`${prefix}ls_2.gamma`]: [8] } : {}),
  });
  return {
    "visual.conv1.weight": [8, 3, 4, 4],
    "visual.class_embedding": [8],
    "visual.positional_embedding": [5, 8],
    "visual.ln_pre.weight": [8],
    "visual.ln_pre.bias": [8],
    ...block("visual.transformer.resblocks.0."),
    "visual.ln_post.weight": [8],
    "visual.ln_post.bias": [8],
    "visual.proj": [8, 8],
    [`${t}token_embedding.weight`]: [10, 8],
    [`${t}positional_embedding`]: [6, 8],
    ...block(`${t}transformer.resblocks.0.`),
    [`${t}ln_final.weight`]: [8],
    [`${t}ln_final.bias`]: [8],
    ...(options.projBias
      ? { [`${t}text_projection.weight`]: [8, 8], [`${t}text_projection.bias`]: [8] }
      : { [`${t}text_projection`]: [8, 8] }),
    logit_scale: [],
  };
}

/** Runs `graph` on `feeds`; returns its output values. */
async function run(graph: GraphBuilder, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  return (await runGraph(graph, feeds)).data;
}

const PIXELS = new ort.Tensor(
  "float32",
  Float32Array.from({ length: 2 * 3 * 64 }, (_, i) => Math.sin(i)),
  [2, 3, 8, 8],
);

Deno.test("open_clip: the kit-like default config reads as OpenAI CLIP with argmax pooling", () => {
  const { shape, config } = readOpenClipModel(tinyConfig(), SOURCE);
  assert.deepEqual(shape.vision, {
    imageSize: 8,
    patchSize: 4,
    width: 8,
    layers: 1,
    heads: 2,
    intermediate: 16,
  });
  assert.equal(shape.activation, "gelu");
  assert.deepEqual(shape.textOptions?.pooling, { kind: "argmax" });
  assert.equal(shape.textOptions?.padToContextWith, undefined);
  assert.equal(shape.visionOptions?.layerScale, false);
  assert.equal(config.model_type, "clip");
  assert.equal((config.text_config as Record<string, unknown>).eos_token_id, 2);
});

Deno.test("open_clip: options map onto graph options", () => {
  const { shape } = readOpenClipModel(
    tinyConfig(
      {
        ls_init_value: 1e-4,
        no_ln_pre: true,
        pool_type: "avg",
        final_ln_after_pool: true,
        norm_kwargs: { eps: 1e-6 },
      },
      {
        no_causal_mask: true,
        pool_type: "last",
        pad_id: 3,
        proj_bias: true,
        act_kwargs: { approximate: "tanh" },
      },
      { quick_gelu: false },
    ),
    SOURCE,
  );
  assert.deepEqual(shape.visionOptions, {
    layerNormEpsilon: 1e-6,
    layerScale: true,
    preLayerNorm: false,
    pooling: "mean",
    normAfterPooling: true,
  });
  assert.deepEqual(shape.textOptions, {
    activation: "gelu_pytorch_tanh",
    layerNormEpsilon: 1e-5,
    layerScale: false,
    causal: false,
    pooling: { kind: "last" },
    padToContextWith: 3,
    projection: "linear_bias",
  });
  const eos = readOpenClipModel(
    tinyConfig({}, { pool_type: "eos", eos_id: 7 }, { quick_gelu: true }),
    SOURCE,
  );
  assert.deepEqual(eos.shape.textOptions?.pooling, { kind: "eos", tokenId: 7 });
  assert.equal(eos.shape.activation, "quick_gelu");
  assert.equal((eos.config.text_config as Record<string, unknown>).eos_token_id, 7);
});

Deno.test("open_clip: layer scale, mean pooling and a text. prefix build and run", async () => {
  const config = tinyConfig(
    { ls_init_value: 1e-4, no_ln_pre: true, pool_type: "avg", final_ln_after_pool: true },
    { ls_init_value: 1e-4, proj_bias: true },
    { custom_text: true },
  );
  const tensors = tinyTensors({ layerScale: true, textPrefix: "text.", projBias: true });
  delete tensors["visual.ln_pre.weight"];
  delete tensors["visual.ln_pre.bias"];
  await withCheckpoint(tensors, async (checkpoint) => {
    const converted = openClipArchitecture.build(config, checkpoint, SOURCE);
    const image = await run(converted.vision, { pixel_values: PIXELS });
    assert.equal(image.length, 16);
    assert.ok(image.every(Number.isFinite));
    const text = await run(converted.text, { input_ids: int64Rows([[1, 5, 9, 0, 0, 0]]) });
    assert.equal(text.length, 8);
    assert.ok(text.every(Number.isFinite));
  });
});

Deno.test("open_clip: a bidirectional text tower pads short ids to the context with pad_id", async () => {
  const config = tinyConfig({}, { no_causal_mask: true, pool_type: "last", pad_id: 4 });
  await withCheckpoint(tinyTensors(), async (checkpoint) => {
    const converted = openClipArchitecture.build(config, checkpoint, SOURCE);
    const short = await run(converted.text, { input_ids: int64Rows([[1, 5, 9]]) });
    const full = await run(converted.text, { input_ids: int64Rows([[1, 5, 9, 4, 4, 4]]) });
    assert.deepEqual(short, full);
    const other = await run(converted.text, { input_ids: int64Rows([[1, 5, 9, 3, 3, 3]]) });
    assert.notDeepEqual(other, full);
  });
});

Deno.test("open_clip: a causal argmax text tower does not depend on what follows the end token", async () => {
  await withCheckpoint(tinyTensors(), async (checkpoint) => {
    const converted = openClipArchitecture.build(tinyConfig(), checkpoint, SOURCE);
    const a = await run(converted.text, { input_ids: int64Rows([[1, 5, 9, 0, 0, 0]]) });
    const b = await run(converted.text, { input_ids: int64Rows([[1, 5, 9, 2, 1, 3]]) });
    const c = await run(converted.text, { input_ids: int64Rows([[1, 5, 9]]) });
    assert.deepEqual(a, b);
    assert.deepEqual(a, c);
    const d = await run(converted.text, { input_ids: int64Rows([[1, 6, 9]]) });
    assert.notDeepEqual(a, d);
  });
});

Deno.test("open_clip: preprocess_cfg becomes CLIPImageProcessor settings", () => {
  const squash = readOpenClipModel(
    {
      ...tinyConfig(),
      preprocess_cfg: {
        resize_mode: "squash",
        interpolation: "bilinear",
        mean: [0.5, 0.5, 0.5],
        std: 0.5,
      },
    },
    SOURCE,
  ).preprocessorConfig;
  assert.deepEqual(squash.size, { height: 8, width: 8 });
  assert.equal(squash.do_center_crop, false);
  assert.equal(squash.resample, 2);
  assert.deepEqual(squash.image_std, [0.5, 0.5, 0.5]);
  const shortest = readOpenClipModel({ ...tinyConfig(), preprocess_cfg: { size: 12 } }, SOURCE)
    .preprocessorConfig;
  assert.deepEqual(shortest.size, { shortest_edge: 12 });
  assert.deepEqual(shortest.crop_size, { height: 12, width: 12 });
  assert.equal(shortest.resample, 3);
});

Deno.test("open_clip: unsupported options are refused naming the file and the option", () => {
  const refused: [Record<string, unknown>, RegExp][] = [
    [tinyConfig({ timm_model_name: "vit_base" }), /vision_cfg\.timm_model_name/],
    [tinyConfig({ layers: [3, 4, 6, 3] }), /vision_cfg\.layers is a list/],
    [tinyConfig({ attentional_pool: true }), /vision_cfg\.attentional_pool/],
    [tinyConfig({ pool_type: "none" }), /vision_cfg\.pool_type/],
    [tinyConfig({ qk_norm: true }), /vision_cfg\.qk_norm/],
    [tinyConfig({ image_size: [8, 16] }), /vision_cfg\.image_size/],
    [
      tinyConfig({ norm_kwargs: { elementwise_affine: false } }),
      /vision_cfg\.norm_kwargs\.elementwise_affine/,
    ],
    [tinyConfig({ global_average_pool: true }), /vision_cfg\.global_average_pool/],
    [tinyConfig({}, { hf_model_name: "roberta-base" }), /text_cfg\.hf_model_name/],
    [tinyConfig({}, { embed_cls: true }), /text_cfg\.embed_cls/],
    [tinyConfig({}, { pool_type: "none" }), /text_cfg\.pool_type/],
    [tinyConfig({}, { scale_fc: true }), /text_cfg\.scale_fc/],
    [tinyConfig({}, { act_kwargs: { approximate: "erf" } }), /text_cfg\.act_kwargs\.approximate/],
    [tinyConfig({}, {}, { multimodal_cfg: { width: 8 } }), /model_cfg\.multimodal_cfg/],
    [
      { ...tinyConfig(), preprocess_cfg: { resize_mode: "longest" } },
      /preprocess_cfg\.resize_mode/,
    ],
    [{ ...tinyConfig(), preprocess_cfg: { mode: "L" } }, /preprocess_cfg\.mode/],
    [{ preprocess_cfg: {} }, /model_cfg is missing/],
    [
      tinyConfig({ width: 10, head_width: 3 }),
      /vision\.heads \(3\) must divide vision\.width \(10\)/,
    ],
  ];
  for (const [config, message] of refused) {
    assert.throws(
      () => readOpenClipModel(config, SOURCE),
      (error: unknown) =>
        error instanceof ModelError && message.test(error.message) &&
        error.message.startsWith(SOURCE),
      `expected ${message}`,
    );
  }
});

Deno.test("open_clip: a missing or mis-shaped tensor is a CheckpointError naming it", async () => {
  const missing = tinyTensors();
  delete missing["visual.transformer.resblocks.0.attn.in_proj_weight"];
  await withCheckpoint(missing, (checkpoint) => {
    assert.throws(
      () => openClipArchitecture.build(tinyConfig(), checkpoint, SOURCE),
      (error: unknown) =>
        error instanceof CheckpointError &&
        error.tensor === "visual.transformer.resblocks.0.attn.in_proj_weight" &&
        /model\.safetensors: no tensor .*resblocks\.0\.attn\.in_proj_weight/.test(error.message),
    );
  });
  const misShaped = { ...tinyTensors(), "visual.proj": [8, 4] };
  await withCheckpoint(misShaped, (checkpoint) => {
    assert.throws(
      () => openClipArchitecture.build(tinyConfig(), checkpoint, SOURCE),
      (error: unknown) =>
        error instanceof CheckpointError && error.tensor === "visual.proj" &&
        /visual\.proj has shape \[8, 4\], expected \[8, 8\]/.test(error.message),
    );
  });
});
