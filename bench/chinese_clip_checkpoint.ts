/**
 * A generated transformers `ChineseCLIPModel` checkpoint folder, shaped exactly like evalscope's
 * example model `AI-ModelScope/chinese-clip-vit-large-patch14-336px` (preset `vit-l-14-336`: a
 * ViT-L/14 vision tower at 336 px and a RoBERTa-base-sized BERT text tower, float32) or a tiny
 * one of the same layout (preset `tiny`), with seeded random weights:
 *
 * - `model.safetensors`: every tensor `save_pretrained` of transformers 4.40 writes for the
 *   model, by the same names and shapes, in name order (the text tower has no pooler —
 *   `ChineseCLIPModel` builds it without one — and the `position_ids` / `token_type_ids` buffers
 *   are not persistent, so not saved);
 * - `config.json` (`ChineseCLIPConfig`), `preprocessor_config.json`
 *   (`ChineseCLIPImageProcessor`);
 * - the slow `BertTokenizer` files: a generated `vocab.txt` of the model's vocabulary size
 *   (special tokens at BERT-Chinese's ids, then ASCII, CJK ideographs and `##` continuations),
 *   `tokenizer_config.json`, `special_tokens_map.json`.
 *
 * The bench converts it to time the converter and measure its peak memory (measure_convert.ts).
 *
 * @module
 */

import { join } from "node:path";
import { type CachedFolder, cachedFolder } from "./cache.ts";
import { type TensorToWrite, writeSafetensors } from "../tools/checkpoint/safetensors_writer.ts";
import { deriveSeed, SeededRandom } from "../tools/seeded_random.ts";

/** The sizes of a Chinese-CLIP model. */
export interface ChineseClipCheckpointShape {
  /** The CLIP vision tower. */
  readonly vision: {
    readonly imageSize: number;
    readonly patchSize: number;
    readonly width: number;
    readonly layers: number;
    readonly heads: number;
    readonly intermediate: number;
  };
  /** The BERT text tower. */
  readonly text: {
    readonly vocabSize: number;
    readonly maxPositions: number;
    readonly typeVocabSize: number;
    readonly width: number;
    readonly layers: number;
    readonly heads: number;
    readonly intermediate: number;
  };
  /** Width of the shared embedding space. */
  readonly projectionDim: number;
}

/** The generator's presets. */
export const CHINESE_CLIP_PRESETS = {
  /** evalscope's example model, `chinese-clip-vit-large-patch14-336px`. */
  "vit-l-14-336": {
    vision: {
      imageSize: 336,
      patchSize: 14,
      width: 1024,
      layers: 24,
      heads: 16,
      intermediate: 4096,
    },
    text: {
      vocabSize: 21128,
      maxPositions: 512,
      typeVocabSize: 2,
      width: 768,
      layers: 12,
      heads: 12,
      intermediate: 3072,
    },
    projectionDim: 768,
  },
  /** A small model of the same layout (for `--quick` and tests). */
  tiny: {
    vision: { imageSize: 32, patchSize: 8, width: 48, layers: 2, heads: 4, intermediate: 192 },
    text: {
      vocabSize: 21128,
      maxPositions: 512,
      typeVocabSize: 2,
      width: 32,
      layers: 2,
      heads: 4,
      intermediate: 128,
    },
    projectionDim: 16,
  },
} as const satisfies Record<string, ChineseClipCheckpointShape>;

/** A preset name. */
export type ChineseClipPreset = keyof typeof CHINESE_CLIP_PRESETS;

/** transformers' `logit_scale_init_value`: log(1 / 0.07). */
const LOGIT_SCALE = 2.6592;
/** Half-width of the uniform distribution of weights and biases. */
const WEIGHT_SCALE = 0.02;

/** How a tensor's values are drawn. */
type Init = "weight" | "norm-weight" | "logit-scale";

/** The tensor names and shapes of the model, with how each is initialised, unsorted. */
function tensorLayout(
  shape: ChineseClipCheckpointShape,
): { name: string; shape: number[]; init: Init }[] {
  const out: { name: string; shape: number[]; init: Init }[] = [];
  const add = (name: string, dims: number[], init: Init = "weight") =>
    out.push({ name, shape: dims, init });
  const linear = (prefix: string, inDim: number, outDim: number, bias = true) => {
    add(`${prefix}.weight`, [outDim, inDim]);
    if (bias) add(`${prefix}.bias`, [outDim]);
  };
  const norm = (prefix: string, width: number) => {
    add(`${prefix}.weight`, [width], "norm-weight");
    add(`${prefix}.bias`, [width]);
  };

  add("logit_scale", [], "logit-scale");

  const t = shape.text;
  add("text_model.embeddings.word_embeddings.weight", [t.vocabSize, t.width]);
  add("text_model.embeddings.position_embeddings.weight", [t.maxPositions, t.width]);
  add("text_model.embeddings.token_type_embeddings.weight", [t.typeVocabSize, t.width]);
  norm("text_model.embeddings.LayerNorm", t.width);
  for (let i = 0; i < t.layers; i++) {
    const layer = `text_model.encoder.layer.${i}`;
    for (const part of ["query", "key", "value"]) {
      linear(`${layer}.attention.self.${part}`, t.width, t.width);
    }
    linear(`${layer}.attention.output.dense`, t.width, t.width);
    norm(`${layer}.attention.output.LayerNorm`, t.width);
    linear(`${layer}.intermediate.dense`, t.width, t.intermediate);
    linear(`${layer}.output.dense`, t.intermediate, t.width);
    norm(`${layer}.output.LayerNorm`, t.width);
  }
  linear("text_projection", t.width, shape.projectionDim, false);

  const v = shape.vision;
  const patches = (v.imageSize / v.patchSize) ** 2;
  add("vision_model.embeddings.class_embedding", [v.width]);
  add("vision_model.embeddings.patch_embedding.weight", [v.width, 3, v.patchSize, v.patchSize]);
  add("vision_model.embeddings.position_embedding.weight", [patches + 1, v.width]);
  norm("vision_model.pre_layrnorm", v.width);
  for (let i = 0; i < v.layers; i++) {
    const layer = `vision_model.encoder.layers.${i}`;
    for (const part of ["q_proj", "k_proj", "v_proj", "out_proj"]) {
      linear(`${layer}.self_attn.${part}`, v.width, v.width);
    }
    norm(`${layer}.layer_norm1`, v.width);
    linear(`${layer}.mlp.fc1`, v.width, v.intermediate);
    linear(`${layer}.mlp.fc2`, v.intermediate, v.width);
    norm(`${layer}.layer_norm2`, v.width);
  }
  norm("vision_model.post_layernorm", v.width);
  linear("visual_projection", v.width, shape.projectionDim, false);
  return out;
}

/**
 * The model's tensors as `save_pretrained` writes them (sorted by name), each filled from its
 * own seeded stream: weights and biases uniform in ±0.02, LayerNorm weights 1 ± 0.02, and
 * `logit_scale` transformers' initial 2.6592.
 */
export function chineseClipTensors(
  shape: ChineseClipCheckpointShape,
  seed: number,
): TensorToWrite[] {
  return tensorLayout(shape)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(({ name, shape: dims, init }) => ({
      name,
      shape: dims,
      fill(out: Float32Array) {
        if (init === "logit-scale") {
          out.fill(LOGIT_SCALE);
          return;
        }
        new SeededRandom(deriveSeed(seed, name)).fillUniform(out, WEIGHT_SCALE);
        if (init === "norm-weight") { for (let i = 0; i < out.length; i++) out[i] += 1; }
      },
    }));
}

/** transformers' `config.json` of the model. */
export function chineseClipConfig(shape: ChineseClipCheckpointShape): Record<string, unknown> {
  const { text: t, vision: v } = shape;
  return {
    architectures: ["ChineseCLIPModel"],
    model_type: "chinese_clip",
    projection_dim: shape.projectionDim,
    logit_scale_init_value: LOGIT_SCALE,
    initializer_factor: 1.0,
    initializer_range: 0.02,
    torch_dtype: "float32",
    text_config: {
      model_type: "chinese_clip_text_model",
      vocab_size: t.vocabSize,
      hidden_size: t.width,
      num_hidden_layers: t.layers,
      num_attention_heads: t.heads,
      intermediate_size: t.intermediate,
      hidden_act: "gelu",
      max_position_embeddings: t.maxPositions,
      type_vocab_size: t.typeVocabSize,
      layer_norm_eps: 1e-12,
      pad_token_id: 0,
      position_embedding_type: "absolute",
    },
    vision_config: {
      model_type: "chinese_clip_vision_model",
      image_size: v.imageSize,
      patch_size: v.patchSize,
      hidden_size: v.width,
      num_hidden_layers: v.layers,
      num_attention_heads: v.heads,
      intermediate_size: v.intermediate,
      hidden_act: "quick_gelu",
      layer_norm_eps: 1e-5,
      num_channels: 3,
    },
  };
}

/** `preprocessor_config.json`: `ChineseCLIPImageProcessor` resizing straight to the image size. */
export function chineseClipPreprocessorConfig(imageSize: number): Record<string, unknown> {
  return {
    image_processor_type: "ChineseCLIPImageProcessor",
    do_resize: true,
    size: { height: imageSize, width: imageSize },
    resample: 3,
    do_center_crop: false,
    crop_size: { height: imageSize, width: imageSize },
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_std: [0.26862954, 0.26130258, 0.27577711],
    do_convert_rgb: true,
  };
}

/**
 * A BERT-Chinese-like vocabulary of `size` distinct tokens: `[PAD]`, `[unused1]`…`[unused99]`,
 * `[UNK]` (100), `[CLS]` (101), `[SEP]` (102), `[MASK]` (103), printable ASCII without capitals,
 * CJK ideographs from U+4E00, then `##` continuations of those.
 *
 * @throws {RangeError} when `size` is below the 104 special tokens or above what it can make.
 */
export function bertVocabulary(size: number): string[] {
  const tokens = ["[PAD]"];
  for (let i = 1; i <= 99; i++) tokens.push(`[unused${i}]`);
  tokens.push("[UNK]", "[CLS]", "[SEP]", "[MASK]");
  if (size < tokens.length) throw new RangeError(`a vocabulary needs ≥ ${tokens.length} tokens`);
  const plain: string[] = [];
  for (let c = 0x21; c <= 0x7e; c++) {
    if (c < 0x41 || c > 0x5a) plain.push(String.fromCharCode(c));
  }
  for (let c = 0x4e00; c <= 0x9fff; c++) plain.push(String.fromCharCode(c));
  const candidates = [...plain, ...plain.map((token) => `##${token}`)];
  if (size - tokens.length > candidates.length) {
    throw new RangeError(`vocabulary size ${size} is above the ${candidates.length + 104} made`);
  }
  return [...tokens, ...candidates.slice(0, size - tokens.length)];
}

/**
 * Writes the checkpoint folder of `shape` with weights from `seed` into `dir` (see the module
 * documentation).
 *
 * @returns The size of `model.safetensors` in bytes.
 */
export async function writeChineseClipCheckpoint(
  dir: string,
  shape: ChineseClipCheckpointShape,
  seed: number,
): Promise<number> {
  await Deno.mkdir(dir, { recursive: true });
  const json = (file: string, value: unknown) =>
    Deno.writeTextFile(join(dir, file), JSON.stringify(value, null, 2) + "\n");
  await json("config.json", chineseClipConfig(shape));
  await json("preprocessor_config.json", chineseClipPreprocessorConfig(shape.vision.imageSize));
  await Deno.writeTextFile(
    join(dir, "vocab.txt"),
    bertVocabulary(shape.text.vocabSize).join("\n") + "\n",
  );
  await json("tokenizer_config.json", {
    tokenizer_class: "BertTokenizer",
    do_lower_case: true,
    tokenize_chinese_chars: true,
    strip_accents: null,
    model_max_length: 52,
    unk_token: "[UNK]",
    sep_token: "[SEP]",
    pad_token: "[PAD]",
    cls_token: "[CLS]",
    mask_token: "[MASK]",
  });
  await json("special_tokens_map.json", {
    unk_token: "[UNK]",
    sep_token: "[SEP]",
    pad_token: "[PAD]",
    cls_token: "[CLS]",
    mask_token: "[MASK]",
  });
  return await writeSafetensors(
    join(dir, "model.safetensors"),
    chineseClipTensors(shape, seed),
    { format: "pt" },
  );
}

/** Bumped whenever the generated folder changes for the same preset and seed. */
export const CHECKPOINT_GENERATOR_VERSION = 1;

/**
 * The generated checkpoint of `preset` with weights from `seed`, from the bench cache or built;
 * the folder is `<entry>/chinese-clip-<preset>`.
 */
export async function generatedChineseClipCheckpoint(
  cacheRoot: string,
  preset: ChineseClipPreset,
  seed = 0,
): Promise<CachedFolder> {
  const shape = CHINESE_CLIP_PRESETS[preset];
  const name = `chinese-clip-${preset}`;
  const entry = await cachedFolder(
    cacheRoot,
    "checkpoints",
    `${name}-seed${seed}`,
    { version: CHECKPOINT_GENERATOR_VERSION, preset, seed, shape },
    async (dir) => {
      await writeChineseClipCheckpoint(join(dir, name), shape, seed);
    },
  );
  return { ...entry, dir: join(entry.dir, name) };
}
