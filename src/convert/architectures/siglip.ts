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
import { ModelError } from "../../errors.ts";
import type { Architecture, ConvertedModel } from "../architecture.ts";
import { CheckpointWeights, type WeightResolver } from "../graph/checkpoint_weights.ts";
import type { Activation } from "../graph/clip_shape.ts";
import {
  buildSiglipTextTower,
  buildSiglipVisionTower,
  POOLING_PROJECTIONS,
  type SiglipShape,
} from "../graph/siglip_towers.ts";

/**
 * `hidden_act` values and the activation each computes (`gelu_new` is transformers' own spelling
 * of the same tanh approximation as `gelu_pytorch_tanh`).
 */
const ACTIVATIONS: ReadonlyMap<string, Activation> = new Map<string, Activation>([
  ["gelu_pytorch_tanh", "gelu_pytorch_tanh"],
  ["gelu_new", "gelu_pytorch_tanh"],
  ["gelu", "gelu"],
  ["quick_gelu", "quick_gelu"],
]);

/** Reads one section of the config (`text_config`, `vision_config`) with transformers' defaults. */
class ConfigSection {
  readonly #values: Record<string, unknown>;
  readonly #prefix: string;
  readonly #source: string;

  constructor(values: Record<string, unknown>, prefix: string, source: string) {
    this.#values = values;
    this.#prefix = prefix;
    this.#source = source;
  }

  /** A refusal naming the option `key` of this section and the config file. */
  error(key: string, problem: string): ModelError {
    return new ModelError(`${this.#source}: ${this.#prefix}${key} ${problem}`, {
      path: this.#source,
    });
  }

  /** The value of `key`, or `fallback` when it is absent or null. */
  #value(key: string, fallback: unknown): unknown {
    const value = this.#values[key];
    return value === undefined || value === null ? fallback : value;
  }

  /** A positive integer option. */
  positiveInteger(key: string, fallback: number): number {
    const value = this.#value(key, fallback);
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
      throw this.error(key, `must be a positive integer, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  /** A positive number option. */
  positiveNumber(key: string, fallback: number): number {
    const value = this.#value(key, fallback);
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw this.error(key, `must be a positive number, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  /** The MLP activation named by `hidden_act`. */
  activation(fallback: string): Activation {
    const value = this.#value("hidden_act", fallback);
    const activation = typeof value === "string" ? ACTIVATIONS.get(value) : undefined;
    if (activation === undefined) {
      throw this.error(
        "hidden_act",
        `${JSON.stringify(value)} is not supported (clipbench converts ${
          [...ACTIVATIONS.keys()].join(", ")
        })`,
      );
    }
    return activation;
  }

  /** A boolean option. */
  boolean(key: string, fallback: boolean): boolean {
    const value = this.#value(key, fallback);
    if (typeof value !== "boolean") {
      throw this.error(key, `must be true or false, got ${JSON.stringify(value)}`);
    }
    return value;
  }
}

/** The sub-config `key` of `config` (absent or null: every default), as transformers takes it. */
function section(config: Record<string, unknown>, key: string, source: string): ConfigSection {
  const value = config[key] ?? {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ModelError(`${source}: ${key} must be a JSON object`, { path: source });
  }
  return new ConfigSection(value as Record<string, unknown>, `${key}.`, source);
}

/**
 * The sizes of the SigLIP model that `config` (a `SiglipConfig` as `config.json` stores it)
 * describes, with transformers v4.40's defaults for absent keys.
 *
 * @param source The config file's path, for messages.
 * @throws {ModelError} naming the config file and the option that is invalid or unsupported.
 */
export function siglipShape(config: Record<string, unknown>, source: string): SiglipShape {
  if (config.model_type !== undefined && config.model_type !== "siglip") {
    throw new ModelError(
      `${source}: model_type ${JSON.stringify(config.model_type)} is not siglip`,
      { path: source },
    );
  }
  const text = section(config, "text_config", source);
  const vision = section(config, "vision_config", source);
  const textWidth = text.positiveInteger("hidden_size", 768);
  const textShape = {
    vocabSize: text.positiveInteger("vocab_size", 32000),
    contextLength: text.positiveInteger("max_position_embeddings", 64),
    width: textWidth,
    intermediate: text.positiveInteger("intermediate_size", 3072),
    layers: text.positiveInteger("num_hidden_layers", 12),
    heads: text.positiveInteger("num_attention_heads", 12),
    activation: text.activation("gelu_pytorch_tanh"),
    layerNormEps: text.positiveNumber("layer_norm_eps", 1e-6),
    // Later transformers versions size the text head by `projection_size` (default: hidden_size).
    projection: text.positiveInteger("projection_size", textWidth),
  };
  const visionShape = {
    imageSize: vision.positiveInteger("image_size", 224),
    patchSize: vision.positiveInteger("patch_size", 16),
    numChannels: vision.positiveInteger("num_channels", 3),
    width: vision.positiveInteger("hidden_size", 768),
    intermediate: vision.positiveInteger("intermediate_size", 3072),
    layers: vision.positiveInteger("num_hidden_layers", 12),
    heads: vision.positiveInteger("num_attention_heads", 12),
    activation: vision.activation("gelu_pytorch_tanh"),
    layerNormEps: vision.positiveNumber("layer_norm_eps", 1e-6),
  };
  if (!vision.boolean("vision_use_head", true)) {
    throw vision.error(
      "vision_use_head",
      "is false: without the attention-pooling head the model has no image features to convert",
    );
  }
  for (const [tower, shape] of [[text, textShape], [vision, visionShape]] as const) {
    if (shape.width % shape.heads !== 0) {
      throw tower.error(
        "num_attention_heads",
        `(${shape.heads}) must divide hidden_size (${shape.width})`,
      );
    }
  }
  if (visionShape.patchSize > visionShape.imageSize) {
    throw vision.error(
      "patch_size",
      `(${visionShape.patchSize}) must not exceed image_size (${visionShape.imageSize})`,
    );
  }
  if (textShape.projection !== visionShape.width) {
    throw text.error(
      textShape.projection === textWidth ? "hidden_size" : "projection_size",
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
