/**
 * transformers' `SiglipModel` (`model_type` `siglip`): its `config.json` read as transformers
 * v4.40's `SiglipConfig` reads it (absent keys take `SiglipTextConfig` / `SiglipVisionConfig`'s
 * defaults), the options that change the numbers honoured or refused by name, and the two towers
 * built from the checkpoint (see src/convert/graph/siglip_towers.ts), with `logit_scale` and
 * `logit_bias` for SigLIP's logits `exp(scale)·cos + bias`.
 *
 * @module
 */

import type { Checkpoint } from "../../checkpoint/checkpoint.ts";
import type { Architecture, ConvertedModel } from "../architecture.ts";
import { CheckpointWeights, type WeightResolver } from "../graph/checkpoint_weights.ts";
import {
  buildSiglipTextTower,
  buildSiglipVisionTower,
  POOLING_PROJECTIONS,
  type SiglipShape,
} from "../graph/siglip_towers.ts";
import { ConfigOptions } from "./config_options.ts";
import { encoderSizes, hiddenActivation } from "./transformers_config.ts";

/** transformers' defaults of `SiglipTextConfig` and `SiglipVisionConfig`'s encoder sizes. */
const ENCODER_DEFAULTS = { width: 768, layers: 12, heads: 12, intermediate: 3072 };

/**
 * The sizes of the SigLIP model that `config` (a `SiglipConfig` as `config.json` stores it)
 * describes, with transformers v4.40's defaults for absent keys.
 *
 * @param source The config file's path, for messages.
 * @throws {ModelError} naming the config file and the option that is invalid or unsupported.
 */
export function siglipShape(config: Record<string, unknown>, source: string): SiglipShape {
  const top = new ConfigOptions(config, "", source);
  top.oneOf("model_type", "siglip", ["siglip"]);
  const text = top.section("text_config");
  const vision = top.section("vision_config");
  const textSizes = encoderSizes(text, ENCODER_DEFAULTS);
  const textShape = {
    vocabSize: text.positiveInteger("vocab_size", 32000),
    contextLength: text.positiveInteger("max_position_embeddings", 64),
    ...textSizes,
    activation: hiddenActivation(text, "gelu_pytorch_tanh"),
    layerNormEps: text.positiveNumber("layer_norm_eps", 1e-6),
    // Later transformers versions size the text head by `projection_size` (default: hidden_size).
    projection: text.positiveInteger("projection_size", textSizes.width),
  };
  const visionShape = {
    imageSize: vision.positiveInteger("image_size", 224),
    patchSize: vision.positiveInteger("patch_size", 16),
    numChannels: vision.positiveInteger("num_channels", 3),
    ...encoderSizes(vision, ENCODER_DEFAULTS),
    activation: hiddenActivation(vision, "gelu_pytorch_tanh"),
    layerNormEps: vision.positiveNumber("layer_norm_eps", 1e-6),
  };
  if (!vision.flag("vision_use_head", true)) {
    throw vision.error(
      "vision_use_head",
      "is false: without the attention-pooling head the model has no image features to convert",
    );
  }
  for (const [tower, shape] of [[text, textShape], [vision, visionShape]] as const) {
    tower.requireDivides("num_attention_heads", shape.heads, "hidden_size", shape.width);
  }
  if (visionShape.patchSize > visionShape.imageSize) {
    throw vision.error(
      "patch_size",
      `(${visionShape.patchSize}) must not exceed image_size (${visionShape.imageSize})`,
    );
  }
  if (textShape.projection !== visionShape.width) {
    throw text.error(
      textShape.projection === textSizes.width ? "hidden_size" : "projection_size",
      `(${textShape.projection}) must equal vision_config.hidden_size (${visionShape.width}): ` +
        "image and text embeddings must share one space",
    );
  }
  return { text: textShape, vision: visionShape };
}

/**
 * Where the towers' weights are stored in a `SiglipModel` state dict: under their own names,
 * except the pooling head's q, k and v projections, which are rows `[i·width, (i+1)·width)` of
 * `vision_model.head.attention.in_proj_weight` / `in_proj_bias`.
 *
 * @param visionWidth The vision tower's `hidden_size`.
 */
export function siglipWeightResolver(visionWidth: number): WeightResolver {
  return (name) => {
    const dot = name.lastIndexOf(".");
    const index = POOLING_PROJECTIONS.indexOf(name.slice(0, dot));
    if (index < 0) return { name };
    return {
      name: `vision_model.head.attention.in_proj_${name.slice(dot + 1)}`,
      rows: [index * visionWidth, (index + 1) * visionWidth],
    };
  };
}

/** transformers' `SiglipModel`. */
export const siglipArchitecture: Architecture = {
  name: "siglip",
  build(config: Record<string, unknown>, checkpoint: Checkpoint, source: string): ConvertedModel {
    const shape = siglipShape(config, source);
    const weights = new CheckpointWeights(checkpoint, siglipWeightResolver(shape.vision.width));
    const vision = buildSiglipVisionTower(shape, weights);
    const text = buildSiglipTextTower(shape, weights);
    const [logitScale] = weights.read("logit_scale", [1], "scalar");
    const [logitBias] = weights.read("logit_bias", [1], "scalar");
    return { vision, text, config, logitScale, logitBias };
  },
};
