/**
 * The reason recorded for a skipped sample: the message of the error that made it unusable.
 * Shared by the in-process path and the decoding workers, so that both record the same text.
 *
 * @module
 */

/** The message of `error` (an `Error`'s `message`, else its string form). */
export function skipReason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
