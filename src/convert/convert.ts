/**
 * Converting a PyTorch checkpoint folder into a model folder in the transformers.js layout that
 * `ClipModel.load` reads:
 *
 * ```
 * <out>/onnx/vision_model.onnx        pixel_values → image_embeds
 * <out>/onnx/text_model.onnx          input_ids (+ attention_mask / token_type_ids) → text_embeds
 *                                     (`*_fp16.onnx` instead with `dtype: "fp16"`: computed in
 *                                     float16, as transformers.js's fp16 exports are)
 * <out>/onnx/*.onnx_data              initializers, for a tower above 1 GiB
 * <out>/config.json                   transformers' config (open_clip's model_cfg translated)
 * <out>/preprocessor_config.json      the checkpoint's (open_clip's preprocess_cfg translated)
 * <out>/tokenizer.json …              the checkpoint's, else built from its slow tokenizer files,
 *                                     else from `tokenizerDir`; none when there is none
 * <out>/clipbench_conversion.json     what was converted: architecture, weight files and hashes
 * ```
 *
 * The folder is written beside `<out>` under a temporary name and renamed into place when
 * complete, so a folder at `<out>` is never half-written.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { ModelError, UsageError } from "../errors.ts";
import { findWeightFiles, openCheckpoint } from "../checkpoint/open_checkpoint.ts";
import { pathExists } from "../io/path_exists.ts";
import { type GraphBuilder, saveModel } from "../onnx/builder.ts";
import { DTYPE_SUFFIXES } from "../model/files.ts";
import { tokenizerJsonFromSlowFiles } from "../model/text/slow/mod.ts";
import { VERSION } from "../version.ts";
import { detectArchitecture } from "./architectures/mod.ts";

/**
 * The converter's version: converted folders made by another version are converted again (it
 * changes whenever a graph or a written file would change).
 */
export const CONVERTER_VERSION = 1;

/** The file recording a conversion; its presence marks a complete converted folder. */
export const CONVERSION_RECORD = "clipbench_conversion.json";

/** A tower whose initializers exceed this is written with its weights in `<graph>.onnx_data`. */
export const EXTERNAL_DATA_THRESHOLD = 1024 ** 3;

/** Tokenizer files copied as they are when present. */
const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

/**
 * Precisions a checkpoint converts to: float32 graphs, float16 ones (`*_fp16.onnx`), or float32
 * ones whose linear layers' weights are int8 (`*_int8.onnx`, onnxruntime's
 * `DynamicQuantizeMatMul`).
 */
export const CONVERT_DTYPES = ["fp32", "fp16", "int8"] as const;

/** A precision a checkpoint converts to (see {@linkcode CONVERT_DTYPES}). */
export type ConvertDtype = typeof CONVERT_DTYPES[number];

/** Options of {@linkcode convertCheckpoint}. */
export interface ConvertOptions {
  /**
   * `fp32` (default): the graphs compute in float32, whatever the weights' stored type. `fp16`:
   * they compute in float16 and are named as transformers.js names its fp16 variants
   * (`vision_model_fp16.onnx`), which `--dtype fp16` loads. `int8`: the MatMul weights are
   * quantised per output column (`GraphBuilder.quantizeMatMulWeights`), `vision_model_int8.onnx`.
   */
  readonly dtype?: ConvertDtype;
  /** A folder whose tokenizer (tokenizer.json, or slow files) is used when the checkpoint has none. */
  readonly tokenizerDir?: string;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

/** What {@linkcode convertCheckpoint} wrote. */
export interface ConversionRecord {
  /** {@linkcode CONVERTER_VERSION} of the converter that wrote it. */
  readonly converter_version: number;
  /** The clipbench version that wrote it. */
  readonly clipbench_version: string;
  /** The architecture converted (`clip`, `chinese_clip`, `siglip`, `open_clip`). */
  readonly architecture: string;
  /** The graphs' precision. */
  readonly dtype: ConvertDtype;
  /** The checkpoint folder converted. */
  readonly source: string;
  /** The weight files read (base names). */
  readonly weights: readonly string[];
  /** Where the tokenizer came from. */
  readonly tokenizer: "tokenizer.json" | "slow files" | "tokenizer folder" | "none";
  /** Stored tensors no graph used (e.g. a pooler transformers does not use for features). */
  readonly unused_tensors: readonly string[];
  /** The model's logit scale (before `exp`). */
  readonly logit_scale: number;
  /** The model's logit bias, if any. */
  readonly logit_bias?: number;
}

/**
 * Converts the checkpoint in `checkpointDir` into a model folder at `outDir` (see the module
 * documentation).
 *
 * @throws {UsageError} when `outDir` exists and is not empty.
 * @throws {ModelError} (a `CheckpointError` for weight files) naming the file and the tensor,
 *   option or global at fault; nothing is left at `outDir`.
 */
export async function convertCheckpoint(
  checkpointDir: string,
  outDir: string,
  options: ConvertOptions = {},
): Promise<ConversionRecord> {
  const log = options.log ?? (() => {});
  const dtype = options.dtype ?? "fp32";
  if (await isNonEmptyFolder(outDir)) {
    throw new UsageError(`${outDir} exists and is not empty: choose another --output folder`);
  }
  const { architecture, config, configPath } = await detectArchitecture(checkpointDir);
  const weightFiles = (await findWeightFiles(checkpointDir)).files;
  log(
    `converting ${checkpointDir} (${architecture.name}: ${
      weightFiles.map((f) => basename(f)).join(", ")
    })`,
  );
  const checkpoint = await openCheckpoint(checkpointDir);
  const read = new Set<string>();
  const converted = architecture.build(config, {
    files: checkpoint.files,
    names: () => checkpoint.names(),
    get: (name) => {
      read.add(name);
      return checkpoint.get(name);
    },
  }, configPath);
  const partial = join(dirname(outDir), `.${basename(outDir)}.${crypto.randomUUID()}.partial`);
  try {
    await Deno.mkdir(join(partial, "onnx"), { recursive: true });
    const suffix = DTYPE_SUFFIXES[dtype];
    for (const [graph, base] of [[converted.vision, "vision"], [converted.text, "text"]] as const) {
      if (dtype === "fp16") graph.convertToFloat16();
      if (dtype === "int8") graph.quantizeMatMulWeights();
      const file = `${base}_model${suffix}`;
      await writeGraph(graph, join(partial, "onnx"), file);
      log(`wrote onnx/${file}.onnx`);
    }
    await writeJson(join(partial, "config.json"), converted.config);
    const preprocessorPath = join(checkpointDir, "preprocessor_config.json");
    if (converted.preprocessorConfig !== undefined) {
      await writeJson(join(partial, "preprocessor_config.json"), converted.preprocessorConfig);
    } else if (await pathExists(preprocessorPath)) {
      await Deno.copyFile(preprocessorPath, join(partial, "preprocessor_config.json"));
    } else {
      throw new ModelError(`${checkpointDir}: no preprocessor_config.json`, {
        path: preprocessorPath,
      });
    }
    const tokenizer = await writeTokenizer(checkpointDir, partial, options.tokenizerDir);
    if (tokenizer === "none") {
      log(
        `${checkpointDir} has no tokenizer files: evaluating the converted model needs ` +
          `--tokenizer <folder or hub id>`,
      );
    }
    const record: ConversionRecord = {
      converter_version: CONVERTER_VERSION,
      clipbench_version: VERSION,
      architecture: architecture.name,
      dtype,
      source: checkpointDir,
      weights: weightFiles.map((f) => basename(f)),
      tokenizer,
      unused_tensors: checkpoint.names().filter((name) => !read.has(name)),
      logit_scale: converted.logitScale,
      ...(converted.logitBias === undefined ? {} : { logit_bias: converted.logitBias }),
    };
    await writeJson(join(partial, CONVERSION_RECORD), record);
    await Deno.remove(outDir).catch(() => {}); // an empty folder given as --output
    await Deno.rename(partial, outDir);
    return record;
  } catch (error) {
    await Deno.remove(partial, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** Writes `<folder>/<name>.onnx`, with its initializers in `<name>.onnx_data` above 1 GiB. */
async function writeGraph(graph: GraphBuilder, folder: string, name: string): Promise<void> {
  await saveModel(join(folder, `${name}.onnx`), graph, {
    externalData: graph.initializerBytes > EXTERNAL_DATA_THRESHOLD ? { minBytes: 1024 } : undefined,
  });
}

/**
 * Writes the tokenizer files: the checkpoint's tokenizer.json, else one built from its slow
 * tokenizer files, else the tokenizer folder's (as it is, or built); tokenizer_config.json and
 * special_tokens_map.json come along from wherever the tokenizer came from.
 */
async function writeTokenizer(
  checkpointDir: string,
  out: string,
  tokenizerDir: string | undefined,
): Promise<ConversionRecord["tokenizer"]> {
  const fromFolder = async (folder: string): Promise<boolean> => {
    if (await pathExists(join(folder, "tokenizer.json"))) {
      await copyPresent(folder, out, TOKENIZER_FILES);
      return true;
    }
    const built = await tokenizerJsonFromSlowFiles(folder);
    if (built === undefined) return false;
    await writeJson(join(out, "tokenizer.json"), built);
    await copyPresent(folder, out, TOKENIZER_FILES.slice(1));
    return true;
  };
  if (await pathExists(join(checkpointDir, "tokenizer.json"))) {
    await copyPresent(checkpointDir, out, TOKENIZER_FILES);
    return "tokenizer.json";
  }
  if (await fromFolder(checkpointDir)) return "slow files";
  if (tokenizerDir !== undefined) {
    if (await fromFolder(tokenizerDir)) return "tokenizer folder";
    throw new ModelError(`${tokenizerDir}: no tokenizer.json nor slow tokenizer files`, {
      path: tokenizerDir,
    });
  }
  return "none";
}

async function copyPresent(from: string, to: string, files: readonly string[]): Promise<void> {
  for (const file of files) {
    if (await pathExists(join(from, file))) await Deno.copyFile(join(from, file), join(to, file));
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(value, null, 2) + "\n");
}

async function isNonEmptyFolder(path: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(path)) return true;
    return false;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    if (error instanceof Deno.errors.NotADirectory) return true;
    throw error;
  }
}
