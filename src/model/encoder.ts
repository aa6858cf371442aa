/**
 * The image and text encoders of a CLIP-family model over its ONNX graphs (transformers.js
 * layout): separate towers (`onnx/vision_model.onnx`, `onnx/text_model.onnx`) or one joint graph
 * (`onnx/model.onnx`) that serves both modalities.
 *
 * Everything is read from the graph rather than assumed:
 *
 * - the image encoder feeds `pixel_values` (float32 or float16, as declared); the text encoder
 *   feeds `input_ids` and, when the graph declares them, `attention_mask` and `token_type_ids`
 *   (zeros), as int64 or int32;
 * - a graph that also takes the other modality's inputs (a joint graph) gets a minimal dummy for
 *   them: a zero image of the declared (else the preprocessor's) size, or a one-token text of
 *   id 0 (the declared length when the graph fixes it); one row, or as many rows as the batch when
 *   the graph gives both inputs the same named batch axis;
 * - the embedding is the first output of a preference list that the model family gives
 *   (`image_embeds`, `pooler_output`, …).
 *
 * Embeddings come back L2-normalised, one row per input, as `Float32Array`s of `count × dim`.
 *
 * A text encoder opened with `trimPadding` (the family's `trimsTextPadding`: causal towers pooled
 * at the end token) over a graph whose sequence axis is dynamic cuts each batch's padding down to
 * its longest real row before the run (src/model/text_batches.ts); a graph that fixes the length
 * always gets the full rows.
 *
 * @module
 */

import type * as ort from "onnxruntime-node";
import { ModelError } from "../errors.ts";
import { GraphSession, type GraphValue, type SessionSettings, staticAxis } from "./onnx_session.ts";
import { trimBatch, trimmedRowLength } from "./text_batches.ts";
import type { TokenizedBatch } from "./tokenizer.ts";

export type { SessionSettings } from "./onnx_session.ts";

/** L2-normalised embeddings, row-major `count × dim`. */
type Embeddings = { embeddings: Float32Array; dim: number };

/** Inputs an image encoder fills. */
const IMAGE_INPUTS = ["pixel_values"] as const;
/** Inputs a text encoder fills. */
const TEXT_INPUTS = ["input_ids", "attention_mask", "token_type_ids"] as const;

/** Default output preference of {@linkcode VisionTower}: projected embeddings, else pooled. */
const DEFAULT_IMAGE_OUTPUTS: readonly string[] = ["image_embeds", "pooler_output"];
/** Default output preference of {@linkcode TextTower}. */
const DEFAULT_TEXT_OUTPUTS: readonly string[] = ["text_embeds", "pooler_output"];

/** Options for opening an encoder over a graph. */
export interface EncoderOptions {
  /** Output names to use, in order of preference (defaults: the `DEFAULT_*_OUTPUTS`). */
  readonly outputNames?: readonly string[];
  /**
   * Image size for a dummy `pixel_values` when a text encoder's graph also takes images and does
   * not fix their size (a joint graph).
   */
  readonly imageSize?: { readonly height: number; readonly width: number };
  /**
   * Text encoder: run each batch at its longest real row instead of its padded width, where the
   * graph's sequence axis is dynamic. Only for towers whose pooled state nothing after the end
   * token reaches (the family's `trimsTextPadding`); default false.
   */
  readonly trimPadding?: boolean;
}

/** Normalises each row of a `rows × dim` matrix to unit L2 norm, in place (norm computed in float64). */
function l2NormalizeRows(data: Float32Array, rows: number, dim: number): Float32Array {
  for (let r = 0; r < rows; r++) {
    const start = r * dim;
    let sum = 0;
    for (let i = start; i < start + dim; i++) sum += data[i] * data[i];
    const norm = Math.sqrt(sum);
    // F.normalize divides by max(norm, 1e-12).
    const scale = 1 / Math.max(norm, 1e-12);
    for (let i = start; i < start + dim; i++) data[i] *= scale;
  }
  return data;
}

/** Rejects inputs that neither modality's encoder can fill. */
function checkKnownInputs(graph: GraphSession): void {
  const known = new Set<string>([...IMAGE_INPUTS, ...TEXT_INPUTS]);
  const unknown = [...graph.inputs.keys()].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new ModelError(
      `${graph.path} needs inputs clipbench cannot supply (${
        unknown.join(", ")
      }); its inputs are: ${graph.inputList}`,
      { path: graph.path },
    );
  }
}

/**
 * Rows of the dummy for the other modality: the fixed batch size when the graph fixes it, the
 * real batch's when both inputs share a named batch axis, else 1.
 */
function dummyRows(dummy: GraphValue, real: GraphValue, count: number): number {
  const fixed = staticAxis(dummy, 0);
  if (fixed !== undefined) return fixed;
  const axis = dummy.shape[0];
  return typeof axis === "string" && axis !== "" && axis === real.shape[0] ? count : 1;
}

function embeddingsOf(
  graph: GraphSession,
  output: { data: Float32Array; dims: readonly number[] },
  count: number,
  name: string,
): Embeddings {
  const dims = output.dims;
  if (dims.length !== 2 || dims[0] !== count) {
    throw new ModelError(
      `${graph.path}: output '${name}' has shape [${dims.join(", ")}], expected [${count}, dim]`,
      { path: graph.path },
    );
  }
  return { embeddings: l2NormalizeRows(output.data, count, dims[1]), dim: dims[1] };
}

/**
 * Opens the graph file at `path` and builds a tower over it; the graph is released again when
 * building fails (a graph without the inputs the tower needs).
 */
async function buildOnGraph<T>(
  path: string,
  settings: SessionSettings,
  build: (graph: GraphSession) => T,
): Promise<T> {
  const graph = await GraphSession.open(path, settings);
  try {
    return build(graph);
  } catch (error) {
    await graph.release();
    throw error;
  }
}

/** The image encoder: `pixel_values` → L2-normalised image embeddings. */
export class VisionTower {
  /** Path of the ONNX file. */
  readonly path: string;
  /** Name of the pixel input. */
  readonly inputName = "pixel_values";
  /** Name of the embedding output used. */
  readonly outputName: string;
  /** Declared element type of `pixel_values` (`float32` or `float16`). */
  readonly inputType: string;
  /** Static `[channels, height, width]` of the pixel input, where the graph fixes them. */
  readonly inputShape: readonly (number | undefined)[];
  /** Whether the graph also takes text inputs (a joint graph), filled with a dummy text. */
  readonly joint: boolean;
  readonly #graph: GraphSession;

  private constructor(graph: GraphSession, options: EncoderOptions) {
    this.path = graph.path;
    this.#graph = graph;
    const pixel = graph.input(this.inputName);
    if (pixel.type !== "float32" && pixel.type !== "float16") {
      throw new ModelError(
        `${graph.path}: input 'pixel_values' is ${pixel.type}; only float32 and float16 are supported`,
        { path: graph.path },
      );
    }
    checkKnownInputs(graph);
    this.inputType = pixel.type;
    this.inputShape = [staticAxis(pixel, 1), staticAxis(pixel, 2), staticAxis(pixel, 3)];
    this.joint = graph.inputs.has("input_ids");
    this.outputName = graph.pickOutput(options.outputNames ?? DEFAULT_IMAGE_OUTPUTS).name;
  }

  /**
   * Builds the image encoder over an open graph. The encoder takes over the caller's hold on the
   * session (call `graph.retain()` first to share it).
   */
  static fromGraph(graph: GraphSession, options: EncoderOptions = {}): VisionTower {
    return new VisionTower(graph, options);
  }

  /** Opens an image graph file. */
  static async create(
    path: string,
    settings: SessionSettings = {},
    options: EncoderOptions = {},
  ): Promise<VisionTower> {
    return await buildOnGraph(path, settings, (graph) => new VisionTower(graph, options));
  }

  #dummyText(count: number): Record<string, ort.Tensor> {
    const graph = this.#graph;
    const ids = graph.input("input_ids");
    const rows = dummyRows(ids, graph.input(this.inputName), count);
    const length = staticAxis(ids, 1) ?? 1;
    const dims = [rows, length];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: graph.integerTensor("input_ids", new Int32Array(rows * length), dims),
    };
    if (graph.inputs.has("attention_mask")) {
      const mask = new Int32Array(rows * length).fill(1);
      feeds.attention_mask = graph.integerTensor("attention_mask", mask, dims);
    }
    if (graph.inputs.has("token_type_ids")) {
      const types = new Int32Array(rows * length);
      feeds.token_type_ids = graph.integerTensor("token_type_ids", types, dims);
    }
    return feeds;
  }

  /**
   * Encodes `count` preprocessed images laid out as `[count, 3, height, width]` float32.
   *
   * @returns `count × dim` L2-normalised embeddings and `dim`.
   */
  async encode(
    pixels: Float32Array,
    count: number,
    height: number,
    width: number,
  ): Promise<{ embeddings: Float32Array; dim: number }> {
    const expected = count * 3 * height * width;
    if (pixels.length < expected) {
      throw new RangeError(`pixel buffer holds ${pixels.length} values, ${expected} needed`);
    }
    const view = pixels.length === expected ? pixels : pixels.subarray(0, expected);
    const feeds: Record<string, ort.Tensor> = {
      [this.inputName]: this.#graph.floatTensor(this.inputName, view, [count, 3, height, width]),
    };
    if (this.joint) Object.assign(feeds, this.#dummyText(count));
    const output = await this.#graph.runFloat(feeds, this.outputName);
    return embeddingsOf(this.#graph, output, count, this.outputName);
  }

  /** Releases the session (a shared joint session closes with its last encoder). */
  async release(): Promise<void> {
    await this.#graph.release();
  }
}

/** The text encoder: token ids (and mask) → L2-normalised text embeddings. */
export class TextTower {
  /** Path of the ONNX file. */
  readonly path: string;
  /** Name of the embedding output used. */
  readonly outputName: string;
  /** Integer type of each text input the graph declares (`input_ids`, `attention_mask`, …). */
  readonly inputTypes: ReadonlyMap<string, "int64" | "int32">;
  /** Whether the graph takes `attention_mask`. */
  readonly takesAttentionMask: boolean;
  /** Whether the graph takes `token_type_ids`. */
  readonly takesTokenTypeIds: boolean;
  /** Static context length of `input_ids`, where the graph fixes it. */
  readonly contextLength?: number;
  /** Whether the graph also takes `pixel_values` (a joint graph), filled with a zero image. */
  readonly joint: boolean;
  /**
   * Whether batches run at their longest real row (asked for with `trimPadding`, and the graph
   * fixes no context length).
   */
  readonly trimsPadding: boolean;
  readonly #graph: GraphSession;
  readonly #imageSize?: { readonly height: number; readonly width: number };

  private constructor(graph: GraphSession, options: EncoderOptions) {
    this.path = graph.path;
    this.#graph = graph;
    const ids = graph.input("input_ids");
    checkKnownInputs(graph);
    const types = new Map<string, "int64" | "int32">();
    for (const name of TEXT_INPUTS) {
      const input = graph.inputs.get(name);
      if (!input) continue;
      if (input.type !== "int64" && input.type !== "int32") {
        throw new ModelError(
          `${graph.path}: input '${name}' is ${input.type}, expected int64 or int32`,
          { path: graph.path },
        );
      }
      types.set(name, input.type);
    }
    this.inputTypes = types;
    this.contextLength = staticAxis(ids, 1);
    this.takesAttentionMask = types.has("attention_mask");
    this.takesTokenTypeIds = types.has("token_type_ids");
    this.joint = graph.inputs.has("pixel_values");
    this.trimsPadding = options.trimPadding === true && this.contextLength === undefined;
    this.#imageSize = options.imageSize;
    this.outputName = graph.pickOutput(options.outputNames ?? DEFAULT_TEXT_OUTPUTS).name;
  }

  /**
   * Builds the text encoder over an open graph. The encoder takes over the caller's hold on the
   * session (call `graph.retain()` first to share it).
   */
  static fromGraph(graph: GraphSession, options: EncoderOptions = {}): TextTower {
    return new TextTower(graph, options);
  }

  /** Opens a text graph file. */
  static async create(
    path: string,
    settings: SessionSettings = {},
    options: EncoderOptions = {},
  ): Promise<TextTower> {
    return await buildOnGraph(path, settings, (graph) => new TextTower(graph, options));
  }

  #dummyImage(count: number): Record<string, ort.Tensor> {
    const graph = this.#graph;
    const pixel = graph.input("pixel_values");
    const rows = dummyRows(pixel, graph.input("input_ids"), count);
    const channels = staticAxis(pixel, 1) ?? 3;
    const height = staticAxis(pixel, 2) ?? this.#imageSize?.height;
    const width = staticAxis(pixel, 3) ?? this.#imageSize?.width;
    if (height === undefined || width === undefined) {
      throw new ModelError(
        `${graph.path} takes images as well as texts, of no fixed size, and no image size was given ` +
          `for the dummy image`,
        { path: graph.path },
      );
    }
    const dims = [rows, channels, height, width];
    const zeros = new Float32Array(rows * channels * height * width);
    return { pixel_values: graph.floatTensor("pixel_values", zeros, dims) };
  }

  /**
   * Encodes a tokenised batch; with {@linkcode trimsPadding}, at its longest real row.
   *
   * @returns `count × dim` L2-normalised embeddings and `dim`.
   */
  async encode(tokenized: TokenizedBatch): Promise<{ embeddings: Float32Array; dim: number }> {
    const graph = this.#graph;
    const batch = this.trimsPadding ? trimBatch(tokenized, trimmedRowLength(tokenized)) : tokenized;
    const dims = [batch.count, batch.contextLength];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: graph.integerTensor("input_ids", batch.ids, dims),
    };
    if (this.takesAttentionMask) {
      feeds.attention_mask = graph.integerTensor("attention_mask", batch.attentionMask, dims);
    }
    if (this.takesTokenTypeIds) {
      const types = new Int32Array(batch.ids.length);
      feeds.token_type_ids = graph.integerTensor("token_type_ids", types, dims);
    }
    if (this.joint) Object.assign(feeds, this.#dummyImage(batch.count));
    const output = await graph.runFloat(feeds, this.outputName);
    return embeddingsOf(graph, output, batch.count, this.outputName);
  }

  /** Releases the session (a shared joint session closes with its last encoder). */
  async release(): Promise<void> {
    await this.#graph.release();
  }
}
