/**
 * A BERT text tower (Chinese-CLIP's, transformers' `ChineseCLIPTextModel` without its pooler) as
 * an ONNX graph with the inputs and output of the transformers.js export:
 *
 * `input_ids`, `attention_mask`, `token_type_ids` (int64 `[batch_size, sequence_length]`) → word
 * + token-type + absolute position embeddings → `LayerNorm` → post-LayerNorm encoder layers
 * (self-attention with the additive padding mask, residual, `LayerNorm`; feed-forward, residual,
 * `LayerNorm`) → the hidden state of the first token ([CLS]) → the projection (no bias) →
 * `text_embeds` `[batch_size, embed]`.
 *
 * Weights are read by transformers' BERT parameter names under a prefix (`text_model.`):
 * `embeddings.{word,position,token_type}_embeddings.weight`, `embeddings.LayerNorm`,
 * `encoder.layer.N.attention.self.{query,key,value}`, `encoder.layer.N.attention.output.{dense,
 * LayerNorm}`, `encoder.layer.N.intermediate.dense`, `encoder.layer.N.output.{dense,LayerNorm}`.
 *
 * @module
 */

import { GraphBuilder } from "../../onnx/builder.ts";
import type { EncoderShape, TowerNumerics } from "./clip_shape.ts";
import { activate, keyPaddingMask, LayerContext, layerNorm, linear } from "./layers.ts";
import { embeddingsOutput, textInput } from "./tower_io.ts";
import type { WeightSource } from "./weights.ts";

/** The most negative float32: transformers' additive value for a padded key (`finfo.min`). */
const FLOAT32_MIN = -3.4028234663852886e38;

/**
 * The sizes and options of a BERT text tower and its projection (config names: `hidden_size`,
 * `num_hidden_layers`, `num_attention_heads`, `intermediate_size`, `hidden_act`,
 * `layer_norm_eps`).
 */
export interface BertTextShape extends EncoderShape, TowerNumerics {
  /** Rows of the word embedding table (`vocab_size`). */
  readonly vocabSize: number;
  /** Rows of the position embedding table (`max_position_embeddings`). */
  readonly maxPositions: number;
  /** Rows of the token-type embedding table (`type_vocab_size`). */
  readonly typeVocabSize: number;
  /** Output size of the projection (`projection_dim`). */
  readonly embedDim: number;
}

/** Where the tower's weights are named. */
export interface BertTextNames {
  /** Prefix of the BERT parameters (default `text_model`). */
  readonly prefix?: string;
  /** Name of the projection `Linear` (default `text_projection`). */
  readonly projection?: string;
}

/**
 * Builds the BERT text tower of `shape` with weights from `weights`, pooled at the first token
 * and projected.
 *
 * @throws {Error} whatever `weights` throws for a missing or mis-shaped weight.
 */
export function buildBertTextTower(
  shape: BertTextShape,
  weights: WeightSource,
  names: BertTextNames = {},
): GraphBuilder {
  const prefix = names.prefix ?? "text_model";
  const { width, embedDim } = shape;
  const graph = new GraphBuilder("text_model");
  const ctx = new LayerContext(graph, weights);
  const ids = textInput(graph, "input_ids");
  const attentionMask = textInput(graph, "attention_mask");
  const tokenTypes = textInput(graph, "token_type_ids");

  const embedded = bertEmbeddings(ctx, `${prefix}.embeddings`, ids, tokenTypes, shape);
  // transformers' extended attention mask: (1 - mask) · finfo(float32).min.
  const mask = keyPaddingMask(ctx, attentionMask, FLOAT32_MIN);
  let hidden = embedded;
  for (let i = 0; i < shape.layers; i++) {
    hidden = bertLayer(ctx, `${prefix}.encoder.layer.${i}`, hidden, shape, mask);
  }
  const first = graph.op("Gather", [hidden, ctx.int64([0], true)], { axis: 1 }); // [B, width]
  const projection = names.projection ?? "text_projection";
  const embeds = linear(ctx, projection, first, width, embedDim, false);
  embeddingsOutput(graph, embeds, "text_embeds", embedDim);
  return graph;
}

/**
 * `LayerNorm(word[ids] + token_type[types] + position[0..S-1])`, summed in transformers' order.
 */
function bertEmbeddings(
  ctx: LayerContext,
  name: string,
  ids: string,
  tokenTypes: string,
  shape: BertTextShape,
): string {
  const g = ctx.graph;
  const { width } = shape;
  const words = ctx.weight(
    `${name}.word_embeddings.weight`,
    [shape.vocabSize, width],
    "embedding",
  );
  const types = ctx.weight(
    `${name}.token_type_embeddings.weight`,
    [shape.typeVocabSize, width],
    "embedding",
  );
  const positionTable = ctx.weight(
    `${name}.position_embeddings.weight`,
    [shape.maxPositions, width],
    "embedding",
  );
  const length = g.op("Shape", [ids], { start: 1, end: 2 }); // [S]
  const zero = ctx.int64([0]);
  const positions = g.op("Slice", [positionTable, zero, length, zero]); // [S, width]
  const summed = g.op("Add", [
    g.op("Add", [
      g.op("Gather", [words, ids], { axis: 0 }),
      g.op("Gather", [types, tokenTypes], { axis: 0 }),
    ]),
    positions,
  ]);
  return layerNorm(ctx, `${name}.LayerNorm`, summed, width, shape.layerNormEps);
}

/**
 * One post-LayerNorm BERT layer: `h = LN(x + attn(x))`, then `LN(h + out(act(inter(h))))`.
 */
function bertLayer(
  ctx: LayerContext,
  name: string,
  input: string,
  shape: BertTextShape,
  mask: string,
): string {
  const { width, intermediate, layerNormEps } = shape;
  const addAndNorm = (norm: string, branch: string, residual: string) =>
    layerNorm(ctx, norm, ctx.graph.op("Add", [branch, residual]), width, layerNormEps);
  const context = bertSelfAttention(ctx, `${name}.attention.self`, input, shape, mask);
  const attended = linear(ctx, `${name}.attention.output.dense`, context, width, width);
  const afterAttention = addAndNorm(`${name}.attention.output.LayerNorm`, attended, input);
  const inner = activate(
    ctx,
    shape.activation,
    linear(ctx, `${name}.intermediate.dense`, afterAttention, width, intermediate),
  );
  const transformed = linear(ctx, `${name}.output.dense`, inner, intermediate, width);
  return addAndNorm(`${name}.output.LayerNorm`, transformed, afterAttention);
}

/**
 * BERT's self-attention up to the merged heads: `softmax(q·kᵀ / √d + mask)·v` with q, k, v from
 * the `query`, `key`, `value` linears, heads split and merged with `Reshape` + `Transpose`.
 */
function bertSelfAttention(
  ctx: LayerContext,
  name: string,
  input: string,
  shape: BertTextShape,
  mask: string,
): string {
  const g = ctx.graph;
  const { width, heads } = shape;
  const headDim = width / heads;
  const split = ctx.int64([0, 0, heads, headDim]);
  const project = (part: string, perm: number[]) =>
    g.op("Transpose", [
      g.op("Reshape", [linear(ctx, `${name}.${part}`, input, width, width), split]),
    ], { perm });
  const queries = project("query", [0, 2, 1, 3]); // [B, H, S, D]
  const keys = project("key", [0, 2, 3, 1]); // [B, H, D, S]
  const values = project("value", [0, 2, 1, 3]); // [B, H, S, D]
  const scores = g.op("Div", [g.op("MatMul", [queries, keys]), ctx.float(Math.sqrt(headDim))]);
  const probabilities = g.op("Softmax", [g.op("Add", [scores, mask])], { axis: -1 });
  const context = g.op("Transpose", [g.op("MatMul", [probabilities, values])], {
    perm: [0, 2, 1, 3],
  });
  return g.op("Reshape", [context, ctx.int64([0, 0, width])]);
}
