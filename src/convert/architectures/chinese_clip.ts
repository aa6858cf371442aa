/**
 * transformers' `ChineseCLIPModel` (`model_type` `chinese_clip`): a CLIP vision tower
 * (`vision_model.` + `visual_projection`) and a BERT text tower (`text_model.` +
 * `text_projection`) pooled at [CLS], as `get_image_features` / `get_text_features` of
 * transformers 4.40 compute them. The config is read with transformers' defaults
 * (`ChineseCLIPConfig`, `ChineseCLIPTextConfig`, `ChineseCLIPVisionConfig`); every option that
 * would change the numbers is honoured (both towers' `hidden_act` and `layer_norm_eps`) or refused
 * by name.
 *
 * @module
 */

import type { Checkpoint } from "../../checkpoint/checkpoint.ts";
import type { Architecture, ConvertedModel } from "../architecture.ts";
import { type BertTextShape, buildBertTextTower } from "../graph/bert_text_tower.ts";
import { CheckpointWeights } from "../graph/checkpoint_weights.ts";
import type { ClipShape } from "../graph/clip_shape.ts";
import { buildVisionTower } from "../graph/clip_towers.ts";
import { readLogitParameters } from "./clip.ts";
import { ConfigOptions } from "./config_options.ts";
import { encoderSizes, hiddenActivation, readClipVisionConfig } from "./transformers_config.ts";

/** The `hidden_act` names clipbench converts for either tower of a Chinese-CLIP model. */
const ACTIVATIONS: readonly string[] = ["gelu", "quick_gelu"];

/** The sizes and options of a Chinese-CLIP model, read from its config. */
export interface ChineseClipShape {
  /** The vision tower, in the CLIP builder's terms (its `text` part mirrors the BERT sizes). */
  readonly clip: ClipShape;
  /** The BERT text tower and its projection. */
  readonly text: BertTextShape;
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
  const top = new ConfigOptions(config, "", source);
  top.oneOf("model_type", "chinese_clip", ["chinese_clip"]);
  const text = top.section(top.has("text_config_dict") ? "text_config_dict" : "text_config");
  const vision = top.section(
    top.has("vision_config_dict") ? "vision_config_dict" : "vision_config",
  );
  const embedDim = top.positiveInteger("projection_dim", 512);

  text.oneOf("position_embedding_type", "absolute", ["absolute"]);
  text.refuseIfSet("is_decoder", "the text tower is built as an encoder");
  text.refuseIfSet("add_cross_attention", "cross-attention is not built");
  text.refuseIfSet("pruned_heads", "pruned attention heads are not built");
  const textShape: BertTextShape = {
    vocabSize: text.positiveInteger("vocab_size", 30522),
    maxPositions: text.positiveInteger("max_position_embeddings", 512),
    typeVocabSize: text.positiveInteger("type_vocab_size", 2),
    ...encoderSizes(text, { width: 768, layers: 12, heads: 12, intermediate: 3072 }),
    activation: hiddenActivation(text, "gelu", ACTIVATIONS),
    layerNormEps: text.positiveNumber("layer_norm_eps", 1e-12),
    embedDim,
  };
  text.requireDivides("num_attention_heads", textShape.heads, "hidden_size", textShape.width);

  vision.refuseIfSet("pruned_heads", "pruned attention heads are not built");
  const visionConfig = readClipVisionConfig(vision, ACTIVATIONS);
  const { width, heads, imageSize, patchSize } = visionConfig.shape;
  vision.requireDivides("num_attention_heads", heads, "hidden_size", width);
  vision.requireDivides("patch_size", patchSize, "image_size", imageSize);
  const clip: ClipShape = {
    vision: visionConfig.shape,
    text: {
      contextLength: textShape.maxPositions,
      vocabSize: textShape.vocabSize,
      width: textShape.width,
      layers: textShape.layers,
      heads: textShape.heads,
      intermediate: textShape.intermediate,
    },
    embedDim,
    activation: visionConfig.activation,
    visionOptions: { layerNormEpsilon: visionConfig.layerNormEpsilon },
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
  const { logitScale } = readLogitParameters(weights);
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
