/**
 * Writes a CLIP-shaped model folder with seeded random weights, in the transformers.js layout
 * that `ClipModel.load` reads, at any size: the `tiny` preset for tests and smoke runs, OpenAI's
 * ViT-B/32 (`vit-b-32`) for the benchmark. Inference speed does not depend on the weight values,
 * so a generated ViT-B/32 measures the real cost of the real architecture without a download.
 *
 * ```
 * <out>/onnx/vision_model.onnx     pixel_values → image_embeds
 * <out>/onnx/text_model.onnx       input_ids → text_embeds
 * <out>/config.json                model_type clip, text_config, vision_config (HF CLIPConfig)
 * <out>/preprocessor_config.json   CLIPImageProcessor: shortest edge, bicubic, centre crop,
 *                                  OpenAI mean and std
 * <out>/tokenizer.json …           the demo model's CLIP BPE tokenizer (874 ids)
 * ```
 *
 * The graphs are built by src/convert/graph/ (see clip_towers.ts for their structure), with
 * weights from tools/clip_model/seeded_weights.ts. The tokenizer
 * is the shipped demo's (`examples/demo/tiny-clip-demo`): its ids are all below 874, and the
 * text tower's embedding table has `text.vocabSize` rows (49,408 for ViT-B/32, as the real
 * vocabulary), so the table costs what the real one costs while every id the tokenizer makes
 * is a row of it. The end-of-text token has the tokenizer's highest id, so the text tower's
 * arg-max pooling finds it as in the real model. The same seed gives the same bytes.
 *
 * ```sh
 * deno run -A tools/generate_clip_model.ts --preset vit-b-32 --seed 0 --out .cache/vit-b-32
 * deno run -A tools/generate_clip_model.ts --preset tiny --text-layers 4 --out /tmp/tiny
 * deno run -A tools/generate_clip_model.ts --preset tiny --format safetensors --out /tmp/ckpt
 * ```
 *
 * With `--format safetensors` the same weights are written as a transformers `CLIPModel`
 * checkpoint (`model.safetensors`, names and layouts as `save_pretrained` writes them, plus
 * `logit_scale`) instead of ONNX graphs: the input of `cli.ts convert`, whose output then equals
 * the ONNX model of the same seed.
 *
 * Sizes can be overridden one by one (`--image-size`, `--patch-size`, `--vision-width`,
 * `--vision-layers`, `--vision-heads`, `--vision-intermediate`, `--context-length`,
 * `--vocab-size`, `--text-width`, `--text-layers`, `--text-heads`, `--text-intermediate`,
 * `--embed-dim`, `--activation quick_gelu|gelu`).
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { encodeModel } from "../src/onnx/builder.ts";
import { buildTextTower, buildVisionTower } from "../src/convert/graph/clip_towers.ts";
import {
  type Activation,
  type ClipShape,
  towerParameters,
  validateClipShape,
} from "../src/convert/graph/clip_shape.ts";
import { CLIP_PRESETS, type ClipPreset } from "./clip_model/presets.ts";
import { SeededWeights } from "./clip_model/seeded_weights.ts";
import { StateDictRecorder } from "./clip_model/state_dict_recorder.ts";
import { writeSafetensors } from "./checkpoint/safetensors_writer.ts";
import { deriveSeed } from "./seeded_random.ts";

/** The folder whose tokenizer files generated models share. */
const TOKENIZER_SOURCE = new URL("../examples/demo/tiny-clip-demo/", import.meta.url);
/** Tokenizer files copied as they are (tokenizer_config.json is rewritten). */
const TOKENIZER_FILES = ["tokenizer.json", "special_tokens_map.json"];

/** transformers' `logit_scale_init_value`, ln(1 / 0.07) rounded as CLIPConfig writes it. */
const LOGIT_SCALE_INIT = 2.6592;

/** OpenAI CLIP's normalisation, as `openai/clip-vit-base-patch32`'s processor declares it. */
const OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_STD = [0.26862954, 0.26130258, 0.27577711];

/** Options of {@linkcode generateClipModel}. */
export interface GenerateClipModelOptions {
  /** Folder to write (created; existing files of the same names are replaced). */
  readonly out: string;
  /** The sizes (see {@linkcode CLIP_PRESETS}). */
  readonly shape: ClipShape;
  /** Weight seed; default 0. */
  readonly seed?: number;
  /** Recorded in config.json's `clipbench_generator` entry (e.g. the preset's name). */
  readonly label?: string;
  /**
   * `onnx` (default): the two ONNX towers in `onnx/`. `safetensors`: the same weights as a
   * transformers `CLIPModel` checkpoint, `model.safetensors` (what `cli.ts convert` reads).
   */
  readonly format?: "onnx" | "safetensors";
  /**
   * With `onnx`: also write each tower with int8 MatMul weights (`*_int8.onnx`, as
   * `cli.ts convert --dtype int8` writes them; `--int8`), for `--dtype int8`.
   */
  readonly int8?: boolean;
}

/** What {@linkcode generateClipModel} wrote. */
export interface GeneratedClipModel {
  /** The model folder. */
  readonly dir: string;
  /** Bytes of each ONNX file (for `safetensors`: the whole file in `vision`, 0 in `text`). */
  readonly bytes: { readonly vision: number; readonly text: number };
  /** Parameters (weights) of each tower. */
  readonly parameters: { readonly vision: number; readonly text: number };
}

interface TokenizerInfo {
  /** Highest id + 1. */
  readonly size: number;
  readonly bos: number;
  readonly eos: number;
}

/** Reads the shared tokenizer's id range and its start and end token ids. */
async function tokenizerInfo(): Promise<TokenizerInfo> {
  const json = JSON.parse(await Deno.readTextFile(new URL("tokenizer.json", TOKENIZER_SOURCE)));
  const ids: number[] = Object.values(json.model.vocab as Record<string, number>);
  const added = json.added_tokens as { id: number; content: string }[];
  for (const token of added) ids.push(token.id);
  const idOf = (content: string) => {
    const token = added.find((t) => t.content === content);
    if (!token) throw new Error(`${TOKENIZER_SOURCE.pathname}tokenizer.json has no ${content}`);
    return token.id;
  };
  return { size: Math.max(...ids) + 1, bos: idOf("<|startoftext|>"), eos: idOf("<|endoftext|>") };
}

/** HF `CLIPConfig` for the shape. */
function modelConfig(
  shape: ClipShape,
  tokenizer: TokenizerInfo,
  generator: Record<string, unknown>,
): Record<string, unknown> {
  const { vision, text } = shape;
  return {
    architectures: ["CLIPModel"],
    model_type: "clip",
    projection_dim: shape.embedDim,
    logit_scale_init_value: LOGIT_SCALE_INIT,
    torch_dtype: "float32",
    text_config: {
      model_type: "clip_text_model",
      vocab_size: text.vocabSize,
      hidden_size: text.width,
      intermediate_size: text.intermediate,
      num_hidden_layers: text.layers,
      num_attention_heads: text.heads,
      max_position_embeddings: text.contextLength,
      hidden_act: shape.activation,
      layer_norm_eps: 1e-5,
      projection_dim: shape.embedDim,
      bos_token_id: tokenizer.bos,
      eos_token_id: tokenizer.eos,
      pad_token_id: tokenizer.eos,
    },
    vision_config: {
      model_type: "clip_vision_model",
      image_size: vision.imageSize,
      patch_size: vision.patchSize,
      num_channels: 3,
      hidden_size: vision.width,
      intermediate_size: vision.intermediate,
      num_hidden_layers: vision.layers,
      num_attention_heads: vision.heads,
      hidden_act: shape.activation,
      layer_norm_eps: 1e-5,
      projection_dim: shape.embedDim,
    },
    clipbench_generator: generator,
  };
}

/** CLIPImageProcessor settings for the shape's image size. */
function preprocessorConfig(imageSize: number): Record<string, unknown> {
  return {
    crop_size: { height: imageSize, width: imageSize },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    feature_extractor_type: "CLIPFeatureExtractor",
    image_mean: OPENAI_MEAN,
    image_processor_type: "CLIPImageProcessor",
    image_std: OPENAI_STD,
    resample: 3,
    rescale_factor: 1 / 255,
    size: { shortest_edge: imageSize },
  };
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(value, null, 2) + "\n");
}

/**
 * Writes a model folder (see the module note).
 *
 * @throws {RangeError} when the shape cannot be built (see {@linkcode validateClipShape}).
 */
export async function generateClipModel(
  options: GenerateClipModelOptions,
): Promise<GeneratedClipModel> {
  const { out, shape } = options;
  const seed = options.seed ?? 0;
  const tokenizer = await tokenizerInfo();
  validateClipShape(shape, tokenizer.size);
  await Deno.mkdir(out, { recursive: true });

  const bytes = { vision: 0, text: 0 };
  const checkpoint = options.format === "safetensors";
  const recorders: StateDictRecorder[] = [];
  for (const tower of ["vision", "text"] as const) {
    // One tower at a time, so only one set of weights is held (for ONNX).
    const towerSeed = deriveSeed(seed, tower);
    const weights = checkpoint
      ? new StateDictRecorder(new SeededWeights(towerSeed))
      : new SeededWeights(towerSeed);
    if (weights instanceof StateDictRecorder) recorders.push(weights);
    const graph = tower === "vision"
      ? buildVisionTower(shape, weights)
      : buildTextTower(shape, weights);
    if (checkpoint) continue;
    const { model } = encodeModel(graph, { opset: 17, producer: "clipbench-generate-clip-model" });
    await Deno.mkdir(join(out, "onnx"), { recursive: true });
    await Deno.writeFile(join(out, "onnx", `${tower}_model.onnx`), model);
    bytes[tower] = model.length;
    if (options.int8) {
      graph.quantizeMatMulWeights();
      const quantized = encodeModel(graph, {
        opset: 17,
        producer: "clipbench-generate-clip-model",
      });
      await Deno.writeFile(join(out, "onnx", `${tower}_model_int8.onnx`), quantized.model);
    }
  }
  if (checkpoint) {
    // transformers' initial logit scale, ln(1 / 0.07).
    recorders[0].add("logit_scale", [], Float32Array.of(LOGIT_SCALE_INIT));
    const tensors = recorders.flatMap((recorder) => recorder.tensors());
    const size = await writeSafetensors(
      join(out, "model.safetensors"),
      tensors.map((t) => ({
        name: t.name,
        shape: t.shape,
        fill: (values) => values.set(t.values),
      })),
      { format: "pt" },
    );
    bytes.vision = size;
  }

  await writeJson(
    join(out, "config.json"),
    modelConfig(shape, tokenizer, {
      tool: "tools/generate_clip_model.ts",
      seed,
      ...(options.label !== undefined && { preset: options.label }),
      note: "random weights: for speed measurements only, the embeddings mean nothing",
    }),
  );
  await writeJson(
    join(out, "preprocessor_config.json"),
    preprocessorConfig(shape.vision.imageSize),
  );
  for (const file of TOKENIZER_FILES) {
    // Read and written rather than copied, so the copy does not inherit a read-only mode.
    await Deno.writeFile(join(out, file), await Deno.readFile(new URL(file, TOKENIZER_SOURCE)));
  }
  const tokenizerConfig = JSON.parse(
    await Deno.readTextFile(new URL("tokenizer_config.json", TOKENIZER_SOURCE)),
  );
  tokenizerConfig.model_max_length = shape.text.contextLength;
  await writeJson(join(out, "tokenizer_config.json"), tokenizerConfig);
  return { dir: out, bytes, parameters: towerParameters(shape) };
}

/** Command-line flags that override one size each, by the shape field they set. */
const SIZE_FLAGS: Readonly<Record<string, readonly ["vision" | "text" | "", string]>> = {
  "image-size": ["vision", "imageSize"],
  "patch-size": ["vision", "patchSize"],
  "vision-width": ["vision", "width"],
  "vision-layers": ["vision", "layers"],
  "vision-heads": ["vision", "heads"],
  "vision-intermediate": ["vision", "intermediate"],
  "context-length": ["text", "contextLength"],
  "vocab-size": ["text", "vocabSize"],
  "text-width": ["text", "width"],
  "text-layers": ["text", "layers"],
  "text-heads": ["text", "heads"],
  "text-intermediate": ["text", "intermediate"],
  "embed-dim": ["", "embedDim"],
};

const USAGE = `usage: deno run -A tools/generate_clip_model.ts --out DIR [--preset tiny|vit-b-32]
  [--seed N] [--format onnx|safetensors] [--int8] [--activation quick_gelu|gelu] [--${
  Object.keys(SIZE_FLAGS).join(" N] [--")
} N]`;

function integerFlag(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`--${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** Parses the command line into generator options. */
export function parseGeneratorArgs(args: readonly string[]): GenerateClipModelOptions {
  const sizeOptions = Object.fromEntries(
    Object.keys(SIZE_FLAGS).map((name) => [name, { type: "string" as const }]),
  );
  const { values } = parseArgs({
    args: [...args],
    options: {
      preset: { type: "string", default: "tiny" },
      seed: { type: "string", default: "0" },
      out: { type: "string" },
      activation: { type: "string" },
      format: { type: "string", default: "onnx" },
      int8: { type: "boolean", default: false },
      ...sizeOptions,
    },
    strict: true,
  });
  if (!values.out) throw new RangeError("--out DIR is required");
  const preset = values.preset as string;
  if (!(preset in CLIP_PRESETS)) {
    throw new RangeError(
      `--preset must be one of ${Object.keys(CLIP_PRESETS).join(", ")}, got ${preset}`,
    );
  }
  const base = CLIP_PRESETS[preset as ClipPreset];
  const vision: Record<string, number> = { ...base.vision };
  const text: Record<string, number> = { ...base.text };
  let embedDim = base.embedDim;
  let changed = false;
  for (const [flag, [tower, field]] of Object.entries(SIZE_FLAGS)) {
    const given = (values as unknown as Record<string, string | undefined>)[flag];
    if (given === undefined) continue;
    changed = true;
    const value = integerFlag(flag, given);
    if (tower === "vision") vision[field] = value;
    else if (tower === "text") text[field] = value;
    else embedDim = value;
  }
  const activation = (values.activation ?? base.activation) as Activation;
  const shape = {
    vision: vision as unknown as ClipShape["vision"],
    text: text as unknown as ClipShape["text"],
    embedDim,
    activation,
  };
  const format = values.format as string;
  if (format !== "onnx" && format !== "safetensors") {
    throw new RangeError(`--format must be onnx or safetensors, got ${format}`);
  }
  return {
    out: values.out,
    format,
    int8: values.int8,
    shape,
    seed: integerFlag("seed", values.seed as string),
    label: changed || activation !== base.activation ? `${preset} (modified)` : preset,
  };
}

if (import.meta.main) {
  let options: GenerateClipModelOptions;
  try {
    options = parseGeneratorArgs(Deno.args);
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  const started = performance.now();
  const result = await generateClipModel(options);
  const megabytes = (n: number) => (n / 2 ** 20).toFixed(1);
  const { vision, text } = result.parameters;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    options.format === "safetensors"
      ? `wrote ${result.dir}: ${(vision + text).toLocaleString("en")} parameters ` +
        `(model.safetensors, ${megabytes(result.bytes.vision)} MiB) in ${seconds} s`
      : `wrote ${result.dir}: vision ${vision.toLocaleString("en")} parameters ` +
        `(${megabytes(result.bytes.vision)} MiB), text ${text.toLocaleString("en")} parameters ` +
        `(${megabytes(result.bytes.text)} MiB) in ${seconds} s`,
  );
}
