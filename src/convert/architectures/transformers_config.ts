/**
 * What the config files of transformers' CLIP-family models (`CLIPConfig`, `ChineseCLIPConfig`,
 * `SiglipConfig`) spell alike, read through {@linkcode ConfigOptions}: a tower's encoder sizes
 * (`hidden_size`, `num_hidden_layers`, `num_attention_heads`, `intermediate_size`), its
 * `hidden_act`, and the `CLIPVisionConfig` section that CLIP and Chinese-CLIP share.
 *
 * @module
 */

import type { Activation, EncoderShape, VisionShape } from "../graph/clip_shape.ts";
import type { ConfigOptions } from "./config_options.ts";

/**
 * transformers' `hidden_act` names the graph builders compute, and what each is (`gelu_new` is
 * transformers' own spelling of the same tanh approximation as `gelu_pytorch_tanh`).
 */
const HIDDEN_ACTS: Readonly<Record<string, Activation>> = {
  quick_gelu: "quick_gelu",
  gelu: "gelu",
  gelu_pytorch_tanh: "gelu_pytorch_tanh",
  gelu_new: "gelu_pytorch_tanh",
};

/** Every `hidden_act` name the graph builders compute. */
export const HIDDEN_ACT_NAMES: readonly string[] = Object.keys(HIDDEN_ACTS);

/**
 * The tower's `hidden_act` (`fallback` when absent) as the activation the graph computes.
 *
 * @param supported The names accepted (default: every one in {@linkcode HIDDEN_ACT_NAMES}).
 * @throws {ModelError} naming the option for any other name.
 */
export function hiddenActivation(
  config: ConfigOptions,
  fallback: string,
  supported: readonly string[] = HIDDEN_ACT_NAMES,
): Activation {
  return HIDDEN_ACTS[config.oneOf("hidden_act", fallback, supported)];
}

/**
 * A tower's encoder sizes: `hidden_size`, `num_hidden_layers`, `num_attention_heads`,
 * `intermediate_size`, each `defaults`' when absent.
 *
 * @throws {ModelError} naming the option that is not a positive integer.
 */
export function encoderSizes(config: ConfigOptions, defaults: EncoderShape): EncoderShape {
  return {
    width: config.positiveInteger("hidden_size", defaults.width),
    layers: config.positiveInteger("num_hidden_layers", defaults.layers),
    heads: config.positiveInteger("num_attention_heads", defaults.heads),
    intermediate: config.positiveInteger("intermediate_size", defaults.intermediate),
  };
}

/** A `CLIPVisionConfig` section, read. */
export interface ClipVisionConfig {
  /** The ViT's sizes. */
  readonly shape: VisionShape;
  /** Its MLP activation (`hidden_act`). */
  readonly activation: Activation;
  /** Its LayerNorms' ε (`layer_norm_eps`). */
  readonly layerNormEpsilon: number;
}

/**
 * Reads a `CLIPVisionConfig` section (CLIP's and Chinese-CLIP's vision tower) with
 * transformers' defaults; `num_channels` must be 3.
 *
 * @param activations The `hidden_act` names accepted (default: every one).
 * @throws {ModelError} naming the option for a wrong or unsupported value.
 */
export function readClipVisionConfig(
  vision: ConfigOptions,
  activations: readonly string[] = HIDDEN_ACT_NAMES,
): ClipVisionConfig {
  const channels = vision.positiveInteger("num_channels", 3);
  if (channels !== 3) {
    throw vision.error("num_channels", `${channels} is not supported: images are RGB (3 channels)`);
  }
  return {
    shape: {
      imageSize: vision.positiveInteger("image_size", 224),
      patchSize: vision.positiveInteger("patch_size", 32),
      ...encoderSizes(vision, { width: 768, layers: 12, heads: 12, intermediate: 3072 }),
    },
    activation: hiddenActivation(vision, "quick_gelu", activations),
    layerNormEpsilon: vision.positiveNumber("layer_norm_eps", 1e-5),
  };
}
