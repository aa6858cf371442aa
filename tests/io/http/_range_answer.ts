/**
 * How the loopback test servers answer a file request: the whole file (200) or its tail from a
 * `Range: bytes=N-` start (206 with `Content-Range`), optionally cut off or stalled part-way.
 *
 * @module
 */

/** The start byte of a `Range: bytes=N-` header, or `undefined` for no (or another) range. */
export function rangeStart(request: Request): number | undefined {
  const range = /^bytes=([0-9]+)-$/.exec(request.headers.get("range") ?? "");
  return range === null ? undefined : Number(range[1]);
}

/** How {@linkcode rangeAnswer} delivers the body. */
export interface RangeAnswerOptions {
  /** Headers added to `Content-Length` (and `Content-Range`), e.g. a validator. */
  headers?: Record<string, string>;
  /** Send this many bytes, then end the body: the connection closes short of the length. */
  cutAfter?: number;
  /** Send this many bytes, then nothing until the client goes away. */
  stallAfter?: number;
}

/**
 * Answers with `whole` from byte `start` on: 200 when `start` is 0, else 206 with
 * `Content-Range`; `Content-Length` always announces the full remainder.
 */
export function rangeAnswer(
  whole: Uint8Array,
  start: number,
  options: RangeAnswerOptions = {},
): Response {
  const bytes = whole.slice(start);
  const headers: Record<string, string> = {
    ...options.headers,
    "content-length": String(bytes.length),
  };
  if (start > 0) headers["content-range"] = `bytes ${start}-${whole.length - 1}/${whole.length}`;
  const status = start > 0 ? 206 : 200;
  const { cutAfter, stallAfter } = options;
  if (stallAfter !== undefined) {
    return new Response(
      new ReadableStream({
        // Never closed: Deno cancels this body when the client drops the connection.
        start(controller) {
          controller.enqueue(bytes.slice(0, stallAfter));
        },
      }),
      { status, headers },
    );
  }
  if (cutAfter === undefined) return new Response(bytes, { status, headers });
  return new Response(
    new ReadableStream({
      start(controller) {
        controller.enqueue(bytes.slice(0, cutAfter));
        controller.close();
      },
    }),
    { status, headers },
  );
}
