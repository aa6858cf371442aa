/**
 * transformers' `ChineseCLIPModel` (`model_type` `chinese_clip`): a CLIP vision tower
 * (`vision_model.` + `visual_projection`) and a BERT text tower (`text_model.` +
 * `text_projection`) pooled at [CLS], as `get_image_features` / `get_text_features` of
 * transformers 4.40 compute them. The config is read with transformers' defaults
 * (`ChineseCLIPConfig`, `ChineseCLIPTextConfig`, `ChineseCLIPVisionConfig`); every option that
 * would change the numbers is honoured or refused by name.
 *
 * @module
 */

import type { Checkpoint } from "../../checkpoint/checkpoint.ts";
import { ModelError } from "../../errors.ts";
import type { Architecture, ConvertedModel } from "../architecture.ts";
import { type BertTextShape, buildBertTextTower } from "../graph/bert_text_tower.ts";
import { CheckpointWeights } from "../graph/checkpoint_weights.ts";
import type { Activation, ClipShape } from "../graph/clip_shape.ts";
import { buildVisionTower } from "../graph/clip_towers.ts";

/** Activations both towers can be built with (transformers' `hidden_act` names). */
const ACTIVATIONS: readonly Activation[] = ["gelu", "quick_gelu"];

/** The LayerNorm ε the CLIP vision tower builder uses. */
const VISION_LAYER_NORM_EPS = 1e-5;

/** The sizes and options of a Chinese-CLIP model, read from its config. */
export interface ChineseClipShape {
  /** The vision tower, in the CLIP builder's terms (its `text` part mirrors the BERT sizes). */
  readonly clip: ClipShape;
  /** The BERT text tower and its projection. */
  readonly text: BertTextShape;
}

/** A config section with its path in the file, for messages. */
class ConfigSection {
  readonly #values: Record<string, unknown>;
  readonly #where: string;
  readonly #source: string;

  constructor(values: Record<string, unknown>, where: string, source: string) {
    this.#values = values;
    this.#where = where;
    this.#source = source;
  }

  /** A refusal naming the option (`text_config.hidden_act`) and the config file. */
  error(key: string, problem: string): ModelError {
    return new ModelError(`${this.#source}: ${this.#where}${key} ${problem}`, {
      path: this.#source,
    });
  }

  /** A positive integer option, or `fallback` when absent. */
  positiveInteger(key: string, fallback: number): number {
    const value = this.#values[key] ?? fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
      throw this.error(key, `must be a positive integer, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  /** A positive number option, or `fallback` when absent. */
  positiveNumber(key: string, fallback: number): number {
    const value = this.#values[key] ?? fallback;
    if (typeof value !== "number" || !(value > 0)) {
      throw this.error(key, `must be a positive number, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  /** A string option that must be one of `allowed`, or `fallback` when absent. */
  oneOf<T extends string>(key: string, fallback: T, allowed: readonly T[]): T {
    const value = this.#values[key] ?? fallback;
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
      throw this.error(
        key,
        `${JSON.stringify(value)} is not supported (supported: ${allowed.join(", ")})`,
      );
    }
    return value as T;
  }

  /** Refuses `key` unless it is absent or equals `expected` (options that change the graph). */
  only(key: string, expected: unknown): void {
    const value = this.#values[key];
    if (value === undefined || value === null) return;
    if (JSON.stringify(value) !== JSON.stringify(expected)) {
      throw this.error(
        key,
        `${JSON.stringify(value)} is not supported (only ${JSON.stringify(expected)})`,
      );
    }
  }

  /** Refuses `key` when it is present and non-empty (`pruned_heads`). */
  empty(key: string): void {
    const value = this.#values[key];
    if (value === undefined || value === null) return;
    if (typeof value === "object" && Object.keys(value).length === 0) return;
    throw this.error(key, `${JSON.stringify(value)} is not supported (must be empty)`);
  }
}

/** `config[key]` as a JSON object (absent → `{}`), refusing anything else by name. */
function subConfig(
  config: Record<string, unknown>,
  key: string,
  source: string,
): Record<string, unknown> {
  const value = config[key];
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ModelError(`${source}: ${key} must be a JSON object`, { path: source });
  }
  return value as Record<string, unknown>;
}

/**
 * Reads a `ChineseCLIPConfig` (transformers' defaults for absent keys, the legacy
 * `text_config_dict` / `vision_config_dict` taking precedence as transformers does).
 *
 * @param source The config file's path, for messages.
 * @throws {ModelError} naming the file and the option for a value that is not supported.
 */
export function readChineseClipShape(
  config: Record<string, unknown>,
  source: string,
): ChineseClipShape {
  if (config.model_type !== "chinese_clip") {
    throw new ModelError(
      `${source}: model_type ${JSON.stringify(config.model_type)} is not chinese_clip`,
      { path: source },
    );
  }
  const textKey = config.text_config_dict != null ? "text_config_dict" : "text_config";
  const visionKey = config.vision_config_dict != null ? "vision_config_dict" : "vision_config";
  const top = new ConfigSection(config, "", source);
  const text = new ConfigSection(subConfig(config, textKey, source), `${textKey}.`, source);
  const vision = new ConfigSection(subConfig(config, visionKey, source), `${visionKey}.`, source);
  const embedDim = top.positiveInteger("projection_dim", 512);

  text.only("position_embedding_type", "absolute");
  text.only("is_decoder", false);
  text.only("add_cross_attention", false);
  text.empty("pruned_heads");
  const textShape: BertTextShape = {
    vocabSize: text.positiveInteger("vocab_size", 30522),
    maxPositions: text.positiveInteger("max_position_embeddings", 512),
    typeVocabSize: text.positiveInteger("type_vocab_size", 2),
    width: text.positiveInteger("hidden_size", 768),
    layers: text.positiveInteger("num_hidden_layers", 12),
    heads: text.positiveInteger("num_attention_heads", 12),
    intermediate: text.positiveInteger("intermediate_size", 3072),
    activation: text.oneOf("hidden_act", "gelu", ACTIVATIONS),
    layerNormEps: text.positiveNumber("layer_norm_eps", 1e-12),
    embedDim,
  };
  if (textShape.width % textShape.heads !== 0) {
    throw text.error(
      "num_attention_heads",
      `(${textShape.heads}) must divide hidden_size (${textShape.width})`,
    );
  }

  vision.only("num_channels", 3);
  vision.only("layer_norm_eps", VISION_LAYER_NORM_EPS);
  vision.empty("pruned_heads");
  const visionShape = {
    imageSize: vision.positiveInteger("image_size", 224),
    patchSize: vision.positiveInteger("patch_size", 32),
    width: vision.positiveInteger("hidden_size", 768),
    layers: vision.positiveInteger("num_hidden_layers", 12),
    heads: vision.positiveInteger("num_attention_heads", 12),
    intermediate: vision.positiveInteger("intermediate_size", 3072),
  };
  const visionActivation = vision.oneOf("hidden_act", "quick_gelu", ACTIVATIONS);
  if (visionShape.width % visionShape.heads !== 0) {
    throw vision.error(
      "num_attention_heads",
      `(${visionShape.heads}) must divide hidden_size (${visionShape.width})`,
    );
  }
  if (visionShape.imageSize % visionShape.patchSize !== 0) {
    throw vision.error(
      "patch_size",
      `(${visionShape.patchSize}) must divide image_size (${visionShape.imageSize})`,
    );
  }
  const clip: ClipShape = {
    vision: visionShape,
    text: {
      contextLength: textShape.maxPositions,
      vocabSize: textShape.vocabSize,
      width: textShape.width,
      layers: textShape.layers,
      heads: textShape.heads,
      intermediate: textShape.intermediate,
    },
    embedDim,
    activation: visionActivation,
  };
  return { clip, text: textShape };
}

/** Builds both towers of a Chinese-CLIP checkpoint. */
function buildChineseClip(
  config: Record<string, unknown>,
  checkpoint: Checkpoint,
  source: string,
): ConvertedModel {
  const shape = readChineseClipShape(config, source);
  const weights = new CheckpointWeights(checkpoint);
  const logitScale = weights.read("logit_scale", [], "scalar")[0];
  return {
    vision: buildVisionTower(shape.clip, weights),
    text: buildBertTextTower(shape.text, weights),
    config,
    logitScale,
  };
}

/** transformers' `ChineseCLIPModel`. */
export const chineseClipArchitecture: Architecture = {
  name: "chinese_clip",
  build: buildChineseClip,
};
