/**
 * The message of a caught value, for error texts that quote the failure they wrap (the local
 * file reader, the HTTP client and the resumable HTTP body).
 *
 * @module
 */

/** `error.message` for an `Error`, else `String(error)`. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
