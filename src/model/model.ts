/**
 * Loading a CLIP-family model folder in the Hugging Face / transformers.js layout:
 *
 * ```
 * <model>/config.json                 model_type (chooses the family), text_config, …
 * <model>/preprocessor_config.json    image processor settings
 * <model>/tokenizer.json              the tokenizer pipeline
 * <model>/tokenizer_config.json       model_max_length, pad_token (optional)
 * <model>/onnx/vision_model.onnx      pixel_values → image_embeds (or pooler_output, …)
 * <model>/onnx/text_model.onnx        input_ids (+ attention_mask, token_type_ids) → text_embeds
 * <model>/onnx/model.onnx             or one joint graph taking both, run once per modality
 * ```
 *
 * The family (`clip`, `chinese_clip`, `siglip`, `jina_clip`, `mobileclip`, else generic; see
 * {@link ./model_family.ts}) decides what the files leave open: text padding and cleaning, the
 * image processor defaults, the crop offset rule and which outputs are embeddings. The graphs of
 * the chosen precision (`dtype`, transformers.js file suffixes; see {@link ./model_files.ts}) are
 * the towers where present, else the joint graph.
 *
 * A {@linkcode ClipModel} bundles the tokenizer, the image preprocessor and the two encoders, and
 * encodes texts and images into L2-normalised embeddings.
 *
 * @module
 */

import { basename, join, resolve } from "node:path";
import { ModelError } from "../errors.ts";
import { TextTower, VisionTower } from "./encoder.ts";
import { type ModelFamily, modelFamily } from "./family.ts";
import { findModelGraphs, type ModelDtype } from "./files.ts";
import { readJsonObject } from "./json_file.ts";
import { GraphSession, type SessionSettings } from "./onnx_session.ts";
import {
  type CropRounding,
  type PreprocessMode,
  preprocessModeSettings,
} from "../image/preprocess/config.ts";
import { ImagePreprocessor } from "../image/preprocess/kernel.ts";
import {
  loadTokenizerFiles,
  type TextCleaning,
  type TextPadding,
  TextTokenizer,
} from "./tokenizer.ts";
import { yieldToEventLoop } from "../event_loop.ts";
import { lengthOrder } from "./text_batches.ts";

/** Options for {@linkcode ClipModel.load}. */
export interface LoadModelOptions extends SessionSettings {
  /**
   * Centre-crop offset rule: `floor` (transformers) or `round` (open_clip/torchvision); default
   * per family (`round` for Jina CLIP, whose processor is open_clip's transform, else `floor`).
   */
  readonly cropRounding?: CropRounding;
  /**
   * `hf` (default): transformers' preprocessing, RGB conversion first. `openclip`: open_clip's,
   * resize and crop in the image's own mode then RGB, crop offset rounded (unless
   * `cropRounding` says otherwise).
   */
  readonly preprocess?: PreprocessMode;
  /** Text clean-up; default `open_clip` for `clip` and `mobileclip` models, else `none`. */
  readonly textCleaning?: TextCleaning;
  /**
   * Precision of the ONNX graphs, by transformers.js file suffix: `fp32` (`vision_model.onnx`,
   * default), `fp16` (`_fp16`), `q8` (`_quantized`), `int8`, `uint8`, `q4`, `q4f16`, `bnb4`.
   */
  readonly dtype?: ModelDtype;
  /**
   * A folder whose `tokenizer.json` (and `tokenizer_config.json`) is used instead of the model
   * folder's: for a model without a tokenizer, such as a converted open_clip checkpoint.
   */
  readonly tokenizerDir?: string;
}

/**
 * Context length when the tokenizer sets none and the graph fixes none: evalscope's 512, or
 * `text_config.max_position_embeddings` when that is smaller (positions beyond it do not exist).
 */
const UNSET_CONTEXT_LENGTH = 512;

function textConfigNumber(config: Record<string, unknown>, key: string): number | undefined {
  const textConfig = config.text_config;
  if (textConfig && typeof textConfig === "object") {
    const value = (textConfig as Record<string, unknown>)[key];
    if (typeof value === "number" && Number.isInteger(value) && value > 0) return value;
  }
  return undefined;
}

/** Reads a model folder's `config.json`. */
export function loadModelConfig(dir: string): Promise<Record<string, unknown>> {
  return readJsonObject(join(dir, "config.json"));
}

/**
 * Builds the image preprocessor of a model folder from its `preprocessor_config.json`, with the
 * defaults of the image processor class it names (else the family's, from `config.json`).
 * Crop rounding: `options.cropRounding`, else `round` with `preprocess: "openclip"`, else the
 * family's (`round` for Jina CLIP, `floor` otherwise).
 */
export async function loadPreprocessor(
  dir: string,
  config: Record<string, unknown>,
  options: { cropRounding?: CropRounding; preprocess?: PreprocessMode } = {},
): Promise<{ preprocessor: ImagePreprocessor; source: string }> {
  const family = modelFamily(config);
  const source = join(dir, "preprocessor_config.json");
  const mode = preprocessModeSettings(options.preprocess ?? "hf");
  const preprocessor = ImagePreprocessor.fromConfig(await readJsonObject(source), {
    source,
    cropRounding: options.cropRounding ??
      (options.preprocess === "openclip" ? mode.cropRounding : family.cropRounding),
    conversionOrder: mode.conversionOrder,
    processorType: family.imageProcessorType,
  });
  return { preprocessor, source };
}

/**
 * Builds the tokenizer of a model folder. Context length: `tokenizer_config.json`'s
 * `model_max_length`, else the text graph's fixed input length, else 512 (evalscope's value for
 * an unset `model_max_length`) or `text_config.max_position_embeddings` if smaller. Text
 * cleaning and padding: the family's (see {@link ./model_family.ts}); a graph with a fixed input
 * length is always padded to it.
 */
export async function loadTokenizer(
  dir: string,
  config: Record<string, unknown>,
  options: { textCleaning?: TextCleaning; graphContextLength?: number; padding?: TextPadding } = {},
): Promise<TextTokenizer> {
  const family = modelFamily(config);
  const { tokenizerJson, tokenizerConfig } = await loadTokenizerFiles(dir);
  const positions = textConfigNumber(config, "max_position_embeddings");
  return TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig, {
    fallbackContextLength: options.graphContextLength ??
      Math.min(UNSET_CONTEXT_LENGTH, positions ?? UNSET_CONTEXT_LENGTH),
    textCleaning: options.textCleaning ?? family.textCleaning,
    padding: options.graphContextLength !== undefined
      ? "max_length"
      : options.padding ?? family.textPadding,
    source: join(dir, "tokenizer_config.json"),
  });
}

/** Opens the image and text encoders, sharing one session when both use the joint graph. */
async function openEncoders(
  files: { vision: string; text: string },
  family: ModelFamily,
  preprocessor: ImagePreprocessor,
  settings: SessionSettings,
): Promise<{ vision: VisionTower; text: TextTower }> {
  const imageSize = { height: preprocessor.height, width: preprocessor.width };
  const visionGraph = await GraphSession.open(files.vision, settings);
  let textGraph: GraphSession;
  try {
    textGraph = files.text === files.vision
      ? visionGraph.retain()
      : await GraphSession.open(files.text, settings);
  } catch (error) {
    await visionGraph.release();
    throw error;
  }
  try {
    const vision = VisionTower.fromGraph(visionGraph, { outputNames: family.imageOutputs });
    const text = TextTower.fromGraph(textGraph, {
      outputNames: family.textOutputs,
      imageSize,
      trimPadding: family.trimsTextPadding,
    });
    return { vision, text };
  } catch (error) {
    await visionGraph.release();
    await textGraph.release();
    if (family.name === "generic" && error instanceof ModelError) {
      throw new ModelError(
        `config.json's model_type ${
          JSON.stringify(family.modelType ?? null)
        } is not a family clipbench knows (clip, chinese_clip, siglip, jina_clip, mobileclip), ` +
          `and its graphs do not fit the generic two-tower/joint layout: ${error.message}`,
        { path: error.path, cause: error },
      );
    }
    throw error;
  }
}

/** A loaded CLIP-family model: tokenizer, image preprocessor and the two encoders. */
export class ClipModel {
  /** Folder the model was loaded from. */
  readonly dir: string;
  /** The folder's base name, used as the model name in result files (as evalscope does). */
  readonly name: string;
  /** Parsed `config.json`. */
  readonly config: Record<string, unknown>;
  /** The model family, from `config.json`'s `model_type`. */
  readonly family: ModelFamily;
  /** Precision of the graphs loaded. */
  readonly dtype: ModelDtype;
  /** The text tokenizer. */
  readonly tokenizer: TextTokenizer;
  /** The image preprocessor. */
  readonly preprocessor: ImagePreprocessor;
  /** The image encoder (a tower, or the joint graph run for images). */
  readonly vision: VisionTower;
  /** The text encoder (a tower, or the joint graph run for texts). */
  readonly text: TextTower;
  /** The session settings the graphs were opened with (the pipeline's inference worker reuses them). */
  readonly sessionSettings: SessionSettings;

  private constructor(parts: {
    dir: string;
    config: Record<string, unknown>;
    family: ModelFamily;
    dtype: ModelDtype;
    tokenizer: TextTokenizer;
    preprocessor: ImagePreprocessor;
    vision: VisionTower;
    text: TextTower;
    sessionSettings: SessionSettings;
  }) {
    this.dir = parts.dir;
    this.name = basename(parts.dir);
    this.config = parts.config;
    this.family = parts.family;
    this.dtype = parts.dtype;
    this.tokenizer = parts.tokenizer;
    this.preprocessor = parts.preprocessor;
    this.vision = parts.vision;
    this.text = parts.text;
    this.sessionSettings = parts.sessionSettings;
  }

  /**
   * Loads a model folder.
   *
   * @throws {ModelError} naming the missing file (or, for a missing precision, the variants
   * present), or the inputs/outputs a graph has when they are not the expected ones.
   *
   * @example Load the demo model and embed two captions
   * ```ts
   * import assert from "node:assert/strict";
   * import { ClipModel } from "@clipbench/clipbench";
   *
   * const model = await ClipModel.load("examples/demo/tiny-clip-demo");
   * try {
   *   assert.equal(model.name, "tiny-clip-demo");
   *   const { embeddings, dim } = await model.encodeTexts(["a photo of a shoe", "a photo of a bag"]);
   *   assert.equal(embeddings.length, 2 * dim);
   * } finally {
   *   await model.release();
   * }
   * ```
   */
  static async load(dir: string, options: LoadModelOptions = {}): Promise<ClipModel> {
    const root = resolve(dir);
    try {
      const info = await Deno.stat(root);
      if (!info.isDirectory) throw new Error("not a directory");
    } catch (error) {
      throw new ModelError(
        `model folder not found: ${dir} (clipbench loads a local folder in the transformers.js ` +
          `layout: config.json, preprocessor_config.json, tokenizer.json, onnx/*.onnx)`,
        { path: root, cause: error },
      );
    }
    const config = await readJsonObject(join(root, "config.json"));
    const family = modelFamily(config);
    const { preprocessor, source: preprocessorPath } = await loadPreprocessor(
      root,
      config,
      options,
    );
    const files = await findModelGraphs(root, options.dtype ?? "fp32");
    const sessionSettings: SessionSettings = {
      threads: options.threads,
      executionProvider: options.executionProvider,
      graphOptimizationLevel: options.graphOptimizationLevel,
      memoryArena: options.memoryArena,
    };
    const { vision, text } = await openEncoders(files, family, preprocessor, sessionSettings);
    try {
      const [, height, width] = vision.inputShape;
      if (
        (height !== undefined && height !== preprocessor.height) ||
        (width !== undefined && width !== preprocessor.width)
      ) {
        throw new ModelError(
          `${vision.path} takes ${height}×${width} images but ${preprocessorPath} produces ` +
            `${preprocessor.height}×${preprocessor.width}`,
          { path: preprocessorPath },
        );
      }
      const tokenizer = await loadTokenizer(options.tokenizerDir ?? root, config, {
        textCleaning: options.textCleaning,
        graphContextLength: text.contextLength,
      });
      if (text.contextLength !== undefined && text.contextLength !== tokenizer.contextLength) {
        throw new ModelError(
          `${text.path} takes ${text.contextLength} tokens per text but tokenizer_config.json's ` +
            `model_max_length is ${tokenizer.contextLength}`,
          { path: text.path },
        );
      }
      return new ClipModel({
        dir: root,
        config,
        family,
        dtype: files.dtype,
        tokenizer,
        preprocessor,
        vision,
        text,
        sessionSettings,
      });
    } catch (error) {
      await vision.release();
      await text.release();
      throw error;
    }
  }

  /**
   * Whether the rows of a text batch are as long as its longest text (the tower trims the
   * padding, or the tokenizer pads to the longest row), so that batching texts of like length
   * shortens the runs.
   */
  get textBatchesFollowLength(): boolean {
    return this.text.trimsPadding ||
      (this.tokenizer.padding === "longest" && this.text.contextLength === undefined);
  }

  /**
   * Encodes texts in batches of `batchSize`. When a batch's rows are as long as its longest text
   * ({@linkcode textBatchesFollowLength}), the texts are first tokenised and put in order of
   * length, longest first, so each batch holds texts of like length; the embeddings come back in
   * the order of `texts` either way. Tokenising and the session run are synchronous, so the event
   * loop gets a turn before each slice of `batchSize` texts tokenised and before each batch run:
   * timers, I/O and an abort of `signal` wait for one slice at most.
   *
   * @returns `texts.length × dim` L2-normalised embeddings, row-major, and `dim`.
   * @throws the abort reason of `signal`, checked before each slice.
   */
  async encodeTexts(
    texts: readonly string[],
    batchSize = 128,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<{ embeddings: Float32Array; dim: number }> {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`batchSize must be an integer ≥ 1, got ${batchSize}`);
    }
    const rows: number[][] = [];
    for (let start = 0; start < texts.length; start += batchSize) {
      await yieldToEventLoop(options.signal);
      for (const text of texts.slice(start, start + batchSize)) {
        rows.push(this.tokenizer.encodeUnpadded(text));
      }
    }
    const order = this.textBatchesFollowLength
      ? lengthOrder(rows.map((row) => row.length))
      : rows.map((_, index) => index);
    let out: Float32Array | undefined;
    let dim = 0;
    for (let start = 0; start < order.length; start += batchSize) {
      await yieldToEventLoop(options.signal);
      const indices = order.slice(start, start + batchSize);
      const encoded = await this.text.encode(
        this.tokenizer.padRows(indices.map((index) => rows[index])),
      );
      dim = encoded.dim;
      out ??= new Float32Array(texts.length * dim);
      indices.forEach((index, row) => {
        out!.set(encoded.embeddings.subarray(row * dim, (row + 1) * dim), index * dim);
      });
    }
    return { embeddings: out ?? new Float32Array(0), dim };
  }

  /**
   * Encodes `count` preprocessed images (`[count, 3, height, width]`, as the preprocessor writes).
   *
   * @returns `count × dim` L2-normalised embeddings and `dim`.
   */
  encodeImages(
    pixels: Float32Array,
    count: number,
  ): Promise<{ embeddings: Float32Array; dim: number }> {
    return this.vision.encode(pixels, count, this.preprocessor.height, this.preprocessor.width);
  }

  /** Releases the ONNX sessions. */
  async release(): Promise<void> {
    await this.vision.release();
    await this.text.release();
  }
}
