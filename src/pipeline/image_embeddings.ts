/**
 * The image side of every task: a stream of samples in, L2-normalised image embeddings out, batch
 * by batch, with each batch's sample keys and task payloads. Batches hold the first `batchSize`
 * usable samples in stream order, then the next `batchSize`, …; skipped samples are reported, in
 * stream order, with their reasons. Those rules are {@linkcode SlotBatcher}'s (slot_batcher.ts),
 * the same for every `numWorkers` and for `imageBatches`, so results do not depend on
 * `numWorkers` or on worker timing.
 *
 * One pipeline, whose decoding stage is chosen by `numWorkers`:
 *
 * 1. The main thread reads samples, extracts the task's payload and hands each image to the
 *    decoding stage, which decodes and preprocesses it into a free slot of a shared pixel buffer:
 *    - `numWorkers: 0`: an {@linkcode InThreadDecoder}, on the main thread;
 *    - `numWorkers ≥ 1` (the default, see {@linkcode defaultNumWorkers}): a
 *      {@linkcode DecodePool} worker, which gets the encoded bytes copied, then transferred.
 *
 *    At most `batchSize + 4 × numWorkers` images are in flight or waiting to be encoded, so
 *    memory is bounded and the reader is held back when inference is the slower stage
 *    (backpressure).
 * 2. Replies are committed in stream order: a usable image joins the batch being formed, an
 *    unusable one is reported and its slot freed.
 * 3. A full batch is copied out of its slots into the tensor onnxruntime reads (onnxruntime-node
 *    under Deno refuses a tensor over a `SharedArrayBuffer` — "Invalid argument" — so this one
 *    copy, ≈ 0.02 ms per 224 × 224 image, is the price of shared slots) and encoded. By default
 *    on the main thread with the model's own session: the freed slots are dispatched first, so
 *    the decoders work through the next batch while the session (which blocks the main thread)
 *    runs (with `numWorkers: 0` the next batch is decoded first, then this one encoded). With
 *    `inferenceWorker: true` and `numWorkers ≥ 1` the batch is encoded by a session of its own
 *    in a worker ({@linkcode WorkerImageEncoder}) and the main thread keeps reading meanwhile.
 *    On local shards both gave the same throughput within the noise (see
 *    src/pipeline/core_split.ts); the worker costs a second copy of the image graph in memory
 *    and its load time on every call, so it is meant for slow (remote) readers.
 *
 * Errors of the stream (a truncated shard, an unreachable URL) and an aborted `signal` end the
 * generator with that error; every worker is terminated on every exit path, including a consumer
 * that stops early.
 *
 * @module
 */

import type { ClipModel } from "../model/model.ts";
import type { SkippedSample } from "../results/result.ts";
import type { Sample } from "../dataset/webdataset.ts";
import { type ImageBatchOptions, type SlotBatch, SlotBatcher } from "./slot_batcher.ts";
import { InThreadDecoder } from "./slot_decoder.ts";
import { DecodePool } from "./decode_pool.ts";
import { coreCount, defaultNumWorkers } from "./core_split.ts";
import { WorkerImageEncoder } from "./worker_image_encoder.ts";
import { yieldToEventLoop } from "../event_loop.ts";

/** A batch of encoded images and the payloads of their samples. */
export interface EmbeddingBatch<T> {
  /** `count × dim` L2-normalised image embeddings, row-major. */
  readonly embeddings: Float32Array;
  /** Embedding size. */
  readonly dim: number;
  /** Images in this batch (the last batch may be short). */
  readonly count: number;
  /** The samples' keys, in order. */
  readonly keys: readonly string[];
  /** The payloads extracted from the samples, in order. */
  readonly items: readonly T[];
}

/** How images are decoded and encoded: the options a task passes through. */
export interface PipelineOptions {
  /**
   * Decoding workers: 0 decodes on the main thread (an `InThreadDecoder`); default
   * {@linkcode defaultNumWorkers} of the machine's cores.
   */
  readonly numWorkers?: number;
  /**
   * With `numWorkers ≥ 1`, run image inference in a worker with a session of its own (`true`)
   * instead of on the main thread with the model's session (`false`, the default).
   */
  readonly inferenceWorker?: boolean;
}

/** Options of {@linkcode imageEmbeddingBatches}. */
export interface ImageEmbeddingOptions<T> extends ImageBatchOptions<T>, PipelineOptions {
  /** Stops the pipeline (the reader should get the same signal). */
  readonly signal?: AbortSignal;
}

/**
 * Encodes the images of `samples` in batches. See the module documentation for batch order,
 * skipping, errors and the worker pipeline.
 *
 * @throws {RangeError} when `batchSize` or `numWorkers` is not a valid integer.
 */
export function imageEmbeddingBatches<T>(
  samples: AsyncIterable<Sample | SkippedSample>,
  model: ClipModel,
  options: ImageEmbeddingOptions<T>,
): AsyncGenerator<EmbeddingBatch<T>> {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  }
  const numWorkers = options.numWorkers ??
    defaultNumWorkers(coreCount(), model.sessionSettings.executionProvider ?? "cpu");
  if (!Number.isInteger(numWorkers) || numWorkers < 0) {
    throw new RangeError(`the number of workers must be an integer ≥ 0, got ${numWorkers}`);
  }
  return pipelinedBatches(samples, model, options, numWorkers);
}

/** The pipeline (see the module documentation); `numWorkers` chooses the decoding stage. */
async function* pipelinedBatches<T>(
  samples: AsyncIterable<Sample | SkippedSample>,
  model: ClipModel,
  options: ImageEmbeddingOptions<T>,
  numWorkers: number,
): AsyncGenerator<EmbeddingBatch<T>> {
  const { batchSize, signal } = options;
  const preprocessor = model.preprocessor;
  const imageSize = preprocessor.outputLength;
  const batcher = await SlotBatcher.open(samples, {
    batchSize,
    extract: options.extract,
    onSkip: options.onSkip,
    onSample: options.onSample,
    signal,
    slotCount: batchSize + 4 * numWorkers,
    imageSize,
    decoder: (slots) =>
      numWorkers === 0
        ? new InThreadDecoder(preprocessor, new Float32Array(slots))
        : DecodePool.create({ numWorkers, settings: preprocessor.settings, slots }),
  });
  let workerEncoder: WorkerImageEncoder | undefined;
  // Main-thread inference: one reused tensor, filled from the slots.
  let tensor: Float32Array | undefined;
  try {
    if (numWorkers > 0 && (options.inferenceWorker ?? false)) {
      workerEncoder = await WorkerImageEncoder.open({
        path: model.vision.path,
        settings: model.sessionSettings,
        outputNames: [model.vision.outputName],
        height: preprocessor.height,
        width: preprocessor.width,
        slots: batcher.slots,
      });
    }
    let encoding: Promise<EmbeddingBatch<T>> | undefined;
    while (true) {
      const batch: SlotBatch<T> | undefined = await batcher.nextBatch();
      if (batch === undefined) break;
      const count = batch.slots.length;
      const label = (result: { embeddings: Float32Array; dim: number }) => ({
        ...result,
        count,
        keys: batch.keys,
        items: batch.items,
      });
      let next: Promise<EmbeddingBatch<T>>;
      if (workerEncoder !== undefined) {
        const job = workerEncoder.encode(batch.slots);
        batcher.releaseWhen(job.gathered, batch);
        next = job.encoded.then(label);
        next.catch(() => {});
        if (encoding !== undefined) yield await encoding;
      } else {
        // The previous batch's session run has finished (it ran synchronously), so the
        // tensor can be refilled; the freed slots are dispatched before this batch runs.
        if (encoding !== undefined) yield await encoding;
        tensor ??= new Float32Array(batchSize * imageSize);
        batcher.gather(batch, tensor);
        await batcher.fill();
        // The session run blocks the main thread: let timers, I/O and an abort in first.
        await yieldToEventLoop(signal);
        next = model.encodeImages(tensor, count).then(label);
        next.catch(() => {});
      }
      encoding = next;
    }
    if (encoding !== undefined) yield await encoding;
    await workerEncoder?.close();
  } finally {
    workerEncoder?.terminate();
    await batcher.close();
  }
}
