/**
 * The samples of the benchmark dataset and the writing of one shard: sample `i` has the key
 * `s%07d`, a class label and a photo-like JPEG, all derived from the dataset seed and `i` alone,
 * so any shard can be written on its own (by any worker) and always holds the same bytes.
 *
 * @module
 */

import { deriveSeed } from "../seeded_random.ts";
import { encodeJpeg } from "./jpeg_encoder.ts";
import { syntheticPhoto } from "./synthetic_photo.ts";
import { TarFileWriter } from "./tar_file_writer.ts";

/** What every sample of a dataset shares. */
export interface BenchSampleSpec {
  /** Dataset seed. */
  readonly seed: number;
  /** Number of classes. */
  readonly classes: number;
  /** Image width in pixels. */
  readonly width: number;
  /** Image height in pixels. */
  readonly height: number;
  /** JPEG quality (libjpeg scale). */
  readonly quality: number;
  /** Chroma subsampling. */
  readonly subsampling: 420 | 444;
}

/** One sample: its key, label and JPEG file. */
export interface BenchSample {
  /** WebDataset key. */
  readonly key: string;
  /** Class index. */
  readonly label: number;
  /** The encoded image. */
  readonly jpeg: Uint8Array;
}

/** Sample `index` of a dataset. */
export function benchSample(spec: BenchSampleSpec, index: number): BenchSample {
  const label = deriveSeed(spec.seed, `label:${index}`) % spec.classes;
  const image = syntheticPhoto({
    width: spec.width,
    height: spec.height,
    seed: deriveSeed(spec.seed, `image:${index}`),
    classIndex: label,
    classCount: spec.classes,
  });
  const jpeg = encodeJpeg(image, { quality: spec.quality, subsampling: spec.subsampling });
  return { key: `s${String(index).padStart(7, "0")}`, label, jpeg };
}

/**
 * Writes samples `first … first + count − 1` as a tar shard at `path` (members `<key>.cls`,
 * then `<key>.jpg`, as CLIP_benchmark's shards hold them).
 *
 * @returns The bytes of JPEG data written.
 */
export async function writeShard(
  path: string,
  spec: BenchSampleSpec,
  first: number,
  count: number,
): Promise<number> {
  const tar = await TarFileWriter.create(path);
  let imageBytes = 0;
  try {
    for (let index = first; index < first + count; index++) {
      const sample = benchSample(spec, index);
      await tar.add(`${sample.key}.cls`, String(sample.label));
      await tar.add(`${sample.key}.jpg`, sample.jpeg);
      imageBytes += sample.jpeg.length;
    }
  } finally {
    await tar.close();
  }
  return imageBytes;
}
