/**
 * Which errors skip a sample, and the reason recorded for it: the message of the error that made
 * it unusable. Shared by the admission of samples (slot_batcher.ts) and their decoding
 * (slot_decoder.ts, on the main thread and in the decoding workers alike), so that every path
 * skips the same samples with the same text — and fails the run, instead of skipping, on anything
 * else.
 *
 * A sample is skipped for the project's own errors about it: a {@linkcode ClipbenchError} (an
 * {@linkcode ImageDecodeError} for an image the decoders refuse, a `SampleError`, …), or a plain
 * `Error` — the class itself, which the tasks' payload checks throw ("no label (cls field)", "no
 * captions …") and `requireImage` ("no image …"). Everything else is a programming or environment
 * error — a `TypeError`, `RangeError` or `ReferenceError` from a bug, a decoder that failed for a
 * reason that is not the image's (`DecoderFailure`), a thrown non-error — and is rethrown, so the
 * run fails loudly instead of counting a broken pipeline as bad data.
 *
 * @module
 */

import { ClipbenchError } from "../errors.ts";

/**
 * Whether `error` says a sample cannot be used (it is then skipped), rather than that something
 * is broken (see the module documentation).
 */
export function isSampleError(error: unknown): error is Error {
  return error instanceof ClipbenchError ||
    (error instanceof Error && Object.getPrototypeOf(error) === Error.prototype);
}

/**
 * The skip reason for `error`: its message.
 *
 * @throws `error` itself when it is not a sample's error ({@linkcode isSampleError}): a
 *   programming or environment error must fail the run, not skip the sample.
 */
export function skipReason(error: unknown): string {
  if (!isSampleError(error)) throw error;
  return error.message;
}
