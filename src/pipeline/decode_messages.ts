/**
 * The messages between a {@linkcode DecodePool} and its workers (`decode_worker.ts`).
 *
 * @module
 */

import type { PreprocessorSettings } from "../image/preprocess/config.ts";

/** First message to a worker: how to preprocess, and where the pixels go. */
export interface DecodeWorkerInit {
  /** Message kind. */
  readonly kind: "init";
  /** The preprocessor's settings (the worker builds its own {@linkcode ImagePreprocessor}). */
  readonly settings: PreprocessorSettings;
  /** The shared pixel slots: slot `i` is floats `i * outputLength … (i + 1) * outputLength`. */
  readonly slots: SharedArrayBuffer;
}

/** One image to decode and preprocess into a slot. */
export interface DecodeJob {
  /** Message kind. */
  readonly kind: "decode";
  /** Identifies the reply. */
  readonly id: number;
  /** The encoded image (transferred to the worker). */
  readonly bytes: Uint8Array;
  /** The sample field it came from (`jpg`, `png`, …), used in error messages. */
  readonly ext: string;
  /** The slot the preprocessed pixels are written to. */
  readonly slot: number;
}

/** The answer to a {@linkcode DecodeJob}: no `error` when the slot holds the image. */
export interface DecodeReply {
  /** The job's `id`. */
  readonly id: number;
  /** Why the sample cannot be used (the skip reason), when it cannot. */
  readonly error?: string;
}
