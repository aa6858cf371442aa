/**
 * Repository contents for the hub tests: a tiny Chinese-CLIP ONNX model (the joint graph and
 * WordPiece tokenizer of tests/_onnx_fixtures.ts, in the transformers.js layout), a PyTorch-only
 * repository shaped like ModelScope's `AI-ModelScope/chinese-clip-vit-large-patch14-336px`, and
 * tiny retrieval and classification WebDatasets in CLIP_benchmark's layout whose images are the
 * first Fashion-MNIST test images of the bundled demo shard.
 *
 * @module
 */

import { join } from "node:path";
import {
  fixtureWeights,
  IMAGE_SIZE,
  jointGraph,
  type ModelFolder,
  textTowerGraph,
  visionTowerGraph,
  WORDPIECE_VOCAB,
  wordPieceTokenizer,
  writeModelFolder,
} from "./_onnx_fixtures.ts";
import { makeTar, readTarMembers } from "./_tar_writer.ts";

/** A repository's files by path. */
export type RepoFiles = Record<string, Uint8Array>;

const encoder = new TextEncoder();

/** Reads every file under `dir` into a path → bytes record (paths `/`-separated). */
export async function readFolder(dir: string, prefix = ""): Promise<RepoFiles> {
  const files: RepoFiles = {};
  for await (const entry of Deno.readDir(join(dir, prefix))) {
    const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory) Object.assign(files, await readFolder(dir, path));
    else files[path] = await Deno.readFile(join(dir, path));
  }
  return files;
}

/** The Chinese-CLIP fixture model's folder description. */
function chineseClipFolder(
  graphs: ModelFolder["graphs"],
): ModelFolder {
  return {
    config: { model_type: "chinese_clip", text_config: { max_position_embeddings: 512 } },
    preprocessor: {
      feature_extractor_type: "ChineseCLIPFeatureExtractor",
      do_resize: true,
      size: { height: IMAGE_SIZE, width: IMAGE_SIZE },
      do_center_crop: false,
      crop_size: 224,
      resample: 3,
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_std: [0.26862954, 0.26130258, 0.27577711],
    },
    tokenizer: wordPieceTokenizer(52),
    graphs,
  };
}

/**
 * A tiny Chinese-CLIP export: `onnx/model.onnx` (joint graph), and with `variants` also
 * `onnx/model_quantized.onnx` (its weights in `model_quantized.onnx_data`) and fp16-named towers
 * `onnx/vision_model_fp16.onnx` / `onnx/text_model_fp16.onnx` (float32 inside; only the file
 * choice is under test there).
 */
export async function tinyChineseClipFiles(variants = false): Promise<RepoFiles> {
  const weights = fixtureWeights(WORDPIECE_VOCAB.length, 31);
  const text = { pooling: "masked_mean", attentionMask: true, tokenTypeIds: true } as const;
  const graphs: ModelFolder["graphs"] = variants
    ? {
      "model.onnx": jointGraph(weights, text),
      "model_quantized.onnx": { graph: jointGraph(weights, text), externalData: true },
      "vision_model_fp16.onnx": visionTowerGraph(weights, {}),
      "text_model_fp16.onnx": textTowerGraph(weights, text),
    }
    : { "model.onnx": jointGraph(weights, text) };
  const dir = await Deno.makeTempDir({ prefix: "clipbench_fixture_model_" });
  try {
    await writeModelFolder(dir, chineseClipFolder(graphs));
    const files = await readFolder(dir);
    files["README.md"] = encoder.encode("# tiny chinese-clip fixture\n");
    return files;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The model id of evalscope's clip_benchmark example (a ModelScope repository). */
export const SEED_MODEL_ID = "AI-ModelScope/chinese-clip-vit-large-patch14-336px";

/** evalscope's clip_benchmark example task configuration, as its documentation gives it. */
export const SEED_TASK_CFG = {
  work_dir: "outputs",
  eval_backend: "RAGEval",
  eval_config: {
    tool: "clip_benchmark",
    eval: {
      models: [{ model_name: SEED_MODEL_ID }],
      dataset_name: ["muge", "flickr8k"],
      split: "test",
      batch_size: 128,
      num_workers: 1,
      verbose: true,
      skip_existing: false,
      cache_dir: "cache",
      limit: 1000,
    },
  },
} as const;

/**
 * A repository holding PyTorch weights only, as ModelScope's
 * `AI-ModelScope/chinese-clip-vit-large-patch14-336px` does.
 */
export function pytorchOnlyFiles(): RepoFiles {
  return {
    "config.json": encoder.encode(JSON.stringify({ model_type: "chinese_clip" })),
    "configuration.json": encoder.encode(JSON.stringify({ framework: "pytorch" })),
    "preprocessor_config.json": encoder.encode("{}"),
    "pytorch_model.bin": new Uint8Array(4096).map((_, i) => (i * 7) & 0xff),
    "vocab.txt": encoder.encode("[PAD]\n[UNK]\n"),
    "README.md": encoder.encode("# weights only\n"),
  };
}

const DEMO_SHARD = new URL("../examples/demo/data/fashion_mnist_1k/test/0.tar", import.meta.url);

/** The first `count` PNG images of the demo shard. */
export async function demoImages(count: number): Promise<Uint8Array[]> {
  const members = readTarMembers(await Deno.readFile(DEMO_SHARD));
  return members.filter((m) => m.name.endsWith(".png")).slice(0, count).map((m) => m.data);
}

/** Captions per image of the retrieval fixtures (Chinese and English, WordPiece vocabulary). */
const CAPTIONS = [
  ["一张猫的照片", "a photo of a cat"],
  ["狗的照片", "a photo of a dog"],
  ["一张狗", "dogs"],
  ["猫。", "a cat，a dog"],
  ["照片", "of a photo"],
  ["一张猫", "cats"],
];

/**
 * A retrieval WebDataset: `dataset_type.txt` = `retrieval`, and for each split `nshards.txt`
 * and shards of `perShard` samples (`png` + two-line `txt`).
 */
export async function retrievalDatasetFiles(
  options: { splits?: readonly string[]; shards?: number; perShard?: number } = {},
): Promise<RepoFiles> {
  const shards = options.shards ?? 2;
  const perShard = options.perShard ?? 3;
  const images = await demoImages(shards * perShard);
  const files: RepoFiles = { "dataset_type.txt": encoder.encode("retrieval\n") };
  for (const split of options.splits ?? ["test"]) {
    files[`${split}/nshards.txt`] = encoder.encode(`${shards}\n`);
    for (let shard = 0; shard < shards; shard++) {
      const members = [];
      for (let i = shard * perShard; i < (shard + 1) * perShard; i++) {
        const key = `s${String(i).padStart(7, "0")}`;
        members.push({ name: `${key}.png`, data: images[i] });
        members.push({ name: `${key}.txt`, data: CAPTIONS[i % CAPTIONS.length].join("\n") });
      }
      files[`${split}/${shard}.tar`] = makeTar(members);
    }
  }
  return files;
}
