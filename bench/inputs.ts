/**
 * The benchmark's generated inputs, from the bench cache (see cache.ts): CLIP models of a preset
 * (tools/generate_clip_model.ts) and photo-like JPEG datasets (tools/generate_bench_dataset.ts).
 * The cache key holds every generator parameter and {@linkcode GENERATOR_VERSION}, so a change of
 * either makes a new entry.
 *
 * @module
 */

import { join } from "node:path";
import { type CachedFolder, cachedFolder } from "./cache.ts";
import { generateClipModel } from "../tools/generate_clip_model.ts";
import { CLIP_PRESETS, type ClipPreset } from "../tools/clip_model/presets.ts";
import { type BenchDatasetOptions, generateBenchDataset } from "../tools/generate_bench_dataset.ts";

/** Bumped whenever a generator's output changes for the same parameters. */
export const GENERATOR_VERSION = 1;

/**
 * The generated model of `preset` with weights from `seed`, from the cache or built. The model
 * folder is `<entry>/<preset>`, so results name the model by its preset.
 */
export async function generatedModel(
  cacheRoot: string,
  preset: ClipPreset,
  seed = 0,
): Promise<CachedFolder> {
  const shape = CLIP_PRESETS[preset];
  const entry = await cachedFolder(
    cacheRoot,
    "models",
    `${preset}-seed${seed}`,
    { version: GENERATOR_VERSION, preset, seed, shape, int8: true },
    async (dir) => {
      // With the int8 variant (`--dtype int8`), whose ceiling the bench measures beside fp32's.
      await generateClipModel({ out: join(dir, preset), shape, seed, label: preset, int8: true });
    },
  );
  return { ...entry, dir: join(entry.dir, preset) };
}

/** The parameters of a generated dataset (everything but where it goes). */
export type DatasetParameters = Omit<BenchDatasetOptions, "out" | "onShard" | "workers">;

/** The generated dataset of `parameters`, from the cache or built (shards in parallel). */
export function generatedDataset(
  cacheRoot: string,
  parameters: DatasetParameters,
  onShard?: (done: number, total: number) => void,
): Promise<CachedFolder> {
  const full = {
    classes: 10,
    shardSize: 1000,
    width: 640,
    height: 480,
    quality: 90,
    subsampling: 420 as const,
    seed: 0,
    ...parameters,
  };
  return cachedFolder(
    cacheRoot,
    "datasets",
    `photos${full.width}x${full.height}-q${full.quality}-n${full.samples}`,
    { version: GENERATOR_VERSION, ...full },
    async (dir) => {
      await generateBenchDataset({ ...full, out: dir, onShard });
    },
  );
}
