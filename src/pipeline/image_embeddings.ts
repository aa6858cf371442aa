/**
 * The image side of every task: a stream of samples in, L2-normalised image embeddings out, batch
 * by batch, with each batch's sample keys and task payloads. Batches hold the first `batchSize`
 * usable samples in stream order, then the next `batchSize`, …, exactly as
 * {@linkcode imageBatches} forms them; skipped samples are reported, in stream order, with the
 * same reasons. Results therefore do not depend on `numWorkers` or on worker timing.
 *
 * Two ways to get there:
 *
 * - `numWorkers: 0`: the in-process path, {@linkcode imageBatches} on the main thread, each
 *   batch's inference overlapping the request for the next one.
 * - `numWorkers ≥ 1` (the default, see {@linkcode defaultNumWorkers}): a pipeline.
 *   1. The main thread reads samples, extracts the task's payload and hands each image's encoded
 *      bytes (copied, then transferred) to a {@linkcode DecodePool} worker, which decodes and
 *      preprocesses it straight into a free slot of a shared pixel buffer. At most
 *      `batchSize + 4 × numWorkers` images are in flight or waiting to be encoded, so memory is
 *      bounded and the reader is held back when inference is the slower stage (backpressure).
 *   2. Replies are committed in stream order: a usable image joins the batch being formed, an
 *      unusable one is reported and its slot freed.
 *   3. A full batch is copied out of its slots into the tensor onnxruntime reads (onnxruntime-node
 *      under Deno refuses a tensor over a `SharedArrayBuffer` — "Invalid argument" — so this one
 *      copy, ≈ 0.02 ms per 224 × 224 image, is the price of shared slots) and encoded. By default
 *      on the main thread with the model's own session: the freed slots are dispatched first, so
 *      the decoders work through the next batch while the session (which blocks the main thread)
 *      runs. With `inferenceWorker: true` the batch is encoded by a session of its own in a
 *      worker ({@linkcode WorkerImageEncoder}) and the main thread keeps reading meanwhile. On
 *      local shards both gave the same throughput within the noise (see
 *      src/pipeline/core_split.ts); the worker costs a second copy of the image graph in memory
 *      and its load time on every call, so it is meant for slow (remote) readers.
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
import { imageBatches, type ImageBatchOptions, requireImage } from "./image_batches.ts";
import { DecodePool } from "./decode_pool.ts";
import { defaultNumWorkers } from "./core_split.ts";
import { skipReason } from "./skip_reason.ts";
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
   * Decoding workers: 0 decodes on the main thread (the in-process path); default
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
  const numWorkers = options.numWorkers ?? defaultNumWorkers();
  if (!Number.isInteger(numWorkers) || numWorkers < 0) {
    throw new RangeError(`the number of workers must be an integer ≥ 0, got ${numWorkers}`);
  }
  return numWorkers === 0
    ? inProcessBatches(samples, model, options)
    : pipelinedBatches(samples, model, options, numWorkers);
}

/** The in-process path: decoding on the main thread, inference overlapping the next request. */
async function* inProcessBatches<T>(
  samples: AsyncIterable<Sample | SkippedSample>,
  model: ClipModel,
  options: ImageEmbeddingOptions<T>,
): AsyncGenerator<EmbeddingBatch<T>> {
  let pending: Promise<EmbeddingBatch<T>> | undefined;
  for await (const batch of imageBatches(samples, model.preprocessor, options)) {
    // Decoding ran synchronously: let timers, I/O and an abort in before the session runs.
    await yieldToEventLoop(options.signal);
    const { count, keys } = batch;
    const items = batch.items.slice();
    const encoded = model.encodeImages(batch.pixels, count).then(({ embeddings, dim }) => ({
      embeddings,
      dim,
      count,
      keys,
      items,
    }));
    // Marked as handled now; an error is rethrown where it is awaited.
    encoded.catch(() => {});
    if (pending !== undefined) yield await pending;
    pending = encoded;
  }
  if (pending !== undefined) yield await pending;
}

/** A sample read and not yet committed, in stream order. */
interface Entry<T> {
  /** The sample (or the reader's skipped sample) as read. */
  readonly sample: Sample | SkippedSample;
  /** Its payload, when it has a slot. */
  readonly item?: T;
  /** The slot its pixels go to, while it has one. */
  slot?: number;
  /** Whether the decoding finished (or was never needed). */
  done: boolean;
  /** Why it cannot be used. */
  reason?: string;
}

/** A batch being formed or encoded: slots and samples in batch order. */
interface FormingBatch<T> {
  readonly slots: number[];
  readonly keys: string[];
  readonly items: T[];
}

const emptyBatch = <T>(): FormingBatch<T> => ({ slots: [], keys: [], items: [] });

/** The worker pipeline (see the module documentation). */
async function* pipelinedBatches<T>(
  samples: AsyncIterable<Sample | SkippedSample>,
  model: ClipModel,
  options: ImageEmbeddingOptions<T>,
  numWorkers: number,
): AsyncGenerator<EmbeddingBatch<T>> {
  const { batchSize, signal } = options;
  const preprocessor = model.preprocessor;
  const imageSize = preprocessor.outputLength;
  const slotCount = batchSize + 4 * numWorkers;
  const slotBuffer = new SharedArrayBuffer(slotCount * imageSize * Float32Array.BYTES_PER_ELEMENT);
  const slotPixels = new Float32Array(slotBuffer);
  const free: number[] = [];
  for (let slot = slotCount - 1; slot >= 0; slot--) free.push(slot);
  const maxQueued = 2 * slotCount;

  const iterator = samples[Symbol.asyncIterator]();
  let exhausted = false;
  let pool: DecodePool | undefined;
  let workerEncoder: WorkerImageEncoder | undefined;
  let fatal: unknown;
  // Entries in stream order; `head` indexes the oldest uncommitted one.
  let queue: Entry<T>[] = [];
  let head = 0;
  // Decodes and worker gathers started and not yet answered: the only events a wait can expect.
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  signal?.addEventListener("abort", notify);
  /** Waits for a decode or gather to answer, or for the abort; never for nothing. */
  const nextEvent = () => {
    signal?.throwIfAborted();
    if (inFlight === 0) {
      throw new Error("internal error: the image pipeline waited with nothing in flight");
    }
    return new Promise<void>((resolve) => (wake = resolve));
  };

  const dispatch = (sample: Sample | SkippedSample): void => {
    if (!("fields" in sample)) {
      queue.push({ sample, done: true, reason: sample.reason });
      return;
    }
    let image;
    let item: T;
    try {
      image = requireImage(sample);
      item = options.extract(sample);
    } catch (error) {
      queue.push({ sample, done: true, reason: skipReason(error) });
      return;
    }
    const entry: Entry<T> = { sample, item, slot: free.pop()!, done: false };
    queue.push(entry);
    inFlight++;
    pool!.decode(image.bytes, image.ext, entry.slot!).then(
      (reason) => {
        entry.done = true;
        entry.reason = reason;
      },
      (error) => {
        fatal ??= error;
      },
    ).finally(() => {
      inFlight--;
      notify();
    });
  };

  /** Whether the reader may read another sample: a free slot and room in the queue. */
  const canRead = () => !exhausted && free.length > 0 && queue.length - head < maxQueued;

  /** Reads and dispatches samples while a slot is free. */
  const fill = async (): Promise<void> => {
    while (canRead()) {
      signal?.throwIfAborted();
      const next = await iterator.next();
      if (next.done) {
        exhausted = true;
        return;
      }
      dispatch(next.value);
    }
  };

  /** Commits finished entries in order into `forming`, up to a full batch. */
  const commit = (forming: FormingBatch<T>): void => {
    while (head < queue.length && queue[head].done && forming.slots.length < batchSize) {
      const entry = queue[head++];
      const { sample } = entry;
      if (entry.reason === undefined) {
        forming.slots.push(entry.slot!);
        forming.keys.push(sample.key);
        forming.items.push(entry.item as T);
      } else {
        if (entry.slot !== undefined) free.push(entry.slot);
        options.onSkip(
          "fields" in sample
            ? { key: sample.key, source: sample.source, reason: entry.reason }
            : sample,
        );
      }
      options.onSample?.(sample);
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  };

  // Main-thread inference: one reused tensor, filled from the slots.
  let tensor: Float32Array | undefined;
  const gather = (batch: FormingBatch<T>): Float32Array => {
    tensor ??= new Float32Array(batchSize * imageSize);
    batch.slots.forEach((slot, i) => {
      tensor!.set(slotPixels.subarray(slot * imageSize, (slot + 1) * imageSize), i * imageSize);
    });
    free.push(...batch.slots);
    return tensor;
  };

  try {
    pool = DecodePool.create({ numWorkers, settings: preprocessor.settings, slots: slotBuffer });
    if (options.inferenceWorker ?? false) {
      workerEncoder = await WorkerImageEncoder.open({
        path: model.vision.path,
        settings: model.sessionSettings,
        outputNames: [model.vision.outputName],
        height: preprocessor.height,
        width: preprocessor.width,
        slots: slotBuffer,
      });
    }
    let forming = emptyBatch<T>();
    let encoding: Promise<EmbeddingBatch<T>> | undefined;
    while (true) {
      if (fatal !== undefined) throw fatal;
      await fill();
      if (fatal !== undefined) throw fatal;
      commit(forming);
      const drained = exhausted && head === queue.length;
      if (forming.slots.length === batchSize || (drained && forming.slots.length > 0)) {
        const batch = forming;
        forming = emptyBatch<T>();
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
          inFlight++;
          job.gathered.then(() => free.push(...batch.slots)).finally(() => {
            inFlight--;
            notify();
          });
          next = job.encoded.then(label);
          next.catch(() => {});
          if (encoding !== undefined) yield await encoding;
        } else {
          // The previous batch's session run has finished (it ran synchronously), so the
          // tensor can be refilled; the freed slots are dispatched before this batch runs.
          if (encoding !== undefined) yield await encoding;
          const pixels = gather(batch);
          await fill();
          // The session run blocks the main thread: let timers, I/O and an abort in first.
          await yieldToEventLoop(signal);
          next = model.encodeImages(pixels, count).then(label);
          next.catch(() => {});
        }
        encoding = next;
        continue;
      }
      if (drained) break;
      // Committing skipped samples can make room in the queue without any decode in flight:
      // read on rather than wait for an answer that nothing is going to send.
      if (canRead()) continue;
      await nextEvent();
    }
    if (encoding !== undefined) yield await encoding;
    await workerEncoder?.close();
  } finally {
    signal?.removeEventListener("abort", notify);
    pool?.close();
    workerEncoder?.terminate();
    if (!exhausted) await iterator.return?.();
  }
}
