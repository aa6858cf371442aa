/**
 * The input embeddings the ViT and text towers share (transformers' CLIP and SigLIP names):
 * image patches as tokens (the patch `Conv`, kernel = stride = patch size), and token embeddings
 * plus the leading rows of a learned position table for a sequence of any length up to it.
 *
 * @module
 */

import type { LayerContext } from "./layers.ts";

/** The patch embedding's sizes. */
export interface PatchEmbeddingShape {
  /** Patch height and width in pixels. */
  readonly patchSize: number;
  /** Input channels. */
  readonly channels: number;
  /** Output width (the `Conv`'s output channels). */
  readonly width: number;
  /** Whether the `Conv` has a bias (`<name>.bias`): SigLIP's has, CLIP's has not. */
  readonly bias: boolean;
}

/**
 * `pixels` `[batch, channels, height, width]` as patch tokens `[batch, patches, width]`: the
 * `Conv` with kernel `<name>.weight`, flattened over the grid and transposed.
 */
export function patchEmbedding(
  ctx: LayerContext,
  name: string,
  pixels: string,
  shape: PatchEmbeddingShape,
): string {
  const { patchSize, channels, width } = shape;
  const graph = ctx.graph;
  const kernel = ctx.weight(
    `${name}.weight`,
    [width, channels, patchSize, patchSize],
    "patch_kernel",
  );
  const inputs = shape.bias
    ? [pixels, kernel, ctx.weight(`${name}.bias`, [width], "bias")]
    : [pixels, kernel];
  const grid = graph.op("Conv", inputs, {
    kernel_shape: [patchSize, patchSize],
    strides: [patchSize, patchSize],
  }); // [B, width, g, g]
  return graph.op("Transpose", [graph.op("Reshape", [grid, ctx.int64([0, width, -1])])], {
    perm: [0, 2, 1],
  }); // [B, patches, width]
}

/** The token embedding table's and the position table's sizes. */
export interface TokenEmbeddingShape {
  /** Rows of the token embedding table. */
  readonly vocabSize: number;
  /** Rows of the position embedding table (the longest input). */
  readonly contextLength: number;
  /** Embedding width. */
  readonly width: number;
}

/**
 * `token_embedding[ids] + position_embedding[0..S-1]` (`<prefix>.embeddings.token_embedding
 * .weight`, `<prefix>.embeddings.position_embedding.weight`) for `ids` `[batch, S]`; also the
 * sequence length `[S]` as a 1-D int64 tensor.
 */
export function tokenEmbeddings(
  ctx: LayerContext,
  prefix: string,
  ids: string,
  shape: TokenEmbeddingShape,
): { embedded: string; length: string } {
  const graph = ctx.graph;
  const { vocabSize, contextLength, width } = shape;
  const table = ctx.weight(
    `${prefix}.embeddings.token_embedding.weight`,
    [vocabSize, width],
    "embedding",
  );
  const tokens = graph.op("Gather", [table, ids], { axis: 0 }); // [B, S, width]
  const length = graph.op("Shape", [ids], { start: 1, end: 2 }); // [S]
  const positionTable = ctx.weight(
    `${prefix}.embeddings.position_embedding.weight`,
    [contextLength, width],
    "embedding",
  );
  const zero = ctx.int64([0]);
  const positions = graph.op("Slice", [positionTable, zero, length, zero]);
  return { embedded: graph.op("Add", [tokens, positions]), length };
}
