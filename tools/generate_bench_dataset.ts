/**
 * Writes the benchmark's classification dataset: a WebDataset in CLIP_benchmark's layout of
 * photo-like JPEGs (640×480 by default, quality 90, 4:2:0, as Pillow saves them), generated
 * deterministically from a seed — no download, and the same bytes on every machine.
 *
 * ```
 * <out>/classnames.txt                              one class a line
 * <out>/zeroshot_classification_templates.txt       12 templates with {c}
 * <out>/test/nshards.txt                            shard count
 * <out>/test/0.tar …                                <key>.cls + <key>.jpg, shardSize a shard
 * ```
 *
 * The images (see bench_dataset/synthetic_photo.ts) have smooth gradients, anti-aliased shapes,
 * texture and noise, so their entropy decoding and IDCT cost what a photo's do; the JPEG writer
 * (bench_dataset/jpeg_encoder.ts) uses libjpeg's default tables, as Pillow does. Shards are
 * written in parallel by Web Workers.
 *
 * ```sh
 * deno run -A tools/generate_bench_dataset.ts --samples 10000 --out .cache/photos
 * ```
 *
 * Flags: `--out DIR` (required), `--samples N` (1000), `--classes N` (10), `--shard-size N`
 * (1000), `--width N` (640), `--height N` (480), `--quality N` (90), `--subsampling 420|444`,
 * `--seed N` (0), `--workers N` (the number of cores).
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import type { BenchSampleSpec } from "./bench_dataset/shard.ts";
import type { ShardDone, ShardJob } from "./bench_dataset/shard_worker.ts";

/** Options of {@linkcode generateBenchDataset}. */
export interface BenchDatasetOptions {
  /** Folder to write (created). */
  readonly out: string;
  /** Number of samples. */
  readonly samples: number;
  /** Number of classes; default 10. */
  readonly classes?: number;
  /** Samples a shard; default 1,000 (CLIP_benchmark's shards hold about that many). */
  readonly shardSize?: number;
  /** Image width; default 640. */
  readonly width?: number;
  /** Image height; default 480. */
  readonly height?: number;
  /** JPEG quality; default 90. */
  readonly quality?: number;
  /** Chroma subsampling; default 420. */
  readonly subsampling?: 420 | 444;
  /** Seed; default 0. */
  readonly seed?: number;
  /** Shards written at once by workers; default the number of cores. */
  readonly workers?: number;
  /** Called after each shard is written. */
  readonly onShard?: (done: number, total: number) => void;
}

/** What {@linkcode generateBenchDataset} wrote. */
export interface GeneratedBenchDataset {
  /** The dataset root. */
  readonly dir: string;
  /** Number of shards. */
  readonly shards: number;
  /** Total bytes of the JPEG files. */
  readonly imageBytes: number;
}

/** Class names: words the shared CLIP tokenizer (the demo's) has whole. */
export const CLASS_NAMES: readonly string[] = [
  "dress",
  "coat",
  "shirt",
  "bag",
  "sandal",
  "sneaker",
  "trouser",
  "pullover",
  "boot",
  "top",
];

/** The 12 zero-shot templates written into the dataset. */
export const TEMPLATES: readonly string[] = [
  "a photo of a {c}.",
  "a photo of the {c}.",
  "a close-up photo of a {c}.",
  "a blurry photo of a {c}.",
  "a bright photo of a {c}.",
  "a dark photo of the {c}.",
  "a low resolution photo of a {c}.",
  "a cropped photo of the {c}.",
  "a picture of a {c}.",
  "an image of the {c}.",
  "a photo of a small {c}.",
  "a photo of a large {c}.",
];

/** The class names of a dataset of `classes` classes (numbered beyond the first ten). */
export function classNames(classes: number): string[] {
  return Array.from({ length: classes }, (_, i) => {
    const name = CLASS_NAMES[i % CLASS_NAMES.length];
    const round = Math.floor(i / CLASS_NAMES.length);
    return round === 0 ? name : `${name} ${round}`;
  });
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/** Runs shard jobs on `workers` Web Workers; rejects with the first failure. */
async function runShardJobs(
  jobs: readonly ShardJob[],
  workers: number,
  onShard: (done: number) => void,
): Promise<number> {
  let next = 0;
  let done = 0;
  let imageBytes = 0;
  const runWorker = async () => {
    const worker = new Worker(new URL("./bench_dataset/shard_worker.ts", import.meta.url), {
      type: "module",
    });
    try {
      while (next < jobs.length) {
        const job = jobs[next++];
        const reply = await new Promise<ShardDone>((resolve, reject) => {
          worker.onmessage = (event: MessageEvent<ShardDone>) => resolve(event.data);
          worker.onerror = (event) => {
            event.preventDefault();
            reject(new Error(`shard worker failed on ${job.path}: ${event.message}`));
          };
          worker.postMessage(job);
        });
        if (reply.error !== undefined) {
          throw new Error(`cannot write ${reply.path}: ${reply.error}`);
        }
        imageBytes += reply.imageBytes ?? 0;
        onShard(++done);
      }
    } finally {
      worker.terminate();
    }
  };
  const count = Math.min(workers, jobs.length);
  await Promise.all(Array.from({ length: count }, runWorker));
  return imageBytes;
}

/**
 * Writes a dataset (see the module note).
 *
 * @throws {RangeError} for sizes that are not positive integers or an unknown subsampling.
 */
export async function generateBenchDataset(
  options: BenchDatasetOptions,
): Promise<GeneratedBenchDataset> {
  const samples = positiveInteger("samples", options.samples);
  const classes = positiveInteger("classes", options.classes ?? 10);
  const shardSize = positiveInteger("shard size", options.shardSize ?? 1000);
  const spec: BenchSampleSpec = {
    seed: options.seed ?? 0,
    classes,
    width: positiveInteger("width", options.width ?? 640),
    height: positiveInteger("height", options.height ?? 480),
    quality: positiveInteger("quality", options.quality ?? 90),
    subsampling: options.subsampling ?? 420,
  };
  if (spec.quality > 100) throw new RangeError(`quality must be 1..100, got ${spec.quality}`);
  if (spec.subsampling !== 420 && spec.subsampling !== 444) {
    throw new RangeError(`subsampling must be 420 or 444, got ${spec.subsampling}`);
  }
  const workers = positiveInteger(
    "workers",
    options.workers ?? Math.max(1, navigator.hardwareConcurrency || 1),
  );
  const split = join(options.out, "test");
  await Deno.mkdir(split, { recursive: true });
  await Deno.writeTextFile(
    join(options.out, "classnames.txt"),
    classNames(classes).join("\n") + "\n",
  );
  await Deno.writeTextFile(
    join(options.out, "zeroshot_classification_templates.txt"),
    TEMPLATES.join("\n") + "\n",
  );
  const shards = Math.ceil(samples / shardSize);
  const jobs: ShardJob[] = Array.from({ length: shards }, (_, shard) => ({
    path: join(split, `${shard}.tar`),
    spec,
    first: shard * shardSize,
    count: Math.min(shardSize, samples - shard * shardSize),
  }));
  const imageBytes = await runShardJobs(
    jobs,
    workers,
    (done) => options.onShard?.(done, shards),
  );
  // Written last: a folder without it is not a complete dataset.
  await Deno.writeTextFile(join(split, "nshards.txt"), `${shards}\n`);
  return { dir: options.out, shards, imageBytes };
}

const USAGE = `usage: deno run -A tools/generate_bench_dataset.ts --out DIR [--samples N]
  [--classes N] [--shard-size N] [--width N] [--height N] [--quality N] [--subsampling 420|444]
  [--seed N] [--workers N]`;

/** Parses the command line into generator options. */
export function parseDatasetArgs(args: readonly string[]): BenchDatasetOptions {
  const names = [
    "samples",
    "classes",
    "shard-size",
    "width",
    "height",
    "quality",
    "subsampling",
    "seed",
    "workers",
  ] as const;
  const { values } = parseArgs({
    args: [...args],
    options: {
      out: { type: "string" },
      ...Object.fromEntries(names.map((name) => [name, { type: "string" as const }])),
    },
    strict: true,
  });
  if (!values.out) throw new RangeError("--out DIR is required");
  const flags = values as Record<string, string | undefined>;
  const number = (name: (typeof names)[number]) => {
    const text = flags[name];
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(`--${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
    }
    return value;
  };
  const subsampling = number("subsampling");
  if (subsampling !== undefined && subsampling !== 420 && subsampling !== 444) {
    throw new RangeError(`--subsampling must be 420 or 444, got ${subsampling}`);
  }
  return {
    out: values.out,
    samples: number("samples") ?? 1000,
    classes: number("classes"),
    shardSize: number("shard-size"),
    width: number("width"),
    height: number("height"),
    quality: number("quality"),
    subsampling,
    seed: number("seed"),
    workers: number("workers"),
  };
}

if (import.meta.main) {
  let options: BenchDatasetOptions;
  try {
    options = parseDatasetArgs(Deno.args);
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  const started = performance.now();
  const result = await generateBenchDataset({
    ...options,
    onShard: (done, total) => console.error(`shard ${done}/${total}`),
  });
  console.log(
    `wrote ${result.dir}: ${options.samples} samples in ${result.shards} shards, ${
      (result.imageBytes / 2 ** 20).toFixed(1)
    } MiB of JPEG, in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}
