/**
 * Turning a stream of WebDataset samples into batches of preprocessed images on the calling
 * thread: each sample's image (first present of `webp`, `png`, `jpg`, `jpeg`) is decoded in its
 * own Pillow mode and preprocessed (RGB conversion included) straight into a reused batch
 * buffer; the task's own per-sample payload (a label, captions, …) is extracted alongside. A
 * sample that cannot be used — no image, an undecodable image, a bad payload — is skipped and
 * reported through `onSkip`, never dropped silently. A reader that cannot even assemble a sample
 * (a custom dataset's image file that does not exist) yields a {@linkcode SkippedSample} in its
 * place, which is reported the same way.
 *
 * The tasks go through `imageEmbeddingBatches` (src/pipeline/image_embeddings.ts), whose
 * `numWorkers: 0` path is this one and whose worker pipeline forms the same batches.
 *
 * @module
 */

import { decodeNativeImage } from "../image/decode.ts";
import { skipReason } from "./skip_reason.ts";
import type { ImagePreprocessor } from "../image/preprocess.ts";
import type { SkippedSample } from "../results/result.ts";
import { type ImageField, imageField, type Sample } from "../dataset/webdataset.ts";

/** A batch of preprocessed images and the payloads of their samples. */
export interface ImageBatch<T> {
  /**
   * `count × 3 × height × width` float32 pixels. The buffer is reused: it stays valid until the
   * batch after next is requested, so a consumer may encode one batch while the next is prepared.
   */
  readonly pixels: Float32Array;
  /** Images in this batch (the last batch may be short). */
  readonly count: number;
  /** The samples' keys, in order. */
  readonly keys: readonly string[];
  /** The payloads extracted from the samples, in order. */
  readonly items: readonly T[];
}

/** Options for {@linkcode imageBatches}. */
export interface ImageBatchOptions<T> {
  /** Images per batch. */
  readonly batchSize: number;
  /** Extracts the task's payload from a sample; throws (any error) to skip the sample. */
  readonly extract: (sample: Sample) => T;
  /** Called for each skipped sample. */
  readonly onSkip: (skipped: SkippedSample) => void;
  /** Called after each sample is handled, scored or skipped. */
  readonly onSample?: (sample: Sample | SkippedSample) => void;
}

/**
 * The sample's image field (see {@linkcode imageField}).
 *
 * @throws {Error} naming the fields the sample has when it has no image (the sample is then
 *   skipped with that message).
 */
export function requireImage(sample: Sample): ImageField {
  const image = imageField(sample);
  if (!image) {
    throw new Error(
      `no image (fields: ${
        [...sample.fields.keys()].join(", ") || "none"
      }; expected webp, png, jpg or jpeg)`,
    );
  }
  return image;
}

/**
 * Decodes and preprocesses the images of `samples` into batches.
 *
 * Errors of the stream itself (a truncated shard, an unreachable URL) propagate; errors of one
 * sample are reported through `onSkip`, and so is a {@linkcode SkippedSample} the stream yields
 * (a sample its reader could not assemble), as it is.
 */
export async function* imageBatches<T>(
  samples: AsyncIterable<Sample | SkippedSample>,
  preprocessor: ImagePreprocessor,
  options: ImageBatchOptions<T>,
): AsyncGenerator<ImageBatch<T>> {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  }
  const imageSize = 3 * preprocessor.height * preprocessor.width;
  // Two buffers, alternating, so one batch can be encoded while the next is filled.
  const buffers = [
    new Float32Array(batchSize * imageSize),
    new Float32Array(batchSize * imageSize),
  ];
  let turn = 0;
  let keys: string[] = [];
  let items: T[] = [];
  for await (const sample of samples) {
    if (!("fields" in sample)) {
      options.onSkip(sample);
      options.onSample?.(sample);
      continue;
    }
    try {
      const image = requireImage(sample);
      const item = options.extract(sample);
      // The preprocessor converts to RGB before or after resizing, as its mode says.
      const rgb = await decodeNativeImage(image.bytes, image.ext);
      preprocessor.process(rgb, buffers[turn], keys.length * imageSize);
      keys.push(sample.key);
      items.push(item);
    } catch (error) {
      options.onSkip({ key: sample.key, source: sample.source, reason: skipReason(error) });
    }
    options.onSample?.(sample);
    if (keys.length === batchSize) {
      yield { pixels: buffers[turn], count: keys.length, keys, items };
      turn ^= 1;
      keys = [];
      items = [];
    }
  }
  if (keys.length > 0) yield { pixels: buffers[turn], count: keys.length, keys, items };
}
