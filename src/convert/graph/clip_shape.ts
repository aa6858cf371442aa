/**
 * The sizes of a CLIP model (both towers), the options by which checkpoints' towers differ from
 * OpenAI CLIP's (transformers' `CLIPModel` and open_clip's `CLIP` settings), their checks, and
 * their weight counts: what the graph builders (clip_towers.ts) need to lay out a model, whether
 * its weights come from a checkpoint or from the model generator (tools/generate_clip_model.ts).
 * A shape without options is OpenAI CLIP's architecture.
 *
 * @module
 */

/** The sizes of a transformer encoder. */
export interface EncoderShape {
  /** Transformer width. */
  readonly width: number;
  /** Transformer blocks. */
  readonly layers: number;
  /** Attention heads (divides `width`). */
  readonly heads: number;
  /** Hidden size of each block's MLP. */
  readonly intermediate: number;
}

/** The image tower: a ViT. */
export interface VisionShape extends EncoderShape {
  /** Input height and width in pixels. */
  readonly imageSize: number;
  /** Patch height and width in pixels (the patch `Conv`'s kernel and stride). */
  readonly patchSize: number;
}

/** The text tower: a causal transformer pooled at the end token. */
export interface TextShape extends EncoderShape {
  /** Context length (position embeddings). */
  readonly contextLength: number;
  /** Rows of the token embedding table. */
  readonly vocabSize: number;
}

/**
 * MLP activation: CLIP's `quick_gelu` (x·σ(1.702x)), the exact `gelu` (with `Erf`), or SigLIP's
 * `gelu_pytorch_tanh` (the tanh approximation of GELU).
 */
export type Activation = "quick_gelu" | "gelu" | "gelu_pytorch_tanh";

/** The activation and LayerNorm ε of a tower whose family sets them per tower (SigLIP, BERT). */
export interface TowerNumerics {
  /** MLP activation (`hidden_act`). */
  readonly activation: Activation;
  /** ε of every LayerNorm (`layer_norm_eps`). */
  readonly layerNormEps: number;
}

/** What either tower may change; each field's default is OpenAI CLIP's. */
export interface TowerOptions {
  /** The MLP activation of this tower; default the model's {@linkcode ClipShape.activation}. */
  readonly activation?: Activation;
  /** ε of every LayerNorm of the tower; default 1e-5. */
  readonly layerNormEpsilon?: number;
  /**
   * Whether each block multiplies its attention and MLP outputs by learned per-channel gains
   * before the residual sums (open_clip's `ls_init_value`; weights `<block>.layer_scale1.lambda1`
   * and `<block>.layer_scale2.lambda1`); default false.
   */
  readonly layerScale?: boolean;
}

/** How a ViT image tower differs from OpenAI CLIP's. */
export interface VisionOptions extends TowerOptions {
  /** Whether the embeddings pass `pre_layrnorm` (open_clip: not with `no_ln_pre`); default true. */
  readonly preLayerNorm?: boolean;
  /**
   * What is pooled: the class token (`"class"`, default), or the mean of the patch tokens
   * (`"mean"`, open_clip's `pool_type: "avg"`).
   */
  readonly pooling?: "class" | "mean";
  /**
   * Whether `post_layernorm` normalises the pooled vector (open_clip's `final_ln_after_pool`)
   * instead of every token before pooling; the same for class-token pooling. Default false.
   */
  readonly normAfterPooling?: boolean;
}

/**
 * Which position of the text tower's output is pooled:
 *
 * - `argmax`: the position of the highest id (the end token has the highest id in CLIP's
 *   vocabulary: transformers' legacy `eos_token_id == 2` configs, open_clip's default);
 * - `eos`: the first position holding `tokenId` (position 0 when none does), as transformers'
 *   CLIP and open_clip's `pool_type: "eos"` pool;
 * - `first`, `last`: position 0, or the last position.
 */
export type TextPooling =
  | { readonly kind: "argmax" }
  | { readonly kind: "eos"; readonly tokenId: number }
  | { readonly kind: "first" }
  | { readonly kind: "last" };

/** How a text tower differs from OpenAI CLIP's. */
export interface TextOptions extends TowerOptions {
  /** Whether attention is causal; default true (open_clip's `no_causal_mask` turns it off). */
  readonly causal?: boolean;
  /**
   * Whether the graph takes an `attention_mask` input (`[batch_size, sequence_length]`, 1 for
   * tokens, 0 for padding) whose zeros are masked out of every attention, as transformers' CLIP
   * text model does; default false.
   */
  readonly attentionMask?: boolean;
  /** The pooled position; default `argmax`. */
  readonly pooling?: TextPooling;
  /**
   * When set, ids shorter than `contextLength` are first padded to it with this id: for towers
   * whose output depends on the padding (bidirectional attention, `last` pooling), which open_clip
   * always runs on `context_length` ids.
   */
  readonly padToContextWith?: number;
  /**
   * The projection: `"linear"` (`text_projection.weight`, default), `"linear_bias"` (with
   * `text_projection.bias`, open_clip's `proj_bias`), or `"none"` (the pooled state is the output;
   * its width must be `embedDim`).
   */
  readonly projection?: "linear" | "linear_bias" | "none";
}

/** The activations the graph builders know. */
const ACTIVATIONS: readonly Activation[] = ["quick_gelu", "gelu", "gelu_pytorch_tanh"];

/** Every size of a two-tower CLIP model. */
export interface ClipShape {
  /** The image tower. */
  readonly vision: VisionShape;
  /** The text tower. */
  readonly text: TextShape;
  /** Size of the shared embedding space (both projections' outputs). */
  readonly embedDim: number;
  /** MLP activation of both towers (unless a tower's options name another). */
  readonly activation: Activation;
  /** How the image tower differs from OpenAI CLIP's; absent: not at all. */
  readonly visionOptions?: VisionOptions;
  /** How the text tower differs from OpenAI CLIP's; absent: not at all. */
  readonly textOptions?: TextOptions;
}

/**
 * Checks that a shape can be built: positive integers, heads dividing widths, patches tiling
 * the image, and a vocabulary that covers `minVocabSize` ids (the tokenizer's).
 *
 * @throws {RangeError} naming the first field that is wrong.
 */
export function validateClipShape(shape: ClipShape, minVocabSize = 1): void {
  const sizes = (tower: "vision" | "text", keys: readonly string[]): [string, unknown][] =>
    keys.map((
      key,
    ) => [`${tower}.${key}`, (shape[tower] as unknown as Record<string, unknown>)[key]]);
  const fields: [string, unknown][] = [
    ...sizes("vision", ["imageSize", "patchSize", "width", "layers", "heads", "intermediate"]),
    ...sizes("text", ["contextLength", "vocabSize", "width", "layers", "heads", "intermediate"]),
    ["embedDim", shape.embedDim],
  ];
  for (const [name, value] of fields) {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
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
  const activations = [
    ["activation", shape.activation],
    ["visionOptions.activation", shape.visionOptions?.activation ?? shape.activation],
    ["textOptions.activation", shape.textOptions?.activation ?? shape.activation],
  ];
  for (const [name, activation] of activations) {
    if (!ACTIVATIONS.includes(activation as Activation)) {
      throw new RangeError(`${name} must be one of ${ACTIVATIONS.join(", ")}, got ${activation}`);
    }
  }
  for (const [tower, options] of [["vision", shape.visionOptions], ["text", shape.textOptions]]) {
    const epsilon = (options as TowerOptions | undefined)?.layerNormEpsilon;
    if (epsilon !== undefined && !(Number.isFinite(epsilon) && epsilon > 0)) {
      throw new RangeError(`${tower}Options.layerNormEpsilon must be positive, got ${epsilon}`);
    }
  }
  if (shape.textOptions?.projection === "none" && shape.text.width !== shape.embedDim) {
    throw new RangeError(
      `text.width (${shape.text.width}) must equal embedDim (${shape.embedDim}) without a ` +
        `text projection`,
    );
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
