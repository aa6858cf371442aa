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
    try {
      const image = await decodeNativeImage(bytes, ext);
      this.#preprocessor.process(image, this.#slots, slot * this.#preprocessor.outputLength);
      return undefined;
    } catch (error) {
      return skipReason(error);
    }
  }

  /** Nothing to release: the work runs on the calling thread. */
  close(): void {}
}
