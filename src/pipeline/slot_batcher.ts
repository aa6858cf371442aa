/**
 * The rules by which a stream of WebDataset samples becomes batches of images, written once for
 * every path: `imageBatches` (pixels, image_batches.ts) and `imageEmbeddingBatches` (embeddings,
 * image_embeddings.ts), with decoding on the main thread or in workers.
 *
 * - Admission: a sample is given a slot when it has an image (first present of `webp`, `png`,
 *   `jpg`, `jpeg`; {@linkcode requireImage}) and the task's `extract` accepts it; otherwise it is
 *   skipped with the message of the error ({@linkcode skipReason}). A {@linkcode SkippedSample}
 *   the reader yields in place of a sample it could not assemble is passed through as it is.
 * - Decoding: each admitted image goes to the {@linkcode SlotDecoder} stage, which decodes and
 *   preprocesses it into its slot of a shared pixel buffer, or answers with the reason it cannot
 *   be used.
 * - Commit, in stream order whatever order the decodes finish in: a usable image joins the batch
 *   being formed, an unusable one is reported through `onSkip` and its slot freed; `onSample`
 *   follows each sample, usable or not.
 * - Batches: the first `batchSize` usable samples in stream order, then the next `batchSize`, …;
 *   the last may be short. Results therefore do not depend on the stage or on its timing.
 * - Slots: a batch's slots stay taken until its consumer {@linkcode SlotBatcher.gather}s them or
 *   hands them to {@linkcode SlotBatcher.releaseWhen}. At most `slotCount` images are decoding or
 *   waiting, and at most twice as many samples are read and not yet committed, so memory is
 *   bounded and the reader is held back when the consumer is the slower stage.
 *
 * A wait is only ever for an answer something is going to send (a decode or a release in flight)
 * or for the abort: a run of samples refused before decoding — which takes no slot and sends
 * nothing — is committed and read past instead of waited on, and an abort wakes any wait.
 *
 * @module
 */

import { type ImageField, imageField, type Sample } from "../dataset/webdataset.ts";
import type { SkippedSample } from "../results/result.ts";
import { skipReason } from "./skip_reason.ts";
import type { SlotDecoder } from "./slot_decoder.ts";

/** How samples are admitted, reported and batched: the options every image path takes. */
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

/** Options of {@linkcode SlotBatcher.open}. */
export interface SlotBatcherOptions<T> extends ImageBatchOptions<T> {
  /** Slots of the pixel buffer (at least `batchSize`). */
  readonly slotCount: number;
  /** Floats per slot (`3 × height × width`). */
  readonly imageSize: number;
  /** Creates the decoding stage over the pixel buffer; it is closed by {@linkcode SlotBatcher.close}. */
  readonly decoder: (slots: SharedArrayBuffer) => SlotDecoder;
  /** Stops reading and wakes any wait (the reader should get the same signal). */
  readonly signal?: AbortSignal;
}

/** A batch of images in slots, with its samples' keys and payloads, in batch order. */
export interface SlotBatch<T> {
  /** The slots holding the images. */
  readonly slots: readonly number[];
  /** The samples' keys. */
  readonly keys: readonly string[];
  /** The payloads extracted from the samples. */
  readonly items: readonly T[];
}

/** A sample read and not yet committed, in stream order. */
interface Entry<T> {
  /** The sample (or the reader's skipped sample) as read. */
  readonly sample: Sample | SkippedSample;
  /** Its payload, when it has a slot. */
  readonly item?: T;
  /** The slot its pixels go to, when it has one. */
  readonly slot?: number;
  /** Whether the decoding finished (or was never needed). */
  done: boolean;
  /** Why it cannot be used. */
  reason?: string;
}

/** A batch being formed. */
interface FormingBatch<T> {
  readonly slots: number[];
  readonly keys: string[];
  readonly items: T[];
}

const emptyBatch = <T>(): FormingBatch<T> => ({ slots: [], keys: [], items: [] });

/** Reads samples, has their images decoded into slots and forms batches (see the module doc). */
export class SlotBatcher<T> {
  /** The pixel buffer: slot `i` is floats `i × imageSize … (i + 1) × imageSize`. */
  readonly slots: SharedArrayBuffer;
  readonly #pixels: Float32Array;
  readonly #options: SlotBatcherOptions<T>;
  readonly #iterator: AsyncIterator<Sample | SkippedSample>;
  readonly #decoder: SlotDecoder;
  readonly #free: number[] = [];
  readonly #maxQueued: number;
  #exhausted = false;
  #closed = false;
  #fatal: unknown;
  // Entries in stream order; `#head` indexes the oldest uncommitted one.
  #queue: Entry<T>[] = [];
  #head = 0;
  #forming = emptyBatch<T>();
  // Decodes and releases started and not yet answered: the only events a wait can expect.
  #inFlight = 0;
  #wake: (() => void) | undefined;
  readonly #notify = (): void => {
    const resolve = this.#wake;
    this.#wake = undefined;
    resolve?.();
  };

  private constructor(
    iterator: AsyncIterator<Sample | SkippedSample>,
    slots: SharedArrayBuffer,
    decoder: SlotDecoder,
    options: SlotBatcherOptions<T>,
  ) {
    this.#iterator = iterator;
    this.slots = slots;
    this.#pixels = new Float32Array(slots);
    this.#decoder = decoder;
    this.#options = options;
    for (let slot = options.slotCount - 1; slot >= 0; slot--) this.#free.push(slot);
    this.#maxQueued = 2 * options.slotCount;
    options.signal?.addEventListener("abort", this.#notify);
  }

  /**
   * Allocates the pixel buffer and starts the decoding stage over it. Nothing is read yet.
   *
   * @throws what the `decoder` factory throws (the sample stream is then closed).
   */
  static async open<T>(
    samples: AsyncIterable<Sample | SkippedSample>,
    options: SlotBatcherOptions<T>,
  ): Promise<SlotBatcher<T>> {
    const { slotCount, imageSize } = options;
    const slots = new SharedArrayBuffer(slotCount * imageSize * Float32Array.BYTES_PER_ELEMENT);
    const iterator = samples[Symbol.asyncIterator]();
    let decoder: SlotDecoder;
    try {
      decoder = options.decoder(slots);
    } catch (error) {
      await iterator.return?.();
      throw error;
    }
    return new SlotBatcher(iterator, slots, decoder, options);
  }

  /**
   * The next batch: `batchSize` usable images, fewer once the stream is drained, or `undefined`
   * when nothing is left.
   *
   * @throws the stream's error, the abort reason, or the decoding stage's failure.
   */
  async nextBatch(): Promise<SlotBatch<T> | undefined> {
    const { batchSize } = this.#options;
    while (true) {
      if (this.#fatal !== undefined) throw this.#fatal;
      await this.fill();
      if (this.#fatal !== undefined) throw this.#fatal;
      this.#commit();
      const drained = this.#exhausted && this.#head === this.#queue.length;
      const count = this.#forming.slots.length;
      if (count === batchSize || (drained && count > 0)) {
        const batch = this.#forming;
        this.#forming = emptyBatch<T>();
        return batch;
      }
      if (drained) return undefined;
      // Committing skipped samples can make room in the queue without any decode in flight:
      // read on rather than wait for an answer that nothing is going to send.
      if (this.#canRead()) continue;
      await this.#nextEvent();
    }
  }

  /**
   * Reads and dispatches samples while a slot is free and the queue has room (a consumer calls it
   * to start on the next batch before a long synchronous step).
   *
   * @throws the stream's error or the abort reason.
   */
  async fill(): Promise<void> {
    while (this.#canRead()) {
      this.#options.signal?.throwIfAborted();
      const next = await this.#iterator.next();
      if (next.done) {
        this.#exhausted = true;
        return;
      }
      this.#dispatch(next.value);
    }
  }

  /** Copies `batch`'s images, in order, into `target` from its start, and frees their slots. */
  gather(batch: SlotBatch<T>, target: Float32Array): void {
    const size = this.#options.imageSize;
    batch.slots.forEach((slot, i) => {
      target.set(this.#pixels.subarray(slot * size, (slot + 1) * size), i * size);
    });
    this.#free.push(...batch.slots);
  }

  /** Frees `batch`'s slots once `copied` resolves (another thread copies them out meanwhile). */
  releaseWhen(copied: Promise<void>, batch: SlotBatch<T>): void {
    this.#inFlight++;
    copied.then(() => this.#free.push(...batch.slots)).finally(() => {
      this.#inFlight--;
      this.#notify();
    });
  }

  /** Closes the decoding stage and, unless it was read to its end, the sample stream. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.signal?.removeEventListener("abort", this.#notify);
    this.#decoder.close();
    if (!this.#exhausted) await this.#iterator.return?.();
  }

  /** Whether another sample may be read: a free slot and room in the queue. */
  #canRead(): boolean {
    return !this.#exhausted && this.#free.length > 0 &&
      this.#queue.length - this.#head < this.#maxQueued;
  }

  /** Queues a sample read: admitted ones go to the decoding stage with a slot. */
  #dispatch(sample: Sample | SkippedSample): void {
    if (!("fields" in sample)) {
      this.#queue.push({ sample, done: true, reason: sample.reason });
      return;
    }
    let image;
    let item: T;
    try {
      image = requireImage(sample);
      item = this.#options.extract(sample);
    } catch (error) {
      this.#queue.push({ sample, done: true, reason: skipReason(error) });
      return;
    }
    const entry: Entry<T> = { sample, item, slot: this.#free.pop()!, done: false };
    this.#queue.push(entry);
    this.#inFlight++;
    this.#decoder.decode(image.bytes, image.ext, entry.slot!).then(
      (reason) => {
        entry.done = true;
        entry.reason = reason;
      },
      (error) => {
        this.#fatal ??= error;
      },
    ).finally(() => {
      this.#inFlight--;
      this.#notify();
    });
  }

  /** Commits finished entries in stream order into the forming batch, up to a full batch. */
  #commit(): void {
    const { batchSize, onSkip, onSample } = this.#options;
    const forming = this.#forming;
    while (
      this.#head < this.#queue.length && this.#queue[this.#head].done &&
      forming.slots.length < batchSize
    ) {
      const entry = this.#queue[this.#head++];
      const { sample } = entry;
      if (entry.reason === undefined) {
        forming.slots.push(entry.slot!);
        forming.keys.push(sample.key);
        forming.items.push(entry.item as T);
      } else {
        if (entry.slot !== undefined) this.#free.push(entry.slot);
        onSkip(
          "fields" in sample
            ? { key: sample.key, source: sample.source, reason: entry.reason }
            : sample,
        );
      }
      onSample?.(sample);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Waits for a decode or release to answer, or for the abort; never for nothing. */
  #nextEvent(): Promise<void> {
    this.#options.signal?.throwIfAborted();
    if (this.#inFlight === 0) {
      throw new Error("internal error: the image pipeline waited with nothing in flight");
    }
    return new Promise<void>((resolve) => (this.#wake = resolve));
  }
}
