/**
 * What opening a file yields, whether it is local (src/io/local_file.ts) or read over HTTP
 * (src/io/http/resumable_body.ts): a stream of its bytes with its size when known, or the reason
 * it counts as absent.
 *
 * @module
 */

/** The outcome of opening a file that did not fail: its bytes, or the reason it is absent. */
export type OpenedFile =
  | {
    readonly kind: "found";
    /** The bytes from the requested offset on. */
    readonly stream: ReadableStream<Uint8Array>;
    /** Size of the whole file, when known. */
    readonly size?: number;
  }
  | {
    readonly kind: "missing";
    /** Why it counts as absent: `no such file`, `HTTP 404 Not Found`, … */
    readonly reason: string;
  };

/** An empty byte stream: the body of a `HEAD` answer, or of a response that has none. */
export function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
}
