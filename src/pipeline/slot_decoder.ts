/**
 * The decoding stage of the image pipeline: something that decodes one encoded image and
 * preprocesses it into a numbered slot of a pixel buffer, answering with the reason when the
 * sample cannot be used. {@linkcode SlotBatcher} (slot_batcher.ts) hands it one image per slot
 * and decides everything else (which samples are admitted, in what order they are committed,
 * when a slot is free again).
 *
 * Two stages implement it: {@linkcode InThreadDecoder} here, which does the work on the thread
 * that calls it (the main thread for `numWorkers: 0`, and the body of every decoding worker), and
 * `DecodePool` (decode_pool.ts), which sends each image to one of its workers. Both end in the
 * same {@linkcode InThreadDecoder.decode}, so a sample gets the same pixels, or the same skip
 * reason, whichever stage decodes it.
 *
 * @module
 */

import { decodeNativeImage } from "../image/decode/mod.ts";
import type { ImagePreprocessor } from "../image/preprocess/kernel.ts";
import { skipReason } from "./skip_reason.ts";

/** Decodes and preprocesses images into the slots of a pixel buffer. */
export interface SlotDecoder {
  /**
   * Decodes `bytes` and preprocesses the image into `slot`.
   *
   * @param ext The sample field (`jpg`, `png`, …), named in error messages.
   * @returns `undefined` once the slot holds the image, or the reason the sample cannot be used
   *   (see skip_reason.ts). The promise rejects when the stage itself is broken (a programming
   *   error, a failed worker): that fails the run.
   */
  decode(bytes: Uint8Array, ext: string, slot: number): Promise<string | undefined>;
  /** Releases what the stage holds (idempotent); later decodes may be refused. */
  close(): void;
}

/**
 * Decodes on the calling thread: each image in its own Pillow mode ({@linkcode decodeNativeImage}),
 * preprocessed ({@linkcode ImagePreprocessor.process}, RGB conversion included) straight into its
 * slot of `slots` (slot `i` is floats `i × outputLength … (i + 1) × outputLength`).
 */
export class InThreadDecoder implements SlotDecoder {
  readonly #preprocessor: ImagePreprocessor;
  readonly #slots: Float32Array;
  /** A JPEG pixel buffer to reuse, when no decode holds it (see {@linkcode PixelScratch}). */
  readonly #scratch = new PixelScratch();

  /**
   * Creates an instance.
   *
   * @param preprocessor The preprocessing applied to every image.
   * @param slots The pixel slots written to.
   */
  constructor(preprocessor: ImagePreprocessor, slots: Float32Array) {
    this.#preprocessor = preprocessor;
    this.#slots = slots;
  }

  /**
   * {@inheritDoc SlotDecoder.decode}
   *
   * @throws (the promise rejects) any error that is not a sample's own (see skip_reason.ts).
   */
  async decode(bytes: Uint8Array, ext: string, slot: number): Promise<string | undefined> {
    const lease = this.#scratch.take();
    try {
      const image = await decodeNativeImage(bytes, ext, { pixelBuffer: lease.buffer });
      this.#preprocessor.process(image, this.#slots, slot * this.#preprocessor.outputLength);
      return undefined;
    } catch (error) {
      return skipReason(error);
    } finally {
      lease.release();
    }
  }

  /** Nothing to release: the work runs on the calling thread. */
  close(): void {}
}

/** Buffers larger than this are not kept between images (a huge image's memory is returned). */
const SCRATCH_RETAIN_BYTES = 64 * 1024 * 1024;

/**
 * One reusable pixel buffer for decoding, lent to one decode at a time: a decode that finds it
 * lent (decodes overlapping in one worker) gets fresh buffers instead, so an image's pixels are
 * never overwritten while it is being preprocessed. The buffer grows to the largest image that
 * needed it, up to {@linkcode SCRATCH_RETAIN_BYTES}.
 */
export class PixelScratch {
  #buffer: Uint8Array | undefined = new Uint8Array(0);

  /** Borrows the buffer (or, while it is lent, a source of fresh buffers) until `release`. */
  take(): { buffer: (bytes: number) => Uint8Array; release: () => void } {
    const kept = this.#buffer;
    if (kept === undefined) return { buffer: (bytes) => new Uint8Array(bytes), release: () => {} };
    this.#buffer = undefined;
    let current = kept;
    return {
      buffer: (bytes) => {
        if (current.length < bytes) current = new Uint8Array(bytes);
        return current;
      },
      release: () => {
        this.#buffer = current.length <= SCRATCH_RETAIN_BYTES ? current : kept;
      },
    };
  }
}
