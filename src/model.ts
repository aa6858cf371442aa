/**
 * Loading a CLIP-family model folder in the Hugging Face / transformers.js layout:
 *
 * ```
 * <model>/config.json                 model_type, text_config, …
 * <model>/preprocessor_config.json    CLIPImageProcessor settings
 * <model>/tokenizer.json              the tokenizer pipeline
 * <model>/tokenizer_config.json       model_max_length, pad_token (optional)
 * <model>/onnx/vision_model.onnx      pixel_values → image_embeds
 * <model>/onnx/text_model.onnx        input_ids (+ attention_mask) → text_embeds
 * ```
 *
 * A {@linkcode ClipModel} bundles the tokenizer, the image preprocessor and both ONNX towers, and
 * encodes texts and images into L2-normalised embeddings.
 *
 * @module
 */

import { basename, join, resolve } from "node:path";
import { ModelError } from "./errors.ts";
import { type SessionSettings, TextTower, VisionTower } from "./encoder.ts";
import { type CropRounding, ImagePreprocessor } from "./preprocess.ts";
import { loadTokenizerFiles, type TextCleaning, TextTokenizer } from "./tokenizer.ts";

/** Options for {@linkcode ClipModel.load}. */
export interface LoadModelOptions extends SessionSettings {
  /** Centre-crop offset rule: `floor` (transformers, default) or `round` (open_clip/torchvision). */
  readonly cropRounding?: CropRounding;
  /** Text clean-up; default `open_clip` for `model_type: "clip"`, else `none`. */
  readonly textCleaning?: TextCleaning;
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new ModelError(`cannot read ${path}: ${(error as Error).message}`, {
      path,
      cause: error,
    });
  }
  try {
    const value = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return value;
  } catch (error) {
    throw new ModelError(`${path} is not valid JSON: ${(error as Error).message}`, {
      path,
      cause: error,
    });
  }
  throw new ModelError(`${path} must hold a JSON object`, { path });
}

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
  return readJson(join(dir, "config.json"));
}

/** Builds the image preprocessor of a model folder from its `preprocessor_config.json`. */
export async function loadPreprocessor(
  dir: string,
  options: { cropRounding?: CropRounding } = {},
): Promise<{ preprocessor: ImagePreprocessor; source: string }> {
  const source = join(dir, "preprocessor_config.json");
  const preprocessor = ImagePreprocessor.fromConfig(await readJson(source), {
    source,
    cropRounding: options.cropRounding ?? "floor",
  });
  return { preprocessor, source };
}

/**
 * Builds the tokenizer of a model folder. Context length: `tokenizer_config.json`'s
 * `model_max_length`, else the text graph's fixed input length, else `text_config`'s
 * `max_position_embeddings`. Text cleaning: open_clip's for `model_type: "clip"`, else none.
 */
export async function loadTokenizer(
  dir: string,
  config: Record<string, unknown>,
  options: { textCleaning?: TextCleaning; graphContextLength?: number } = {},
): Promise<TextTokenizer> {
  const { tokenizerJson, tokenizerConfig } = await loadTokenizerFiles(dir);
  return TextTokenizer.fromFiles(tokenizerJson, tokenizerConfig, {
    fallbackContextLength: options.graphContextLength ??
      textConfigNumber(config, "max_position_embeddings"),
    textCleaning: options.textCleaning ?? (config.model_type === "clip" ? "open_clip" : "none"),
    source: join(dir, "tokenizer_config.json"),
  });
}

/** A loaded CLIP-family model: tokenizer, image preprocessor and the two ONNX towers. */
export class ClipModel {
  /** Folder the model was loaded from. */
  readonly dir: string;
  /** The folder's base name, used as the model name in result files (as evalscope does). */
  readonly name: string;
  /** Parsed `config.json`. */
  readonly config: Record<string, unknown>;
  /** The text tokenizer. */
  readonly tokenizer: TextTokenizer;
  /** The image preprocessor. */
  readonly preprocessor: ImagePreprocessor;
  /** The image tower. */
  readonly vision: VisionTower;
  /** The text tower. */
  readonly text: TextTower;

  private constructor(parts: {
    dir: string;
    config: Record<string, unknown>;
    tokenizer: TextTokenizer;
    preprocessor: ImagePreprocessor;
    vision: VisionTower;
    text: TextTower;
  }) {
    this.dir = parts.dir;
    this.name = basename(parts.dir);
    this.config = parts.config;
    this.tokenizer = parts.tokenizer;
    this.preprocessor = parts.preprocessor;
    this.vision = parts.vision;
    this.text = parts.text;
  }

  /**
   * Loads a model folder.
   *
   * @throws {ModelError} naming the missing file, or the inputs/outputs a graph has when they
   * are not the expected ones.
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
    const config = await readJson(join(root, "config.json"));
    const { preprocessor, source: preprocessorPath } = await loadPreprocessor(root, options);
    const vision = await VisionTower.create(join(root, "onnx", "vision_model.onnx"), options);
    const text = await TextTower.create(join(root, "onnx", "text_model.onnx"), options);
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
      const tokenizer = await loadTokenizer(root, config, {
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
      return new ClipModel({ dir: root, config, tokenizer, preprocessor, vision, text });
    } catch (error) {
      await vision.release();
      await text.release();
      throw error;
    }
  }

  /**
   * Encodes texts in batches of `batchSize`.
   *
   * @returns `texts.length × dim` L2-normalised embeddings, row-major, and `dim`.
   */
  async encodeTexts(
    texts: readonly string[],
    batchSize = 128,
  ): Promise<{ embeddings: Float32Array; dim: number }> {
    let out: Float32Array | undefined;
    let dim = 0;
    for (let start = 0; start < texts.length; start += batchSize) {
      const batch = this.tokenizer.encodeBatch(texts.slice(start, start + batchSize));
      const encoded = await this.text.encode(batch);
      dim = encoded.dim;
      out ??= new Float32Array(texts.length * dim);
      out.set(encoded.embeddings, start * dim);
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

  /** Releases both ONNX sessions. */
  async release(): Promise<void> {
    await this.vision.release();
    await this.text.release();
  }
}
