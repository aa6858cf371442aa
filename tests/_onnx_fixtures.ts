/**
 * Tiny model folders for each CLIP family, built at test time with src/onnx/builder.ts: ONNX
 * graphs with the input/output names, element types and dynamic axes of the transformers.js
 * exports, small tokenizer.json files (BERT WordPiece, SentencePiece Unigram/Metaspace, the
 * demo's CLIP BPE), and the JSON configs, plus float64 reference implementations of the same
 * graphs to check what clipbench fed them.
 *
 * The text graphs embed tokens (`Gather`), add position (and token-type) embeddings, pool, and
 * project (`MatMul`):
 *
 * - `causal_argmax` (CLIP): a running sum over positions (`CumSum`, standing in for causal
 *   attention) read at the position of the highest id (`ArgMax`: the end token), so padding
 *   after it changes nothing;
 * - `mean` (SigLIP): the mean over all positions, so where the padding is and which id pads
 *   change the output;
 * - `masked_mean` (BERT-style, Chinese-CLIP, Jina): the mean over `attention_mask` positions.
 *
 * The vision graphs are a patch `Conv` (kernel = stride = 4), `Flatten` and a `MatMul`. The joint
 * graph holds both towers with separate (or shared) batch axes, L2-normalises the embeddings and
 * computes the logits, as Hugging Face's `CLIPModel` export does.
 *
 * @module
 */

import { join } from "node:path";
import { type Dim, type ElementType, GraphBuilder, saveModel } from "../src/onnx/builder.ts";

/** Sizes shared by the fixture graphs. */
export const HIDDEN = 8;
/** Embedding size. */
export const EMBED = 6;
/** Rows of the position table (covers every context length used: 77, 64, 52). */
export const POSITIONS = 80;
/** Patch size of the vision `Conv`. */
export const PATCH = 4;
/** Image height and width the vision graphs take. */
export const IMAGE_SIZE = 8;

/** The weights of one fixture model. */
export interface FixtureWeights {
  /** Vocabulary size. */
  readonly vocab: number;
  /** Token embeddings, `[vocab, HIDDEN]`. */
  readonly token: Float32Array;
  /** Position embeddings, `[POSITIONS, HIDDEN]`. */
  readonly position: Float32Array;
  /** Token-type embeddings, `[2, HIDDEN]`. */
  readonly tokenType: Float32Array;
  /** Text projection, `[HIDDEN, EMBED]`. */
  readonly textProjection: Float32Array;
  /** Patch convolution, `[HIDDEN, 3, PATCH, PATCH]`. */
  readonly conv: Float32Array;
  /** Image projection, `[HIDDEN * patches, EMBED]`. */
  readonly imageProjection: Float32Array;
}

/** Deterministic uniform values in [-1, 1) (mulberry32). */
function randomValues(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

const PATCHES = (IMAGE_SIZE / PATCH) ** 2;

/** Weights for a vocabulary of `vocab` ids, from `seed`. */
export function fixtureWeights(vocab: number, seed: number): FixtureWeights {
  return {
    vocab,
    token: randomValues(vocab * HIDDEN, seed),
    position: randomValues(POSITIONS * HIDDEN, seed + 1),
    tokenType: randomValues(2 * HIDDEN, seed + 2),
    textProjection: randomValues(HIDDEN * EMBED, seed + 3),
    conv: randomValues(HIDDEN * 3 * PATCH * PATCH, seed + 4),
    imageProjection: randomValues(HIDDEN * PATCHES * EMBED, seed + 5),
  };
}

/** Deterministic test pixels, `[count, 3, IMAGE_SIZE, IMAGE_SIZE]`. */
export function fixturePixels(count: number, seed: number): Float32Array {
  return randomValues(count * 3 * IMAGE_SIZE * IMAGE_SIZE, seed);
}

/** Text pooling of a fixture graph (see the module note). */
export type TextPooling = "causal_argmax" | "mean" | "masked_mean";

/** The signature of a fixture text graph. */
export interface TextGraphSpec {
  /** How the hidden states are pooled. */
  readonly pooling: TextPooling;
  /** Element type of the integer inputs (default int64). */
  readonly idsType?: "int64" | "int32";
  /** Whether the graph takes `attention_mask` (required by `masked_mean`). */
  readonly attentionMask?: boolean;
  /** Whether the graph takes `token_type_ids` (added through the token-type table). */
  readonly tokenTypeIds?: boolean;
  /** Batch axis (default `batch_size`). */
  readonly batchAxis?: Dim;
  /** Sequence axis (default `sequence_length`). */
  readonly sequenceAxis?: Dim;
  /** Names under which the projected embedding is output (default `text_embeds`). */
  readonly outputs?: readonly string[];
  /** Whether to output the hidden states as `last_hidden_state` too. */
  readonly lastHiddenState?: boolean;
  /** Element type of weights and float outputs (default float32). */
  readonly floatType?: "float32" | "float16";
  /** Name of the id input (default `input_ids`), to build graphs clipbench must refuse. */
  readonly idsName?: string;
}

/** The signature of a fixture vision graph. */
export interface VisionGraphSpec {
  /** Axes of `pixel_values` (default `["batch_size", "num_channels", "height", "width"]`). */
  readonly axes?: readonly Dim[];
  /** Names under which the projected embedding is output (default `image_embeds`). */
  readonly outputs?: readonly string[];
  /** Element type of weights, `pixel_values` and float outputs (default float32). */
  readonly floatType?: "float32" | "float16";
  /** Name of the pixel input (default `pixel_values`). */
  readonly pixelName?: string;
}

/** TensorProto data type numbers for `Cast`'s `to`. */
const CAST_TO = { float32: 1, float16: 10, int32: 6 } as const;

function floatWeights(
  graph: GraphBuilder,
  name: string,
  dims: readonly number[],
  values: Float32Array,
  type: "float32" | "float16",
): string {
  return graph.initializer(
    name,
    type,
    dims,
    type === "float16" ? new Uint16Array(new Float16Array(values).buffer) : values,
  );
}

function int64Constant(graph: GraphBuilder, name: string, values: readonly number[]): string {
  return graph.initializer(name, "int64", [values.length], values);
}

/**
 * Adds a text tower to `graph` (inputs included); returns the name of the projected embedding
 * value, `[batch, EMBED]`.
 */
export function addTextTower(
  graph: GraphBuilder,
  weights: FixtureWeights,
  spec: TextGraphSpec,
): { embedding: string; hidden: string } {
  const type = spec.floatType ?? "float32";
  const idsType: ElementType = spec.idsType ?? "int64";
  const axes: Dim[] = [spec.batchAxis ?? "batch_size", spec.sequenceAxis ?? "sequence_length"];
  const ids = graph.input(spec.idsName ?? "input_ids", idsType, axes);
  const mask = spec.attentionMask ? graph.input("attention_mask", idsType, axes) : undefined;
  const types = spec.tokenTypeIds ? graph.input("token_type_ids", idsType, axes) : undefined;
  const table = floatWeights(graph, "token_table", [weights.vocab, HIDDEN], weights.token, type);
  let tokens = graph.op("Gather", [table, ids], { axis: 0 });
  if (spec.pooling === "causal_argmax") {
    tokens = graph.op("CumSum", [tokens, graph.initializer("cumsum_axis", "int64", [], [1])]);
  }
  const length = graph.op("Shape", [ids], { start: 1, end: 2 });
  const positionTable = floatWeights(
    graph,
    "position_table",
    [POSITIONS, HIDDEN],
    weights.position,
    type,
  );
  const positions = graph.op("Slice", [
    positionTable,
    int64Constant(graph, "slice_start", [0]),
    length,
    int64Constant(graph, "slice_axis", [0]),
  ]);
  let hidden = graph.op("Add", [tokens, positions]);
  if (types !== undefined) {
    const typeTable = floatWeights(graph, "type_table", [2, HIDDEN], weights.tokenType, type);
    hidden = graph.op("Add", [hidden, graph.op("Gather", [typeTable, types], { axis: 0 })]);
  }
  const sumAxis = () => int64Constant(graph, "sequence_axis", [1]);
  let pooled: string;
  if (spec.pooling === "causal_argmax") {
    const ids32 = graph.op("Cast", [ids], { to: CAST_TO.int32 });
    const at = graph.op("ArgMax", [ids32], { axis: 1, keepdims: 1 });
    const at3 = graph.op("Unsqueeze", [at, int64Constant(graph, "unsqueeze_axis", [2])]);
    const index = graph.op("Expand", [at3, int64Constant(graph, "expand_shape", [1, 1, HIDDEN])]);
    const picked = graph.op("GatherElements", [hidden, index], { axis: 1 });
    pooled = graph.op("Squeeze", [picked, sumAxis()]);
  } else if (spec.pooling === "mean") {
    pooled = graph.op("ReduceMean", [hidden], { axes: [1], keepdims: 0 });
  } else {
    if (mask === undefined) throw new Error("masked_mean pooling needs attention_mask");
    const weightsOfPositions = graph.op("Cast", [mask], { to: CAST_TO[type] });
    const mask3 = graph.op("Unsqueeze", [
      weightsOfPositions,
      int64Constant(graph, "mask_axis", [2]),
    ]);
    const axis = sumAxis();
    const sum = graph.op("ReduceSum", [graph.op("Mul", [hidden, mask3]), axis], { keepdims: 0 });
    const count = graph.op("ReduceSum", [weightsOfPositions, axis], { keepdims: 1 });
    pooled = graph.op("Div", [sum, count]);
  }
  const projection = floatWeights(
    graph,
    "text_projection",
    [HIDDEN, EMBED],
    weights.textProjection,
    type,
  );
  return { embedding: graph.op("MatMul", [pooled, projection]), hidden };
}

/** Adds a vision tower to `graph`; returns the name of the projected embedding value. */
export function addVisionTower(
  graph: GraphBuilder,
  weights: FixtureWeights,
  spec: VisionGraphSpec,
): string {
  const type = spec.floatType ?? "float32";
  const pixels = graph.input(
    spec.pixelName ?? "pixel_values",
    type,
    spec.axes ?? ["batch_size", "num_channels", "height", "width"],
  );
  const kernel = floatWeights(graph, "patch_conv", [HIDDEN, 3, PATCH, PATCH], weights.conv, type);
  const patches = graph.op("Conv", [pixels, kernel], {
    kernel_shape: [PATCH, PATCH],
    strides: [PATCH, PATCH],
  });
  const flat = graph.op("Flatten", [patches], { axis: 1 });
  const projection = floatWeights(
    graph,
    "image_projection",
    [HIDDEN * PATCHES, EMBED],
    weights.imageProjection,
    type,
  );
  return graph.op("MatMul", [flat, projection]);
}

function outputAs(
  graph: GraphBuilder,
  value: string,
  names: readonly string[],
  type: ElementType,
  shape: readonly Dim[],
): void {
  for (const name of names) {
    graph.node("Identity", [value], [name]);
    graph.output(name, type, shape);
  }
}

/** A standalone text tower (`text_model.onnx`). */
export function textTowerGraph(weights: FixtureWeights, spec: TextGraphSpec): GraphBuilder {
  const graph = new GraphBuilder("text_model");
  const { embedding, hidden } = addTextTower(graph, weights, spec);
  const type = spec.floatType ?? "float32";
  const batch = spec.batchAxis ?? "batch_size";
  if (spec.lastHiddenState) {
    outputAs(graph, hidden, ["last_hidden_state"], type, [
      batch,
      spec.sequenceAxis ?? "sequence_length",
      HIDDEN,
    ]);
  }
  outputAs(graph, embedding, spec.outputs ?? ["text_embeds"], type, [batch, EMBED]);
  return graph;
}

/** A standalone vision tower (`vision_model.onnx`). */
export function visionTowerGraph(weights: FixtureWeights, spec: VisionGraphSpec): GraphBuilder {
  const graph = new GraphBuilder("vision_model");
  const embedding = addVisionTower(graph, weights, spec);
  const batch = (spec.axes ?? ["batch_size"])[0];
  outputAs(graph, embedding, spec.outputs ?? ["image_embeds"], spec.floatType ?? "float32", [
    batch,
    EMBED,
  ]);
  return graph;
}

/**
 * A joint graph (`model.onnx`): both towers, outputs `logits_per_image`, `logits_per_text`,
 * `text_embeds` and `image_embeds` (L2-normalised), with the batch axes `text_batch_size` and
 * `image_batch_size` (or one shared `batch_size` with `sharedBatchAxis`).
 */
export function jointGraph(
  weights: FixtureWeights,
  text: TextGraphSpec,
  options: { sharedBatchAxis?: boolean; floatType?: "float32" | "float16" } = {},
): GraphBuilder {
  const type = options.floatType ?? "float32";
  const textBatch = options.sharedBatchAxis ? "batch_size" : "text_batch_size";
  const imageBatch = options.sharedBatchAxis ? "batch_size" : "image_batch_size";
  const graph = new GraphBuilder("model");
  const { embedding: textEmbedding } = addTextTower(graph, weights, {
    ...text,
    batchAxis: textBatch,
    floatType: type,
  });
  const imageEmbedding = addVisionTower(graph, weights, {
    axes: [imageBatch, "num_channels", "height", "width"],
    floatType: type,
  });
  const normalized = (value: string) =>
    graph.op("Div", [value, graph.op("ReduceL2", [value], { axes: [1], keepdims: 1 })]);
  const textNormalized = normalized(textEmbedding);
  const imageNormalized = normalized(imageEmbedding);
  const scale = floatWeights(graph, "logit_scale", [], Float32Array.of(14.25), type);
  const logits = graph.op("Mul", [
    graph.op("MatMul", [imageNormalized, graph.op("Transpose", [textNormalized])]),
    scale,
  ]);
  outputAs(graph, logits, ["logits_per_image"], type, [imageBatch, textBatch]);
  outputAs(graph, graph.op("Transpose", [logits]), ["logits_per_text"], type, [
    textBatch,
    imageBatch,
  ]);
  outputAs(graph, textNormalized, ["text_embeds"], type, [textBatch, EMBED]);
  outputAs(graph, imageNormalized, ["image_embeds"], type, [imageBatch, EMBED]);
  return graph;
}

function normalize(values: Float64Array): Float64Array {
  const norm = Math.sqrt(values.reduce((sum, v) => sum + v * v, 0));
  return values.map((v) => v / norm);
}

/**
 * The L2-normalised text embedding the fixture graph computes for one row of ids (as fed,
 * padding included), in float64. `mask` defaults to all ones; token types are 0.
 */
export function referenceTextEmbedding(
  weights: FixtureWeights,
  pooling: TextPooling,
  ids: readonly number[],
  options: { mask?: readonly number[]; tokenTypes?: boolean } = {},
): Float64Array {
  const length = ids.length;
  const hidden: Float64Array[] = [];
  const running = new Float64Array(HIDDEN);
  for (let p = 0; p < length; p++) {
    const row = new Float64Array(HIDDEN);
    for (let d = 0; d < HIDDEN; d++) {
      const token = weights.token[ids[p] * HIDDEN + d];
      running[d] += token;
      row[d] = (pooling === "causal_argmax" ? running[d] : token) +
        weights.position[p * HIDDEN + d] +
        (options.tokenTypes ? weights.tokenType[d] : 0);
    }
    hidden.push(row);
  }
  const pooled = new Float64Array(HIDDEN);
  if (pooling === "causal_argmax") {
    let at = 0;
    for (let p = 1; p < length; p++) if (ids[p] > ids[at]) at = p;
    pooled.set(hidden[at]);
  } else {
    const mask = pooling === "masked_mean" ? options.mask ?? ids.map(() => 1) : ids.map(() => 1);
    let count = 0;
    for (let p = 0; p < length; p++) {
      if (mask[p] === 0) continue;
      count++;
      for (let d = 0; d < HIDDEN; d++) pooled[d] += hidden[p][d];
    }
    for (let d = 0; d < HIDDEN; d++) pooled[d] /= count;
  }
  const out = new Float64Array(EMBED);
  for (let e = 0; e < EMBED; e++) {
    for (let d = 0; d < HIDDEN; d++) out[e] += pooled[d] * weights.textProjection[d * EMBED + e];
  }
  return normalize(out);
}

/** The L2-normalised image embedding of image `index` of a `[count, 3, 8, 8]` pixel buffer. */
export function referenceImageEmbedding(
  weights: FixtureWeights,
  pixels: Float32Array,
  index: number,
): Float64Array {
  const plane = IMAGE_SIZE * IMAGE_SIZE;
  const base = index * 3 * plane;
  const side = IMAGE_SIZE / PATCH;
  const flat = new Float64Array(HIDDEN * PATCHES);
  for (let d = 0; d < HIDDEN; d++) {
    for (let py = 0; py < side; py++) {
      for (let px = 0; px < side; px++) {
        let sum = 0;
        for (let c = 0; c < 3; c++) {
          for (let ky = 0; ky < PATCH; ky++) {
            for (let kx = 0; kx < PATCH; kx++) {
              const w = weights.conv[((d * 3 + c) * PATCH + ky) * PATCH + kx];
              const y = py * PATCH + ky;
              const x = px * PATCH + kx;
              sum += w * pixels[base + c * plane + y * IMAGE_SIZE + x];
            }
          }
        }
        flat[(d * side + py) * side + px] = sum;
      }
    }
  }
  const out = new Float64Array(EMBED);
  for (let e = 0; e < EMBED; e++) {
    for (let i = 0; i < flat.length; i++) {
      out[e] += flat[i] * weights.imageProjection[i * EMBED + e];
    }
  }
  return normalize(out);
}

/** A tokenizer's two files. */
export interface TokenizerFiles {
  /** `tokenizer.json`. */
  readonly tokenizerJson: Record<string, unknown>;
  /** `tokenizer_config.json`. */
  readonly tokenizerConfig: Record<string, unknown>;
}

function addedToken(id: number, content: string) {
  return {
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  };
}

/** Vocabulary of {@linkcode wordPieceTokenizer}, in id order. */
export const WORDPIECE_VOCAB = [
  "[PAD]",
  "[UNK]",
  "[CLS]",
  "[SEP]",
  "[MASK]",
  "一",
  "张",
  "猫",
  "狗",
  "的",
  "照",
  "片",
  "a",
  "photo",
  "of",
  "cat",
  "dog",
  "##s",
  "，",
  "。",
] as const;

/**
 * A BERT WordPiece tokenizer (as Chinese-CLIP's): BertNormalizer (lower case, CJK characters
 * split), BertPreTokenizer, `[CLS] … [SEP]`, `[PAD]` = 0.
 */
export function wordPieceTokenizer(modelMaxLength = 52): TokenizerFiles {
  const vocab = Object.fromEntries(WORDPIECE_VOCAB.map((token, id) => [token, id]));
  const special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
  return {
    tokenizerJson: {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: special.map((token) => addedToken(vocab[token], token)),
      normalizer: {
        type: "BertNormalizer",
        clean_text: true,
        handle_chinese_chars: true,
        strip_accents: null,
        lowercase: true,
      },
      pre_tokenizer: { type: "BertPreTokenizer" },
      post_processor: {
        type: "TemplateProcessing",
        single: [
          { SpecialToken: { id: "[CLS]", type_id: 0 } },
          { Sequence: { id: "A", type_id: 0 } },
          { SpecialToken: { id: "[SEP]", type_id: 0 } },
        ],
        pair: [
          { SpecialToken: { id: "[CLS]", type_id: 0 } },
          { Sequence: { id: "A", type_id: 0 } },
          { SpecialToken: { id: "[SEP]", type_id: 0 } },
          { Sequence: { id: "B", type_id: 1 } },
          { SpecialToken: { id: "[SEP]", type_id: 1 } },
        ],
        special_tokens: {
          "[CLS]": { id: "[CLS]", ids: [vocab["[CLS]"]], tokens: ["[CLS]"] },
          "[SEP]": { id: "[SEP]", ids: [vocab["[SEP]"]], tokens: ["[SEP]"] },
        },
      },
      decoder: { type: "WordPiece", prefix: "##", cleanup: true },
      model: {
        type: "WordPiece",
        unk_token: "[UNK]",
        continuing_subword_prefix: "##",
        max_input_chars_per_word: 100,
        vocab,
      },
    },
    tokenizerConfig: {
      tokenizer_class: "BertTokenizer",
      do_lower_case: true,
      model_max_length: modelMaxLength,
      pad_token: "[PAD]",
      cls_token: "[CLS]",
      sep_token: "[SEP]",
      unk_token: "[UNK]",
      mask_token: "[MASK]",
    },
  };
}

/** Vocabulary of {@linkcode unigramTokenizer}, in id order, with log probabilities. */
export const UNIGRAM_VOCAB: readonly [string, number][] = [
  ["<pad>", 0],
  ["</s>", 0],
  ["<unk>", 0],
  ["▁a", -3],
  ["▁photo", -5],
  ["▁of", -4],
  ["▁cat", -6],
  ["▁dog", -6],
  ["▁", -2],
  ["s", -3],
  ["a", -4],
  ["c", -5],
  ["t", -5],
  ["o", -5],
  ["d", -5],
  ["g", -5],
  ["h", -5],
  ["p", -5],
  ["f", -5],
];

/**
 * A SentencePiece Unigram tokenizer as SigLIP's `tokenizer.json`: lower case, Metaspace (`▁`,
 * prepended), `… </s>`, pad token `</s>` (id 1), context 64.
 */
export function unigramTokenizer(): TokenizerFiles {
  return {
    tokenizerJson: {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [addedToken(0, "<pad>"), addedToken(1, "</s>"), addedToken(2, "<unk>")],
      normalizer: { type: "Lowercase" },
      pre_tokenizer: {
        type: "Metaspace",
        replacement: "▁",
        prepend_scheme: "always",
        split: true,
      },
      post_processor: {
        type: "TemplateProcessing",
        single: [
          { Sequence: { id: "A", type_id: 0 } },
          { SpecialToken: { id: "</s>", type_id: 0 } },
        ],
        pair: [
          { Sequence: { id: "A", type_id: 0 } },
          { SpecialToken: { id: "</s>", type_id: 0 } },
          { Sequence: { id: "B", type_id: 0 } },
          { SpecialToken: { id: "</s>", type_id: 0 } },
        ],
        special_tokens: { "</s>": { id: "</s>", ids: [1], tokens: ["</s>"] } },
      },
      decoder: { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true },
      model: { type: "Unigram", unk_id: 2, vocab: UNIGRAM_VOCAB, byte_fallback: false },
    },
    tokenizerConfig: {
      tokenizer_class: "SiglipTokenizer",
      model_max_length: 64,
      pad_token: "</s>",
      eos_token: "</s>",
      unk_token: "<unk>",
      do_lower_case: true,
    },
  };
}

const DEMO_MODEL = new URL("../examples/demo/tiny-clip-demo/", import.meta.url);

/** The demo model's CLIP BPE tokenizer (874 ids; `<|startoftext|>` 872, `<|endoftext|>` 873). */
export async function demoBpeTokenizer(): Promise<TokenizerFiles> {
  const read = async (name: string) =>
    JSON.parse(await Deno.readTextFile(new URL(name, DEMO_MODEL))) as Record<string, unknown>;
  return {
    tokenizerJson: await read("tokenizer.json"),
    tokenizerConfig: await read("tokenizer_config.json"),
  };
}

/** The contents of a fixture model folder. */
export interface ModelFolder {
  /** `config.json`. */
  readonly config: Record<string, unknown>;
  /** `preprocessor_config.json`. */
  readonly preprocessor: Record<string, unknown>;
  /** `tokenizer.json` and `tokenizer_config.json`. */
  readonly tokenizer: TokenizerFiles;
  /**
   * Graphs by file name in `onnx/` (`vision_model.onnx`, `model_fp16.onnx`, …), each with
   * `externalData: true` to put its weights in `<file>_data`.
   */
  readonly graphs: Readonly<
    Record<string, GraphBuilder | { graph: GraphBuilder; externalData: true }>
  >;
}

/** Writes a model folder at `dir` (created if needed). */
export async function writeModelFolder(dir: string, folder: ModelFolder): Promise<string> {
  await Deno.mkdir(join(dir, "onnx"), { recursive: true });
  const json = (value: unknown) => JSON.stringify(value, null, 2);
  await Deno.writeTextFile(join(dir, "config.json"), json(folder.config));
  await Deno.writeTextFile(join(dir, "preprocessor_config.json"), json(folder.preprocessor));
  await Deno.writeTextFile(join(dir, "tokenizer.json"), json(folder.tokenizer.tokenizerJson));
  await Deno.writeTextFile(
    join(dir, "tokenizer_config.json"),
    json(folder.tokenizer.tokenizerConfig),
  );
  for (const [file, entry] of Object.entries(folder.graphs)) {
    const path = join(dir, "onnx", file);
    if (entry instanceof GraphBuilder) await saveModel(path, entry);
    else await saveModel(path, entry.graph, { externalData: { minBytes: 64 } });
  }
  return dir;
}

/** `preprocessor_config.json` of a CLIPImageProcessor giving 8 × 8 images. */
export const CLIP_PREPROCESSOR: Record<string, unknown> = {
  image_processor_type: "CLIPImageProcessor",
  do_resize: true,
  size: { shortest_edge: IMAGE_SIZE },
  resample: 3,
  do_center_crop: true,
  crop_size: { height: IMAGE_SIZE, width: IMAGE_SIZE },
  do_rescale: true,
  rescale_factor: 1 / 255,
  do_normalize: true,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_std: [0.26862954, 0.26130258, 0.27577711],
};
