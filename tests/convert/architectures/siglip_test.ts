/**
 * The SigLIP architecture on a small in-memory `SiglipModel` state dict: transformers' defaults
 * for absent config keys, refusals naming the option and the config file, a missing or
 * mis-shaped tensor named by a CheckpointError, the fused pooling projections read as rows, and
 * towers that run in onnxruntime with the transformers.js inputs and outputs.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import type { Checkpoint, CheckpointTensor } from "../../../src/checkpoint/checkpoint.ts";
import { CheckpointError } from "../../../src/checkpoint/checkpoint.ts";
import { ModelError } from "../../../src/errors.ts";
import {
  siglipArchitecture,
  siglipShape,
  siglipWeightResolver,
} from "../../../src/convert/architectures/siglip.ts";
import { CheckpointWeights } from "../../../src/convert/graph/checkpoint_weights.ts";
import {
  buildSiglipTextTower,
  buildSiglipVisionTower,
} from "../../../src/convert/graph/siglip_towers.ts";
import {
  clipEncoderShapes,
  linearShapes,
  mlpShapes,
  normShapes,
  runGraph,
  type TensorShapes,
  TINY_WIDTH,
  tinyTowerConfig,
} from "../_convert_fixture.ts";

const SOURCE = "/models/tiny-siglip/config.json";
const WIDTH = TINY_WIDTH;
const VOCAB = 20;
const CONTEXT = 6;
const IMAGE = 8;
const PATCH = 4;

/** A tiny SigLIP config in the Hub's form (only non-default values written). */
function tinyConfig(
  text: Record<string, unknown> = {},
  vision: Record<string, unknown> = {},
): Record<string, unknown> {
  const tower = tinyTowerConfig();
  return {
    model_type: "siglip",
    text_config: { ...tower, vocab_size: VOCAB, max_position_embeddings: CONTEXT, ...text },
    vision_config: { ...tower, image_size: IMAGE, patch_size: PATCH, ...vision },
  };
}

/** Every tensor of the tiny model's state dict, as `SiglipModel.state_dict()` names them. */
function stateDictShapes(): TensorShapes {
  return {
    logit_scale: [1],
    logit_bias: [1],
    "text_model.embeddings.token_embedding.weight": [VOCAB, WIDTH],
    "text_model.embeddings.position_embedding.weight": [CONTEXT, WIDTH],
    ...clipEncoderShapes("text_model"),
    ...normShapes("text_model.final_layer_norm"),
    ...linearShapes("text_model.head", WIDTH, WIDTH),
    "vision_model.embeddings.patch_embedding.weight": [WIDTH, 3, PATCH, PATCH],
    "vision_model.embeddings.patch_embedding.bias": [WIDTH],
    "vision_model.embeddings.position_embedding.weight": [(IMAGE / PATCH) ** 2, WIDTH],
    ...clipEncoderShapes("vision_model"),
    ...normShapes("vision_model.post_layernorm"),
    "vision_model.head.probe": [1, 1, WIDTH],
    "vision_model.head.attention.in_proj_weight": [3 * WIDTH, WIDTH],
    "vision_model.head.attention.in_proj_bias": [3 * WIDTH],
    ...linearShapes("vision_model.head.attention.out_proj", WIDTH, WIDTH),
    ...normShapes("vision_model.head.layernorm"),
    ...mlpShapes("vision_model.head.mlp"),
  };
}

/** Small values that differ between tensors and within each. */
function wavyValues(name: string, size: number): Float32Array {
  return Float32Array.from({ length: size }, (_, i) => Math.sin(i + 7 * name.length) * 0.3);
}

/** A checkpoint held in memory (`values` fills each tensor). */
function memoryCheckpoint(
  shapes: TensorShapes = stateDictShapes(),
  values: (name: string, size: number) => Float32Array = wavyValues,
): Checkpoint {
  const file = "/models/tiny-siglip/model.safetensors";
  const tensors = new Map<string, CheckpointTensor>(
    Object.entries(shapes).map(([name, shape]) => {
      const data = values(name, shape.reduce((n, d) => n * d, 1));
      return [name, { name, dtype: "F32", shape: [...shape], file, float32: () => data }];
    }),
  );
  return { files: [file], names: () => [...tensors.keys()], get: (name) => tensors.get(name) };
}

/** The error `fn` throws (failing when it throws none). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail("expected an error");
}

Deno.test("siglipShape takes transformers 4.40's defaults for absent keys", () => {
  const shape = siglipShape({ model_type: "siglip" }, SOURCE);
  assert.deepEqual(shape.text, {
    vocabSize: 32000,
    contextLength: 64,
    width: 768,
    intermediate: 3072,
    layers: 12,
    heads: 12,
    activation: "gelu_pytorch_tanh",
    layerNormEps: 1e-6,
    projection: 768,
  });
  assert.deepEqual(shape.vision, {
    imageSize: 224,
    patchSize: 16,
    numChannels: 3,
    width: 768,
    intermediate: 3072,
    layers: 12,
    heads: 12,
    activation: "gelu_pytorch_tanh",
    layerNormEps: 1e-6,
  });
});

Deno.test("siglipShape honours hidden_act and layer_norm_eps per tower", () => {
  const shape = siglipShape(
    tinyConfig({ hidden_act: "gelu", layer_norm_eps: 1e-5 }, { hidden_act: "gelu_new" }),
    SOURCE,
  );
  assert.equal(shape.text.activation, "gelu");
  assert.equal(shape.text.layerNormEps, 1e-5);
  assert.equal(shape.vision.activation, "gelu_pytorch_tanh");
  assert.equal(shape.vision.layerNormEps, 1e-6);
});

for (
  const [what, config, option] of [
    ["an unknown activation", tinyConfig({ hidden_act: "relu" }), "text_config.hidden_act"],
    [
      "no pooling head",
      tinyConfig({}, { vision_use_head: false }),
      "vision_config.vision_use_head",
    ],
    [
      "heads not dividing the width",
      tinyConfig({}, { num_attention_heads: 3 }),
      "vision_config.num_attention_heads",
    ],
    ["a text width unlike the image's", tinyConfig({ hidden_size: 4 }), "text_config.hidden_size"],
    ["a non-integer size", tinyConfig({ vocab_size: "many" }), "text_config.vocab_size"],
  ] as const
) {
  Deno.test(`siglip refuses ${what}, naming ${option} and the config file`, () => {
    const error = thrown(() => siglipArchitecture.build(config, memoryCheckpoint(), SOURCE));
    assert.ok(error instanceof ModelError && !(error instanceof CheckpointError), String(error));
    assert.ok(error.message.includes(option), error.message);
    assert.ok(error.message.startsWith(SOURCE), error.message);
    assert.equal(error.path, SOURCE);
  });
}

for (
  const missing of [
    "vision_model.head.attention.in_proj_weight",
    "text_model.head.bias",
    "logit_bias",
  ]
) {
  Deno.test(`siglip names the missing tensor ${missing}`, () => {
    const shapes = stateDictShapes();
    delete shapes[missing];
    const error = thrown(() =>
      siglipArchitecture.build(tinyConfig(), memoryCheckpoint(shapes), SOURCE)
    );
    assert.ok(error instanceof CheckpointError, String(error));
    assert.equal(error.tensor, missing);
    assert.ok(error.message.includes(missing), error.message);
  });
}

Deno.test("siglip names a fused pooling projection too short for q, k and v", () => {
  const shapes = {
    ...stateDictShapes(),
    "vision_model.head.attention.in_proj_weight": [2 * WIDTH, WIDTH],
  };
  const error = thrown(() =>
    siglipArchitecture.build(tinyConfig(), memoryCheckpoint(shapes), SOURCE)
  );
  assert.ok(error instanceof CheckpointError, String(error));
  assert.equal(error.tensor, "vision_model.head.attention.in_proj_weight");
});

Deno.test("the pooling head's q, k, v are rows 0..w, w..2w, 2w..3w of in_proj", () => {
  const resolve = siglipWeightResolver(WIDTH);
  assert.deepEqual(resolve("vision_model.head.attention.k_proj.weight"), {
    name: "vision_model.head.attention.in_proj_weight",
    rows: [WIDTH, 2 * WIDTH],
  });
  assert.deepEqual(resolve("vision_model.head.attention.v_proj.bias"), {
    name: "vision_model.head.attention.in_proj_bias",
    rows: [2 * WIDTH, 3 * WIDTH],
  });
  assert.deepEqual(resolve("vision_model.encoder.layers.0.self_attn.q_proj.weight"), {
    name: "vision_model.encoder.layers.0.self_attn.q_proj.weight",
  });
  // Each projection reads its own rows: q's weight is the first WIDTH rows, transposed.
  const fused = Float32Array.from({ length: 3 * WIDTH * WIDTH }, (_, i) => i);
  const weights = new CheckpointWeights(
    memoryCheckpoint(
      stateDictShapes(),
      (name, size) => name.endsWith("in_proj_weight") ? fused : new Float32Array(size),
    ),
    resolve,
  );
  const v = weights.read("vision_model.head.attention.v_proj.weight", [WIDTH, WIDTH], "linear");
  // v row r (output r) is fused row 2·WIDTH + r; laid out [in, out], so v[c·WIDTH + r].
  assert.equal(v[3 * WIDTH + 5], fused[(2 * WIDTH + 5) * WIDTH + 3]);
});

Deno.test("siglip builds towers that read every tensor and run with transformers.js I/O", async () => {
  const checkpoint = memoryCheckpoint();
  const converted = siglipArchitecture.build(tinyConfig(), checkpoint, SOURCE);
  const shape = siglipShape(tinyConfig(), SOURCE);
  const weights = new CheckpointWeights(checkpoint, siglipWeightResolver(WIDTH));
  buildSiglipVisionTower(shape, weights);
  buildSiglipTextTower(shape, weights);
  weights.read("logit_scale", [1], "scalar");
  weights.read("logit_bias", [1], "scalar");
  assert.deepEqual(weights.unused(), []);

  assert.deepEqual(converted.vision.inputNames, ["pixel_values"]);
  assert.deepEqual(converted.text.inputNames, ["input_ids"]);
  const pixels = Float32Array.from({ length: 2 * 3 * IMAGE * IMAGE }, (_, i) => Math.cos(i));
  const image = await runGraph(converted.vision, {
    pixel_values: new ort.Tensor("float32", pixels, [2, 3, IMAGE, IMAGE]),
  });
  assert.deepEqual(image.dims, [2, WIDTH]);
  const ids = BigInt64Array.from([3, 4, 5, 1, 1, 1, 7, 8, 9, 10, 11, 1], BigInt);
  const text = await runGraph(converted.text, {
    input_ids: new ort.Tensor("int64", ids, [2, CONTEXT]),
  });
  assert.deepEqual(text.dims, [2, WIDTH]);
  for (const value of [...(image.data as Float32Array), ...(text.data as Float32Array)]) {
    assert.ok(Number.isFinite(value));
  }
  const rows = text.data as Float32Array;
  assert.notDeepEqual(rows.subarray(0, WIDTH), rows.subarray(WIDTH));
  assert.equal(converted.config.model_type, "siglip");
  assert.equal(converted.logitScale, checkpoint.get("logit_scale")!.float32()[0]);
  assert.equal(converted.logitBias, checkpoint.get("logit_bias")!.float32()[0]);
});
