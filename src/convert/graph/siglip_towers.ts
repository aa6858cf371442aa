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
import type { Activation } from "./clip_shape.ts";
import { type BlockShape, LayerContext, layerNorm, linear, mlp, selfAttention } from "./layers.ts";
import type { WeightSource } from "./weights.ts";

/** The SigLIP image tower: a ViT without class token, pooled by attention. */
export interface SiglipVisionShape {
  /** Input height and width in pixels. */
  readonly imageSize: number;
  /** Patch height and width in pixels (the patch `Conv`'s kernel and stride). */
  readonly patchSize: number;
  /** Input channels. */
  readonly numChannels: number;
  /** Transformer width (and the size of `image_embeds`). */
  readonly width: number;
  /** Encoder layers. */
  readonly layers: number;
  /** Attention heads (divides `width`), also of the pooling head. */
  readonly heads: number;
  /** Hidden size of each MLP (the pooling head's included). */
  readonly intermediate: number;
  /** MLP activation. */
  readonly activation: Activation;
  /** ε of every LayerNorm. */
  readonly layerNormEps: number;
}

/** The SigLIP text tower: a bidirectional transformer pooled at the last position. */
export interface SiglipTextShape {
  /** Rows of the position embedding table (the longest input). */
  readonly contextLength: number;
  /** Rows of the token embedding table. */
  readonly vocabSize: number;
  /** Transformer width. */
  readonly width: number;
  /** Encoder layers. */
  readonly layers: number;
  /** Attention heads (divides `width`). */
  readonly heads: number;
  /** Hidden size of each MLP. */
  readonly intermediate: number;
  /** MLP activation. */
  readonly activation: Activation;
  /** ε of every LayerNorm. */
  readonly layerNormEps: number;
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

/**
 * The graph names of the pooling head's q, k and v projections, in the order
 * `nn.MultiheadAttention` stacks them in `in_proj_weight` / `in_proj_bias`.
 */
export const POOLING_PROJECTIONS: readonly string[] = [
  "vision_model.head.attention.q_proj",
  "vision_model.head.attention.k_proj",
  "vision_model.head.attention.v_proj",
];

/** The block sizes of a tower. */
function blockShape(tower: SiglipVisionShape | SiglipTextShape): BlockShape {
  const { width, heads, intermediate, activation } = tower;
  return { width, heads, intermediate, activation };
}

/**
 * `count` pre-LayerNorm encoder layers named `<prefix>.layers.<i>` (CLIP's parameter names), with
 * LayerNorms of ε `epsilon` and no attention mask.
 */
function encoder(
  ctx: LayerContext,
  prefix: string,
  input: string,
  shape: BlockShape,
  count: number,
  epsilon: number,
): string {
  const g = ctx.graph;
  let hidden = input;
  for (let i = 0; i < count; i++) {
    const name = `${prefix}.layers.${i}`;
    const normed1 = layerNorm(ctx, `${name}.layer_norm1`, hidden, shape.width, epsilon);
    hidden = g.op("Add", [hidden, selfAttention(ctx, `${name}.self_attn`, normed1, shape)]);
    const normed2 = layerNorm(ctx, `${name}.layer_norm2`, hidden, shape.width, epsilon);
    hidden = g.op("Add", [hidden, mlp(ctx, `${name}.mlp`, normed2, shape)]);
  }
  return hidden;
}

/**
 * The multi-head attention pooling head over `[batch, patches, width]`: the probe `[1, 1, width]`
 * attends over the patches (`softmax(q·kᵀ/√d)·v`, heads merged, `out_proj`), then
 * `x + mlp(layernorm(x))`; returns the single pooled row, `[batch, width]`.
 */
function attentionPool(
  ctx: LayerContext,
  name: string,
  input: string,
  shape: BlockShape,
  epsilon: number,
): string {
  const g = ctx.graph;
  const { width, heads } = shape;
  const headDim = width / heads;
  const split = ctx.int64([0, 0, heads, headDim]);
  const heads4d = (value: string, perm: number[]) =>
    g.op("Transpose", [g.op("Reshape", [value, split])], { perm });
  const [qName, kName, vName] = POOLING_PROJECTIONS;
  const probe = ctx.weight(`${name}.probe`, [1, 1, width], "embedding");
  const query = g.op("Mul", [
    linear(ctx, qName, probe, width, width),
    ctx.float(1 / Math.sqrt(headDim)),
  ]);
  const queries = heads4d(query, [0, 2, 1, 3]); // [1, H, 1, D]: broadcast over the batch
  const keys = heads4d(linear(ctx, kName, input, width, width), [0, 2, 3, 1]); // [B, H, D, S]
  const values = heads4d(linear(ctx, vName, input, width, width), [0, 2, 1, 3]); // [B, H, S, D]
  const weights = g.op("Softmax", [g.op("MatMul", [queries, keys])], { axis: -1 }); // [B, H, 1, S]
  const context = g.op("Transpose", [g.op("MatMul", [weights, values])], { perm: [0, 2, 1, 3] });
  const merged = g.op("Reshape", [context, ctx.int64([0, 0, width])]); // [B, 1, width]
  const attended = linear(ctx, `${name}.attention.out_proj`, merged, width, width);
  const normed = layerNorm(ctx, `${name}.layernorm`, attended, width, epsilon);
  const pooled = g.op("Add", [attended, mlp(ctx, `${name}.mlp`, normed, shape)]);
  return g.op("Gather", [pooled, ctx.int64([0], true)], { axis: 1 }); // [B, width]
}

/** Builds the SigLIP image tower of `shape` with weights from `weights`. */
export function buildSiglipVisionTower(shape: SiglipShape, weights: WeightSource): GraphBuilder {
  const vision = shape.vision;
  const { patchSize, numChannels, width, layerNormEps } = vision;
  const graph = new GraphBuilder("vision_model");
  const ctx = new LayerContext(graph, weights);
  const pixels = graph.input("pixel_values", "float32", [
    "batch_size",
    "num_channels",
    "height",
    "width",
  ]);
  const kernel = ctx.weight(
    "vision_model.embeddings.patch_embedding.weight",
    [width, numChannels, patchSize, patchSize],
    "patch_kernel",
  );
  const kernelBias = ctx.weight("vision_model.embeddings.patch_embedding.bias", [width], "bias");
  const grid = graph.op("Conv", [pixels, kernel, kernelBias], {
    kernel_shape: [patchSize, patchSize],
    strides: [patchSize, patchSize],
  }); // [B, width, g, g]
  const tokens = graph.op("Transpose", [graph.op("Reshape", [grid, ctx.int64([0, width, -1])])], {
    perm: [0, 2, 1],
  }); // [B, patches, width]
  const patches = Math.floor(vision.imageSize / patchSize) ** 2;
  const positions = ctx.weight(
    "vision_model.embeddings.position_embedding.weight",
    [patches, width],
    "embedding",
  );
  const block = blockShape(vision);
  const hidden = encoder(
    ctx,
    "vision_model.encoder",
    graph.op("Add", [tokens, positions]),
    block,
    vision.layers,
    layerNormEps,
  );
  const normed = layerNorm(ctx, "vision_model.post_layernorm", hidden, width, layerNormEps);
  const pooled = attentionPool(ctx, "vision_model.head", normed, block, layerNormEps);
  graph.node("Identity", [pooled], ["image_embeds"]);
  graph.output("image_embeds", "float32", ["batch_size", width]);
  return graph;
}

/** Builds the SigLIP text tower of `shape` with weights from `weights`. */
export function buildSiglipTextTower(shape: SiglipShape, weights: WeightSource): GraphBuilder {
  const text = shape.text;
  const { contextLength, vocabSize, width, layerNormEps } = text;
  const graph = new GraphBuilder("text_model");
  const ctx = new LayerContext(graph, weights);
  const ids = graph.input("input_ids", "int64", ["batch_size", "sequence_length"]);
  const table = ctx.weight(
    "text_model.embeddings.token_embedding.weight",
    [vocabSize, width],
    "embedding",
  );
  const tokens = graph.op("Gather", [table, ids], { axis: 0 }); // [B, S, width]
  const length = graph.op("Shape", [ids], { start: 1, end: 2 }); // [S]
  const positionTable = ctx.weight(
    "text_model.embeddings.position_embedding.weight",
    [contextLength, width],
    "embedding",
  );
  const zero = ctx.int64([0]);
  const positions = graph.op("Slice", [positionTable, zero, length, zero]);
  const hidden = encoder(
    ctx,
    "text_model.encoder",
    graph.op("Add", [tokens, positions]),
    blockShape(text),
    text.layers,
    layerNormEps,
  );
  const normed = layerNorm(ctx, "text_model.final_layer_norm", hidden, width, layerNormEps);
  // Pool the last position (SigLIP's tokenizer ends every sequence with </s>, padding included).
  const last = graph.op("Gather", [normed, ctx.int64([-1], true)], { axis: 1 }); // [B, width]
  const embeds = linear(ctx, "text_model.head", last, width, text.projection);
  graph.node("Identity", [embeds], ["text_embeds"]);
  graph.output("text_embeds", "float32", ["batch_size", text.projection]);
  return graph;
}
