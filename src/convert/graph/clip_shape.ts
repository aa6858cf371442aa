/**
 * The sizes of a CLIP model (both towers), their checks, and their weight counts: what the graph
 * builders (clip_towers.ts) need to lay out a model, whether its weights come from a checkpoint
 * or from the model generator (tools/generate_clip_model.ts).
 *
 * @module
 */

/** The image tower: a ViT. */
export interface VisionShape {
  /** Input height and width in pixels. */
  readonly imageSize: number;
  /** Patch height and width in pixels (the patch `Conv`'s kernel and stride). */
  readonly patchSize: number;
  /** Transformer width. */
  readonly width: number;
  /** Transformer blocks. */
  readonly layers: number;
  /** Attention heads (divides `width`). */
  readonly heads: number;
  /** Hidden size of each block's MLP. */
  readonly intermediate: number;
}

/** The text tower: a causal transformer pooled at the end token. */
export interface TextShape {
  /** Context length (position embeddings). */
  readonly contextLength: number;
  /** Rows of the token embedding table. */
  readonly vocabSize: number;
  /** Transformer width. */
  readonly width: number;
  /** Transformer blocks. */
  readonly layers: number;
  /** Attention heads (divides `width`). */
  readonly heads: number;
  /** Hidden size of each block's MLP. */
  readonly intermediate: number;
}

/** MLP activation: CLIP's `quick_gelu` (x·σ(1.702x)) or the exact `gelu` (with `Erf`). */
export type Activation = "quick_gelu" | "gelu";

/** Every size of a two-tower CLIP model. */
export interface ClipShape {
  /** The image tower. */
  readonly vision: VisionShape;
  /** The text tower. */
  readonly text: TextShape;
  /** Size of the shared embedding space (both projections' outputs). */
  readonly embedDim: number;
  /** MLP activation of both towers. */
  readonly activation: Activation;
}

/**
 * Checks that a shape can be built: positive integers, heads dividing widths, patches tiling
 * the image, and a vocabulary that covers `minVocabSize` ids (the tokenizer's).
 *
 * @throws {RangeError} naming the first field that is wrong.
 */
export function validateClipShape(shape: ClipShape, minVocabSize = 1): void {
  const fields: [string, number][] = [
    ...Object.entries(shape.vision).map(([k, v]): [string, number] => [`vision.${k}`, v]),
    ...Object.entries(shape.text).map(([k, v]): [string, number] => [`text.${k}`, v]),
    ["embedDim", shape.embedDim],
  ];
  for (const [name, value] of fields) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
  }
  for (
    const [tower, { width, heads }] of [["vision", shape.vision], ["text", shape.text]] as const
  ) {
    if (width % heads !== 0) {
      throw new RangeError(`${tower}.heads (${heads}) must divide ${tower}.width (${width})`);
    }
  }
  const { imageSize, patchSize } = shape.vision;
  if (imageSize % patchSize !== 0) {
    throw new RangeError(
      `vision.patchSize (${patchSize}) must divide vision.imageSize (${imageSize})`,
    );
  }
  if (shape.text.vocabSize < minVocabSize) {
    throw new RangeError(
      `text.vocabSize (${shape.text.vocabSize}) must cover the tokenizer's ${minVocabSize} ids`,
    );
  }
  if (shape.activation !== "quick_gelu" && shape.activation !== "gelu") {
    throw new RangeError(`activation must be quick_gelu or gelu, got ${shape.activation}`);
  }
}

/** Weights of one pre-LayerNorm block: q, k, v, out linears, the MLP, two LayerNorms. */
function blockParameters(width: number, intermediate: number): number {
  return 4 * (width * width + width) + 2 * width * intermediate + intermediate + width + 4 * width;
}

/** The number of weights in each tower of `shape` (embeddings, LayerNorms and biases included). */
export function towerParameters(shape: ClipShape): { vision: number; text: number } {
  const v = shape.vision;
  const patches = (v.imageSize / v.patchSize) ** 2;
  const vision = v.width * 3 * v.patchSize ** 2 + v.width + (patches + 1) * v.width +
    2 * v.width + v.layers * blockParameters(v.width, v.intermediate) + 2 * v.width +
    v.width * shape.embedDim;
  const t = shape.text;
  const text = t.vocabSize * t.width + t.contextLength * t.width +
    t.layers * blockParameters(t.width, t.intermediate) + 2 * t.width + t.width * shape.embedDim;
  return { vision, text };
}
