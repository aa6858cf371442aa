/**
 * transformers' `CLIPModel` (`model_type` `clip`): the two towers as `get_image_features` /
 * `get_text_features` of transformers 4.40 compute them, read from `config.json` with the
 * defaults of `CLIPConfig`, `CLIPTextConfig` and `CLIPVisionConfig` for absent keys (and the
 * legacy `text_config_dict` / `vision_config_dict` over them, as `CLIPConfig` merges them). The
 * weights keep transformers' names. Honoured: `hidden_act` (`quick_gelu`, `gelu`,
 * `gelu_pytorch_tanh`, `gelu_new`) and `layer_norm_eps` of each tower, the text tower's
 * `attention_mask` (added to the causal mask), and its pooling at the first `eos_token_id` — or at
 * the highest id for the legacy `eos_token_id == 2` configs. A value that would change the numbers
 * and cannot be built is refused by name.
 *
 * @module
 */

import type { Checkpoint } from "../../checkpoint/checkpoint.ts";
import { ModelError } from "../../errors.ts";
import type { Architecture, ConvertedModel } from "../architecture.ts";
import { CheckpointWeights } from "../graph/checkpoint_weights.ts";
import { type ClipShape, validateClipShape } from "../graph/clip_shape.ts";
import { buildTextTower, buildVisionTower } from "../graph/clip_towers.ts";
import { ConfigOptions } from "./config_options.ts";
import { encoderSizes, hiddenActivation, readClipVisionConfig } from "./transformers_config.ts";

/** The legacy end-token id with which transformers pools at the highest id instead. */
const LEGACY_EOS_TOKEN_ID = 2;

/** A tower's config: `<tower>_config` with `<tower>_config_dict` merged over it. */
function towerConfig(top: ConfigOptions, tower: "text" | "vision"): ConfigOptions {
  const base = top.section(`${tower}_config`);
  if (!top.has(`${tower}_config_dict`)) return base;
  const legacy = top.section(`${tower}_config_dict`);
  return new ConfigOptions({ ...base.values, ...legacy.values }, `${tower}_config.`, top.source);
}

/**
 * The shape of the `CLIPModel` a `config.json` describes.
 *
 * @param config The parsed `config.json`.
 * @param source Its path, for messages.
 * @throws {ModelError} naming the file and the option for a wrong or unsupported value.
 */
export function clipShape(config: Record<string, unknown>, source: string): ClipShape {
  const top = new ConfigOptions(config, "", source);
  top.oneOf("model_type", "clip", ["clip"]);
  const text = towerConfig(top, "text");
  const vision = readClipVisionConfig(towerConfig(top, "vision"));
  const eosTokenId = text.integer("eos_token_id", 49407);
  const shape: ClipShape = {
    vision: vision.shape,
    text: {
      contextLength: text.positiveInteger("max_position_embeddings", 77),
      vocabSize: text.positiveInteger("vocab_size", 49408),
      ...encoderSizes(text, { width: 512, layers: 12, heads: 8, intermediate: 2048 }),
    },
    embedDim: top.positiveInteger("projection_dim", 512),
    activation: vision.activation,
    visionOptions: { layerNormEpsilon: vision.layerNormEpsilon },
    textOptions: {
      activation: hiddenActivation(text, "quick_gelu"),
      layerNormEpsilon: text.positiveNumber("layer_norm_eps", 1e-5),
      attentionMask: true,
      pooling: eosTokenId === LEGACY_EOS_TOKEN_ID
        ? { kind: "argmax" }
        : { kind: "eos", tokenId: eosTokenId },
    },
  };
  refuseUnbuildable(shape, source);
  return shape;
}

/**
 * Checks that `shape`, read from the config file `source`, can be built (see
 * {@linkcode validateClipShape}).
 *
 * @throws {ModelError} naming the file and what cannot be built.
 */
export function refuseUnbuildable(shape: ClipShape, source: string): void {
  try {
    validateClipShape(shape);
  } catch (error) {
    if (error instanceof RangeError) {
      throw new ModelError(`${source}: the model cannot be built: ${error.message}`, {
        path: source,
        cause: error,
      });
    }
    throw error;
  }
}

/** The model's stored logit scale (and bias, where there is one). */
export function readLogitParameters(
  weights: CheckpointWeights,
): { logitScale: number; logitBias?: number } {
  const logitScale = weights.read("logit_scale", [], "scalar")[0];
  if (!weights.has("logit_bias")) return { logitScale };
  return { logitScale, logitBias: weights.read("logit_bias", [], "scalar")[0] };
}

/** transformers' `CLIPModel`. */
export const clipArchitecture: Architecture = {
  name: "clip",
  build(config: Record<string, unknown>, checkpoint: Checkpoint, source: string): ConvertedModel {
    const shape = clipShape(config, source);
    const weights = new CheckpointWeights(checkpoint);
    const vision = buildVisionTower(shape, weights);
    const text = buildTextTower(shape, weights);
    const { logitScale } = readLogitParameters(weights);
    return { vision, text, config: { ...config, model_type: "clip" }, logitScale };
  },
};
