/**
 * The two CLIP towers as ONNX graphs, with the inputs, outputs and dynamic axes of the
 * transformers.js exports (`CLIPVisionModelWithProjection`, `CLIPTextModelWithProjection`):
 *
 * - vision: `pixel_values` `[batch_size, num_channels, height, width]` → patch `Conv` (kernel =
 *   stride = patch size, no bias) → class token + position embeddings → `pre_layrnorm` →
 *   transformer → the class token → `post_layernorm` → `visual_projection` → `image_embeds`
 *   `[batch_size, embed]`;
 * - text: `input_ids` `[batch_size, sequence_length]` (int64) → token + position embeddings →
 *   causal transformer (additive mask sliced to the sequence length) → `final_layer_norm` → the
 *   hidden state at the end token (`ArgMax` of the ids: the end token has the highest id) →
 *   `text_projection` → `text_embeds` `[batch_size, embed]`.
 *
 * A shape's {@linkcode VisionOptions} and {@linkcode TextOptions} change these steps as
 * checkpoints need (LayerNorm ε, layer scale, no `pre_layrnorm`, mean pooling, an
 * `attention_mask` input, bidirectional attention, other pooled positions, a projection bias);
 * without options the graphs are exactly OpenAI CLIP's.
 *
 * @module
 */

import { GraphBuilder } from "../../onnx/builder.ts";
import type { ClipShape, TextOptions, TextPooling, VisionOptions } from "./clip_shape.ts";
import { patchEmbedding, tokenEmbeddings } from "./embeddings.ts";
import { keyPaddingMask, LayerContext, layerNorm, linear, transformer } from "./layers.ts";
import { embeddingsOutput, pixelValuesInput, textInput } from "./tower_io.ts";
import type { WeightSource } from "./weights.ts";

/** Additive mask value for future positions (exp underflows to 0 in the softmax). */
const MASKED = -1e9;

/** Builds the image tower of `shape` with weights from `weights`. */
export function buildVisionTower(shape: ClipShape, weights: WeightSource): GraphBuilder {
  const { imageSize, patchSize, width, layers, heads, intermediate } = shape.vision;
  const options: VisionOptions = shape.visionOptions ?? {};
  const epsilon = options.layerNormEpsilon ?? 1e-5;
  const graph = new GraphBuilder("vision_model");
  const ctx = new LayerContext(graph, weights);
  const pixels = pixelValuesInput(graph);
  const patches = (imageSize / patchSize) ** 2;
  const tokens = patchEmbedding(ctx, "vision_model.embeddings.patch_embedding", pixels, {
    patchSize,
    channels: 3,
    width,
    bias: false,
  }); // [B, patches, width]
  const batch = graph.op("Shape", [pixels], { start: 0, end: 1 });
  const classShape = graph.op("Concat", [batch, ctx.int64([1, width])], { axis: 0 });
  const classEmbedding = ctx.weight(
    "vision_model.embeddings.class_embedding",
    [1, 1, width],
    "embedding",
  );
  const classTokens = graph.op("Expand", [classEmbedding, classShape]);
  const sequence = graph.op("Concat", [classTokens, tokens], { axis: 1 });
  const positions = ctx.weight(
    "vision_model.embeddings.position_embedding.weight",
    [patches + 1, width],
    "embedding",
  );
  const summed = graph.op("Add", [sequence, positions]);
  const embedded = options.preLayerNorm === false
    ? summed
    : layerNorm(ctx, "vision_model.pre_layrnorm", summed, width, epsilon);
  const hidden = transformer(
    ctx,
    "vision_model.encoder",
    embedded,
    { width, heads, intermediate, activation: options.activation ?? shape.activation },
    layers,
    undefined,
    { layerNormEpsilon: epsilon, layerScale: options.layerScale },
  );
  const postNorm = (value: string) =>
    layerNorm(ctx, "vision_model.post_layernorm", value, width, epsilon);
  let pooled: string; // [B, width]
  if (options.pooling === "mean") {
    const patchTokens = graph.op("Slice", [
      hidden,
      ctx.int64([1]),
      ctx.int64([Number.MAX_SAFE_INTEGER]),
      ctx.int64([1]),
    ]);
    const mean = (value: string) => graph.op("ReduceMean", [value], { axes: [1], keepdims: 0 });
    pooled = options.normAfterPooling ? postNorm(mean(patchTokens)) : mean(postNorm(patchTokens));
  } else {
    // The LayerNorm acts on each token alone: normalising before or after pooling is the same.
    pooled = postNorm(graph.op("Gather", [hidden, ctx.int64([0], true)], { axis: 1 }));
  }
  const embeds = linear(ctx, "visual_projection", pooled, width, shape.embedDim, false);
  embeddingsOutput(graph, embeds, "image_embeds", shape.embedDim);
  return graph;
}

/** Builds the text tower of `shape` with weights from `weights`. */
export function buildTextTower(shape: ClipShape, weights: WeightSource): GraphBuilder {
  const { contextLength, vocabSize, width, layers, heads, intermediate } = shape.text;
  const options: TextOptions = shape.textOptions ?? {};
  const epsilon = options.layerNormEpsilon ?? 1e-5;
  const graph = new GraphBuilder("text_model");
  const ctx = new LayerContext(graph, weights);
  let ids = textInput(graph, "input_ids");
  let attentionMask = options.attentionMask ? textInput(graph, "attention_mask") : undefined;
  if (options.padToContextWith !== undefined) {
    const given = graph.op("Shape", [ids], { start: 1, end: 2 });
    const missing = graph.op("Sub", [ctx.int64([contextLength]), given]);
    const pads = graph.op("Concat", [ctx.int64([0, 0, 0]), missing], { axis: 0 });
    ids = graph.op("Pad", [ids, pads, ctx.int64([options.padToContextWith], true)]);
    if (attentionMask !== undefined) {
      attentionMask = graph.op("Pad", [attentionMask, pads, ctx.int64([0], true)]);
    }
  }
  const { embedded, length } = tokenEmbeddings(ctx, "text_model", ids, {
    vocabSize,
    contextLength,
    width,
  });

  let mask: string | undefined;
  if (options.causal !== false) {
    const causal = new Float32Array(contextLength * contextLength);
    for (let row = 0; row < contextLength; row++) {
      causal.fill(MASKED, row * contextLength + row + 1, (row + 1) * contextLength);
    }
    const fullMask = graph.initializer(
      "causal_mask",
      "float32",
      [contextLength, contextLength],
      causal,
    );
    const maskEnd = graph.op("Concat", [length, length], { axis: 0 });
    mask = graph.op("Slice", [fullMask, ctx.int64([0, 0]), maskEnd, ctx.int64([0, 1])]);
  }
  if (attentionMask !== undefined) {
    const keys = keyPaddingMask(ctx, attentionMask, MASKED);
    mask = mask === undefined ? keys : graph.op("Add", [mask, keys]); // [B, 1, S, S]
  }

  const hidden = transformer(
    ctx,
    "text_model.encoder",
    embedded,
    {
      width,
      heads,
      intermediate,
      activation: options.activation ?? shape.activation,
    },
    layers,
    mask,
    { layerNormEpsilon: epsilon, layerScale: options.layerScale },
  );
  const normed = layerNorm(ctx, "text_model.final_layer_norm", hidden, width, epsilon);
  const pooled = poolText(ctx, normed, ids, width, options.pooling ?? { kind: "argmax" });
  const projection = options.projection ?? "linear";
  const embeds = projection === "none"
    ? pooled
    : linear(ctx, "text_projection", pooled, width, shape.embedDim, projection === "linear_bias");
  embeddingsOutput(graph, embeds, "text_embeds", shape.embedDim);
  return graph;
}

/** The `[B, width]` hidden state of each row at the position `pooling` names. */
function poolText(
  ctx: LayerContext,
  normed: string,
  ids: string,
  width: number,
  pooling: TextPooling,
): string {
  const graph = ctx.graph;
  if (pooling.kind === "first" || pooling.kind === "last") {
    const position = ctx.int64([pooling.kind === "first" ? 0 : -1], true);
    return graph.op("Gather", [normed, position], { axis: 1 });
  }
  // ArgMax takes the first of equal maxima: the highest id, or the first id equal to the end token.
  const scores = pooling.kind === "argmax"
    ? graph.op("Cast", [ids], { to: 6 })
    : graph.op("Cast", [graph.op("Equal", [ids, ctx.int64([pooling.tokenId], true)])], { to: 6 });
  const endAt = graph.op("ArgMax", [scores], { axis: 1, keepdims: 1 }); // [B, 1]
  const index = graph.op("Expand", [
    graph.op("Unsqueeze", [endAt, ctx.int64([2])]),
    ctx.int64([1, 1, width]),
  ]); // [B, 1, width]
  return graph.op("Squeeze", [
    graph.op("GatherElements", [normed, index], { axis: 1 }),
    ctx.int64([1]),
  ]);
}
