/**
 * What converting one checkpoint architecture produces, and the shape every architecture module
 * (src/convert/architectures/) has: from the checkpoint's config and tensors, the two towers as
 * ONNX graphs with the transformers.js inputs and outputs, and the config files of the converted
 * model folder.
 *
 * @module
 */

import type { Checkpoint } from "../checkpoint/checkpoint.ts";
import type { GraphBuilder } from "../onnx/builder.ts";

/** The converted model, before it is written. */
export interface ConvertedModel {
  /**
   * `pixel_values` float32 `[batch_size, num_channels, height, width]` → `image_embeds` float32
   * `[batch_size, D]`, unnormalised (= `get_image_features`).
   */
  readonly vision: GraphBuilder;
  /**
   * `input_ids` int64 `[batch_size, sequence_length]`, plus `attention_mask` / `token_type_ids`
   * where the family uses them → `text_embeds` float32 `[batch_size, D]` (= `get_text_features`).
   */
  readonly text: GraphBuilder;
  /** `config.json` of the converted folder (transformers' layout; `model_type` as loaded). */
  readonly config: Record<string, unknown>;
  /** `preprocessor_config.json`, when the checkpoint folder has none (open_clip). */
  readonly preprocessorConfig?: Record<string, unknown>;
  /** The model's logit scale, as stored (before `exp`). */
  readonly logitScale: number;
  /** The model's logit bias (SigLIP), if any. */
  readonly logitBias?: number;
}

/** One checkpoint architecture. */
export interface Architecture {
  /** Its name: the `model_type` of transformers' config, or `open_clip`. */
  readonly name: string;
  /**
   * Builds the towers from the parsed config file and the checkpoint.
   *
   * @param config The parsed `config.json` (or `open_clip_config.json`).
   * @param source The config file's path, for messages.
   * @throws {CheckpointError} for a missing or mis-shaped tensor, naming it.
   * @throws {ModelError} for an unsupported option, naming it and the config file.
   */
  build(config: Record<string, unknown>, checkpoint: Checkpoint, source: string): ConvertedModel;
}
