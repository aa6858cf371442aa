/**
 * ONNX Runtime sessions for the two towers of a CLIP-family model (transformers.js layout:
 * `onnx/vision_model.onnx`, `onnx/text_model.onnx`).
 *
 * Input and output names are read from each session rather than assumed: the vision tower takes
 * `pixel_values`; the text tower takes `input_ids` (int64 or int32, as the graph declares) and,
 * when the graph has them, `attention_mask` and `token_type_ids`. The embedding output is
 * `image_embeds`/`text_embeds`, else `pooler_output`. Embeddings come back L2-normalised, one row
 * per input, as `Float32Array`s of `count × dim`.
 *
 * @module
 */

import * as ort from "onnxruntime-node";
import { ModelError } from "./errors.ts";
import type { TokenizedBatch } from "./tokenizer.ts";

/** Session settings shared by both towers. */
export interface SessionSettings {
  /** onnxruntime intra-op threads; 0 or undefined lets onnxruntime choose. */
  readonly threads?: number;
  /** Execution provider; `cpu` by default. */
  readonly executionProvider?: "cpu" | "cuda";
}

/** Metadata of one graph input or output as onnxruntime reports it. */
interface ValueInfo {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

async function createSession(
  path: string,
  settings: SessionSettings,
): Promise<ort.InferenceSession> {
  try {
    await Deno.stat(path);
  } catch (error) {
    throw new ModelError(`model file not found: ${path}`, { path, cause: error });
  }
  try {
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [settings.executionProvider ?? "cpu"],
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
    };
    if (settings.threads && settings.threads > 0) options.intraOpNumThreads = settings.threads;
    return await ort.InferenceSession.create(path, options);
  } catch (error) {
    throw new ModelError(`cannot load ONNX graph ${path}: ${(error as Error).message}`, {
      path,
      cause: error,
    });
  }
}

function metadataOf(list: readonly unknown[]): ValueInfo[] {
  return list as ValueInfo[];
}

function pickOutput(session: ort.InferenceSession, preferred: string, path: string): ValueInfo {
  const outputs = metadataOf(session.outputMetadata);
  const found = outputs.find((o) => o.name === preferred) ??
    outputs.find((o) => o.name === "pooler_output");
  if (!found) {
    throw new ModelError(
      `${path} has no '${preferred}' or 'pooler_output' output; its outputs are: ${
        outputs.map((o) => o.name).join(", ")
      }`,
      { path },
    );
  }
  return found;
}

function staticDim(info: ValueInfo, axis: number): number | undefined {
  const dim = info.shape?.[axis];
  return typeof dim === "number" && dim > 0 ? dim : undefined;
}

/** Normalises each row of a `rows × dim` matrix to unit L2 norm, in place (norm computed in float64). */
export function l2NormalizeRows(data: Float32Array, rows: number, dim: number): Float32Array {
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

function copyEmbeddings(output: ort.Tensor, count: number, path: string, name: string): {
  data: Float32Array;
  dim: number;
} {
  if (output.type !== "float32") {
    throw new ModelError(`${path}: output '${name}' is ${output.type}, expected float32`, { path });
  }
  const dims = output.dims;
  if (dims.length !== 2 || dims[0] !== count) {
    throw new ModelError(
      `${path}: output '${name}' has shape [${dims.join(", ")}], expected [${count}, dim]`,
      { path },
    );
  }
  const data = new Float32Array(output.data as Float32Array);
  return { data, dim: dims[1] };
}

/** The image tower: `pixel_values` → L2-normalised image embeddings. */
export class VisionTower {
  /** Path of the ONNX file. */
  readonly path: string;
  /** Name of the pixel input. */
  readonly inputName = "pixel_values";
  /** Name of the embedding output used. */
  readonly outputName: string;
  /** Static `[channels, height, width]` of the pixel input, where the graph fixes them. */
  readonly inputShape: readonly (number | undefined)[];
  readonly #session: ort.InferenceSession;

  private constructor(path: string, session: ort.InferenceSession) {
    this.path = path;
    this.#session = session;
    const inputs = metadataOf(session.inputMetadata);
    const pixel = inputs.find((i) => i.name === this.inputName);
    if (!pixel) {
      throw new ModelError(
        `${path} has no 'pixel_values' input; its inputs are: ${
          inputs.map((i) => i.name).join(", ")
        }`,
        { path },
      );
    }
    if (pixel.type !== undefined && pixel.type !== "float32") {
      throw new ModelError(
        `${path}: input 'pixel_values' is ${pixel.type}; only float32 is supported`,
        {
          path,
        },
      );
    }
    this.inputShape = [staticDim(pixel, 1), staticDim(pixel, 2), staticDim(pixel, 3)];
    this.outputName = pickOutput(session, "image_embeds", path).name;
  }

  /** Opens the vision graph. */
  static async create(path: string, settings: SessionSettings = {}): Promise<VisionTower> {
    return new VisionTower(path, await createSession(path, settings));
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
    const input = new ort.Tensor("float32", view, [count, 3, height, width]);
    const outputs = await this.#session.run({ [this.inputName]: input });
    const { data, dim } = copyEmbeddings(
      outputs[this.outputName],
      count,
      this.path,
      this.outputName,
    );
    for (const tensor of Object.values(outputs)) tensor.dispose?.();
    return { embeddings: l2NormalizeRows(data, count, dim), dim };
  }

  /** Releases the session. */
  async release(): Promise<void> {
    await this.#session.release();
  }
}

/** The text tower: token ids (and mask) → L2-normalised text embeddings. */
export class TextTower {
  /** Path of the ONNX file. */
  readonly path: string;
  /** Name of the embedding output used. */
  readonly outputName: string;
  /** Integer type of each integer input the graph declares (`input_ids`, `attention_mask`, …). */
  readonly inputTypes: ReadonlyMap<string, "int64" | "int32">;
  /** Whether the graph takes `attention_mask`. */
  readonly takesAttentionMask: boolean;
  /** Whether the graph takes `token_type_ids`. */
  readonly takesTokenTypeIds: boolean;
  /** Static context length of `input_ids`, where the graph fixes it. */
  readonly contextLength?: number;
  readonly #session: ort.InferenceSession;

  private constructor(path: string, session: ort.InferenceSession) {
    this.path = path;
    this.#session = session;
    const inputs = metadataOf(session.inputMetadata);
    const names = inputs.map((i) => i.name);
    const ids = inputs.find((i) => i.name === "input_ids");
    if (!ids) {
      throw new ModelError(
        `${path} has no 'input_ids' input; its inputs are: ${names.join(", ")}`,
        {
          path,
        },
      );
    }
    const known = new Set(["input_ids", "attention_mask", "token_type_ids"]);
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length > 0) {
      throw new ModelError(
        `${path} needs inputs clipbench cannot supply (${unknown.join(", ")}); its inputs are: ${
          names.join(", ")
        }`,
        { path },
      );
    }
    const types = new Map<string, "int64" | "int32">();
    for (const input of inputs) {
      if (input.type !== "int64" && input.type !== "int32") {
        throw new ModelError(
          `${path}: input '${input.name}' is ${input.type}, expected int64 or int32`,
          {
            path,
          },
        );
      }
      types.set(input.name, input.type);
    }
    this.inputTypes = types;
    this.contextLength = staticDim(ids, 1);
    this.takesAttentionMask = names.includes("attention_mask");
    this.takesTokenTypeIds = names.includes("token_type_ids");
    this.outputName = pickOutput(session, "text_embeds", path).name;
  }

  /** Opens the text graph. */
  static async create(path: string, settings: SessionSettings = {}): Promise<TextTower> {
    return new TextTower(path, await createSession(path, settings));
  }

  #integerTensor(name: string, values: Int32Array, dims: number[]): ort.Tensor {
    if (this.inputTypes.get(name) === "int32") return new ort.Tensor("int32", values, dims);
    const wide = new BigInt64Array(values.length);
    for (let i = 0; i < values.length; i++) wide[i] = BigInt(values[i]);
    return new ort.Tensor("int64", wide, dims);
  }

  /**
   * Encodes a tokenised batch.
   *
   * @returns `count × dim` L2-normalised embeddings and `dim`.
   */
  async encode(batch: TokenizedBatch): Promise<{ embeddings: Float32Array; dim: number }> {
    const dims = [batch.count, batch.contextLength];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: this.#integerTensor("input_ids", batch.ids, dims),
    };
    if (this.takesAttentionMask) {
      feeds.attention_mask = this.#integerTensor("attention_mask", batch.attentionMask, dims);
    }
    if (this.takesTokenTypeIds) {
      feeds.token_type_ids = this.#integerTensor(
        "token_type_ids",
        new Int32Array(batch.ids.length),
        dims,
      );
    }
    const outputs = await this.#session.run(feeds);
    const { data, dim } = copyEmbeddings(
      outputs[this.outputName],
      batch.count,
      this.path,
      this.outputName,
    );
    for (const tensor of Object.values(outputs)) tensor.dispose?.();
    return { embeddings: l2NormalizeRows(data, batch.count, dim), dim };
  }

  /** Releases the session. */
  async release(): Promise<void> {
    await this.#session.release();
  }
}
