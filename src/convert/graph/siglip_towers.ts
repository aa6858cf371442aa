/**
 * The two SigLIP towers (transformers' `SiglipModel`) as ONNX graphs, with the inputs and outputs
 * of the transformers.js exports and weights named as transformers names them:
 *
 * - vision: `pixel_values` `[batch_size, num_channels, height, width]` → patch `Conv` (kernel =
 *   stride = patch size, with bias) → position embeddings (no class token) → encoder →
 *   `post_layernorm` → the multi-head attention pooling head (`vision_model.head`: a learned
 *   probe attends over the patches, then a LayerNorm'd MLP with a residual) → `image_embeds`
 *   `[batch_size, hidden]` (= `get_image_features`, no further projection);
 * - text: `input_ids` `[batch_size, sequence_length]` (int64, no attention mask: SigLIP pads to the
 *   full length and attends everywhere) → token + position embeddings → encoder without a causal
 *   mask → `final_layer_norm` → the LAST position → `text_model.head` linear → `text_embeds`
 *   `[batch_size, projection]`.
 *
 * The pooling head's attention is a PyTorch `nn.MultiheadAttention`, whose q, k and v projections
 * are stored fused (`in_proj_weight` / `in_proj_bias`); the graph asks for them as
 * `vision_model.head.attention.{q,k,v}_proj.{weight,bias}` (see {@linkcode POOLING_PROJECTIONS}),
 * which a checkpoint's weight resolver maps to rows of the fused tensors.
 *
 * @module
 */

import { GraphBuilder } from "../../onnx/builder.ts";
import type { TextShape, TowerNumerics, VisionShape } from "./clip_shape.ts";
import { patchEmbedding, tokenEmbeddings } from "./embeddings.ts";
import {
  attention,
  type BlockShape,
  LayerContext,
  layerNorm,
  linear,
  mlp,
  transformer,
} from "./layers.ts";
import { embeddingsOutput, pixelValuesInput, textInput } from "./tower_io.ts";
import type { WeightSource } from "./weights.ts";

/**
 * The SigLIP image tower: a ViT without class token, pooled by attention (`heads` and
 * `intermediate` also size the pooling head; `width` is the size of `image_embeds`).
 */
export interface SiglipVisionShape extends VisionShape, TowerNumerics {
  /** Input channels. */
  readonly numChannels: number;
}

/** The SigLIP text tower: a bidirectional transformer pooled at the last position. */
export interface SiglipTextShape extends TextShape, TowerNumerics {
  /** Output size of the `head` linear (the size of `text_embeds`). */
  readonly projection: number;
}

/** Every size of a SigLIP model. */
export interface SiglipShape {
  /** The image tower. */
  readonly vision: SiglipVisionShape;
  /** The text tower. */
  readonly text: SiglipTextShape;
}

/** Where the pooling head's attention is named in the graph. */
const POOLING_ATTENTION = "vision_model.head.attention";

/**
 * The graph names of the pooling head's q, k and v projections, in the order
 * `nn.MultiheadAttention` stacks them in `in_proj_weight` / `in_proj_bias`.
 */
export const POOLING_PROJECTIONS: readonly string[] = ["q_proj", "k_proj", "v_proj"].map(
  (projection) => `${POOLING_ATTENTION}.${projection}`,
);

/** The block sizes of a tower. */
function blockShape(tower: SiglipVisionShape | SiglipTextShape): BlockShape {
  const { width, heads, intermediate, activation } = tower;
  return { width, heads, intermediate, activation };
}

/**
 * The multi-head attention pooling head over `[batch, patches, width]`: the probe `[1, 1, width]`
 * attends over the patches (see {@linkcode attention}; the probe's one query is broadcast over the
 * batch), then `x + mlp(layernorm(x))`; returns the single pooled row, `[batch, width]`.
 */
function attentionPool(
  ctx: LayerContext,
  input: string,
  shape: BlockShape,
  epsilon: number,
): string {
  const g = ctx.graph;
  const name = "vision_model.head";
  const probe = ctx.weight(`${name}.probe`, [1, 1, shape.width], "embedding");
  const attended = attention(ctx, POOLING_ATTENTION, probe, input, shape); // [B, 1, width]
  const normed = layerNorm(ctx, `${name}.layernorm`, attended, shape.width, epsilon);
  const pooled = g.op("Add", [attended, mlp(ctx, `${name}.mlp`, normed, shape)]);
  return g.op("Gather", [pooled, ctx.int64([0], true)], { axis: 1 }); // [B, width]
}

/** Builds the SigLIP image tower of `shape` with weights from `weights`. */
export function buildSiglipVisionTower(shape: SiglipShape, weights: WeightSource): GraphBuilder {
  const vision = shape.vision;
  const { patchSize, numChannels, width, layerNormEps } = vision;
  const graph = new GraphBuilder("vision_model");
  const ctx = new LayerContext(graph, weights);
  const pixels = pixelValuesInput(graph);
  const tokens = patchEmbedding(ctx, "vision_model.embeddings.patch_embedding", pixels, {
    patchSize,
    channels: numChannels,
    width,
    bias: true,
  }); // [B, patches, width]
  const patches = Math.floor(vision.imageSize / patchSize) ** 2;
  const positions = ctx.weight(
    "vision_model.embeddings.position_embedding.weight",
    [patches, width],
    "embedding",
  );
  const block = blockShape(vision);
  const hidden = transformer(
    ctx,
    "vision_model.encoder",
    graph.op("Add", [tokens, positions]),
    block,
    vision.layers,
    undefined,
    { layerNormEpsilon: layerNormEps },
  );
  const normed = layerNorm(ctx, "vision_model.post_layernorm", hidden, width, layerNormEps);
  const pooled = attentionPool(ctx, normed, block, layerNormEps);
  embeddingsOutput(graph, pooled, "image_embeds", width);
  return graph;
}

/** Builds the SigLIP text tower of `shape` with weights from `weights`. */
export function buildSiglipTextTower(shape: SiglipShape, weights: WeightSource): GraphBuilder {
  const text = shape.text;
  const { width, layerNormEps } = text;
  const graph = new GraphBuilder("text_model");
  const ctx = new LayerContext(graph, weights);
  const ids = textInput(graph, "input_ids");
  const { embedded } = tokenEmbeddings(ctx, "text_model", ids, text);
  const hidden = transformer(
    ctx,
    "text_model.encoder",
    embedded,
    blockShape(text),
    text.layers,
    undefined,
    { layerNormEpsilon: layerNormEps },
  );
  const normed = layerNorm(ctx, "text_model.final_layer_norm", hidden, width, layerNormEps);
  // Pool the last position (SigLIP's tokenizer ends every sequence with </s>, padding included).
  const last = graph.op("Gather", [normed, ctx.int64([-1], true)], { axis: 1 }); // [B, width]
  const embeds = linear(ctx, "text_model.head", last, width, text.projection);
  embeddingsOutput(graph, embeds, "text_embeds", text.projection);
  return graph;
}
