/**
 * Turning a stream of WebDataset samples into batches of preprocessed images on the calling
 * thread, without encoding them: each sample's image (first present of `webp`, `png`, `jpg`,
 * `jpeg`) is decoded in its own Pillow mode and preprocessed (RGB conversion included) by an
 * {@linkcode InThreadDecoder}; the task's own per-sample payload (a label, captions, …) is
 * extracted alongside. A sample that cannot be used — no image, an undecodable image, a bad
 * payload — is skipped and reported through `onSkip`, never dropped silently. A reader that
 * cannot even assemble a sample (a custom dataset's image file that does not exist) yields a
 * {@linkcode SkippedSample} in its place, which is reported the same way.
 *
 * Admission, order, skip reporting and batch forming are {@linkcode SlotBatcher}'s
 * (slot_batcher.ts), the same rules `imageEmbeddingBatches` (image_embeddings.ts) batches by for
 * the tasks; this path only copies each batch out of its slots into one of two alternating
 * buffers.
 *
 * @module
 */

import type { ImagePreprocessor } from "../image/preprocess/kernel.ts";
import type { SkippedSample } from "../results/result.ts";
import type { Sample } from "../dataset/webdataset.ts";
import { type ImageBatchOptions, SlotBatcher } from "./slot_batcher.ts";
import { InThreadDecoder } from "./slot_decoder.ts";

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
  const imageSize = preprocessor.outputLength;
  // Two buffers, alternating, so one batch can be encoded while the next is filled.
  const buffers = [
    new Float32Array(batchSize * imageSize),
    new Float32Array(batchSize * imageSize),
  ];
  let turn = 0;
  const batcher = await SlotBatcher.open(samples, {
    ...options,
    slotCount: batchSize,
    imageSize,
    decoder: (slots) => new InThreadDecoder(preprocessor, new Float32Array(slots)),
  });
  try {
    while (true) {
      const batch = await batcher.nextBatch();
      if (batch === undefined) break;
      batcher.gather(batch, buffers[turn]);
      const { keys, items } = batch;
      yield { pixels: buffers[turn], count: keys.length, keys, items };
      turn ^= 1;
    }
  } finally {
    await batcher.close();
  }
}
