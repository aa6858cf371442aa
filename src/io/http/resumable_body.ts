/**
 * Reading a file over HTTP from a byte offset ({@linkcode openHttpFile}), as a stream that
 * survives broken connections. Requests go through src/io/http/client.ts (retries, request
 * timeouts, redirects, credentials, boundary).
 *
 * - **Range**: a read from an offset is a `Range` request; a server that ignores `Range` answers
 *   with the whole file, and the bytes before the offset are skipped.
 * - **Idle timeout**: a body that delivers no byte for too long (`HttpOptions.idleTimeoutMs`)
 *   drops the connection, and the transfer is resumed.
 * - **Resume**: a body cut off (a dropped connection, a read timeout, fewer bytes than its
 *   `Content-Length`) is requested again from the last byte received with `Range`, and the stream
 *   continues as if nothing happened; a server that ignores `Range` is re-read and the bytes
 *   already delivered are skipped. The resume carries `If-Range` with the first response's
 *   strong `ETag` (else its `Last-Modified`), so that a file replaced in between is never
 *   spliced onto the old one: when the answer shows another version (a different `ETag`,
 *   `Last-Modified` or size, or a whole-file `200` to the `If-Range`), the read restarts on the
 *   new version if none of its bytes were delivered yet, and otherwise fails with a
 *   {@linkcode DatasetError} saying that the file changed while being read. (A server that sends
 *   none of these validators cannot be checked.)
 *
 * @module
 */

import { DatasetError } from "../../errors.ts";
import { messageOf } from "../error_message.ts";
import { emptyStream, type OpenedFile } from "../opened_file.ts";
import {
  attemptsNote,
  DEFAULT_IDLE_TIMEOUT_MS,
  httpRequest,
  type HttpRequestOptions,
  type HttpResponse,
  statusText,
} from "./client.ts";
import {
  backoffDelayMs,
  type RetryClock,
  type RetryPolicy,
  retryPolicy,
  SYSTEM_CLOCK,
} from "./retry.ts";

/**
 * Opens an URL from byte `offset`: the first response, then a stream that resumes the body where
 * it breaks (see the module documentation); `missing` for HTTP 404 or 410. A `HEAD` request
 * yields an empty stream and the size.
 *
 * @throws {DatasetError} naming the URL for any other failure.
 */
export async function openHttpFile(
  url: string,
  method: "GET" | "HEAD",
  offset: number,
  options: HttpRequestOptions,
): Promise<OpenedFile> {
  const first = await requestFrom(url, method, offset, options);
  if (first.kind === "missing") return first;
  if (method === "HEAD") {
    await first.answer.response.body?.cancel().catch(() => {});
    return { kind: "found", stream: emptyStream(), size: first.size };
  }
  return {
    kind: "found",
    stream: new ResumableBody(url, offset, first, options).stream(),
    size: first.size,
  };
}

/** A response positioned in the file: the body starts `skip` bytes before the wanted offset. */
type Positioned =
  | { kind: "missing"; reason: string }
  | {
    kind: "found";
    answer: HttpResponse;
    /** Bytes of the body to discard before the wanted offset (a server ignoring `Range`). */
    skip: number;
    /** Size of the whole file, when the headers tell it. */
    size: number | undefined;
  };

/** Requests `url` from byte `offset` and checks the answer. */
async function requestFrom(
  url: string,
  method: "GET" | "HEAD",
  offset: number,
  options: HttpRequestOptions,
  ifRange?: string,
): Promise<Positioned> {
  const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
  if (offset > 0 && ifRange !== undefined) headers["if-range"] = ifRange;
  const answer = await httpRequest({ url, method, headers }, options);
  const { response } = answer;
  if (response.status === 404 || response.status === 410) {
    await response.body?.cancel().catch(() => {});
    return { kind: "missing", reason: statusText(response) };
  }
  if (response.status === 416 && offset > 0) {
    // Nothing left after `offset`: the range starts at or past the end.
    const total = contentRangeTotal(response.headers.get("content-range"));
    await response.body?.cancel().catch(() => {});
    if (total === offset) {
      return { kind: "found", answer: emptyAnswer(answer), skip: 0, size: total };
    }
    throw new DatasetError(`${url}: ${statusText(response)} for bytes ${offset}-`, {
      path: url,
      offset,
    });
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    throw new DatasetError(`${url}: ${statusText(response)}${attemptsNote(answer.attempts)}`, {
      path: url,
    });
  }
  const length = bodyLength(response, method);
  if (response.status === 206) {
    const range = /^bytes ([0-9]+)-([0-9]+)\/([0-9]+|\*)$/.exec(
      response.headers.get("content-range") ?? "",
    );
    if (range === null || Number(range[1]) !== offset) {
      await response.body?.cancel().catch(() => {});
      throw new DatasetError(
        `${url}: asked for bytes ${offset}- and got ${
          JSON.stringify(response.headers.get("content-range"))
        }`,
        { path: url, offset },
      );
    }
    const size = range[3] === "*" ? undefined : Number(range[3]);
    return { kind: "found", answer, skip: 0, size };
  }
  // A 200 answer is the whole file, whatever was asked.
  return { kind: "found", answer, skip: offset, size: length };
}

/** A stand-in answer with an empty body (a range request that starts at the end). */
function emptyAnswer(answer: HttpResponse): HttpResponse {
  return { ...answer, response: new Response(null, { status: 204 }) };
}

/** The body length a response announces, when it can be trusted (no content coding). */
function bodyLength(response: Response, method: "GET" | "HEAD"): number | undefined {
  // With a Content-Encoding, fetch decodes the body and Content-Length counts encoded bytes.
  const encoding = response.headers.get("content-encoding");
  if (encoding !== null && encoding !== "identity") return undefined;
  const header = response.headers.get("content-length");
  if (header === null || !/^[0-9]+$/.test(header)) return undefined;
  return method === "GET" || response.status === 200 ? Number(header) : undefined;
}

function contentRangeTotal(header: string | null): number | undefined {
  const match = /^bytes \*\/([0-9]+)$/.exec(header ?? "");
  return match === null ? undefined : Number(match[1]);
}

/** What identifies the version of a file an HTTP response carries. */
interface Validators {
  /** `ETag`, strong or weak, as sent. */
  readonly etag?: string;
  /** `Last-Modified`, as sent. */
  readonly lastModified?: string;
}

function validatorsOf(response: Response): Validators {
  return {
    etag: response.headers.get("etag") ?? undefined,
    lastModified: response.headers.get("last-modified") ?? undefined,
  };
}

/** The `If-Range` value for a resume: a strong `ETag`, else `Last-Modified`, else none. */
function ifRangeOf(validators: Validators): string | undefined {
  const { etag, lastModified } = validators;
  if (etag !== undefined && !etag.startsWith("W/")) return etag;
  return lastModified;
}

/**
 * A response body as a stream that survives broken connections: when the body fails, stalls
 * beyond the idle timeout, or ends before its announced length, the rest is requested again from
 * the last byte delivered, up to the retry policy's number of retries without progress. Each
 * resume is conditional on the file being the same version (see the module documentation).
 */
class ResumableBody {
  readonly #url: string;
  readonly #options: HttpRequestOptions;
  readonly #policy: RetryPolicy;
  readonly #clock: RetryClock;
  /** Absolute position in the file of the next byte to deliver. */
  #position: number;
  /** Where the stream started (bytes before it were never delivered). */
  readonly #start: number;
  /** The version being read. */
  #validators: Validators;
  /** Size of the whole file, when known. */
  #size: number | undefined;
  #answer: HttpResponse;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Bytes still to discard from the current body. */
  #skip: number;
  /** Failures since the last byte delivered. */
  #failures = 0;
  #attempts = 1;

  constructor(
    url: string,
    offset: number,
    first: Extract<Positioned, { kind: "found" }>,
    options: HttpRequestOptions,
  ) {
    this.#url = url;
    this.#options = options;
    this.#policy = retryPolicy(options.http?.retry);
    this.#clock = options.http?.clock ?? SYSTEM_CLOCK;
    this.#position = offset;
    this.#start = offset;
    this.#validators = validatorsOf(first.answer.response);
    this.#size = first.size;
    this.#answer = first.answer;
    this.#skip = first.skip;
    this.#reader = this.#bodyReader(first.answer);
  }

  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: (controller) => this.#pull(controller),
      cancel: async (reason) => {
        await this.#reader.cancel(reason).catch(() => {});
        this.#answer.abort(reason);
      },
    }, { highWaterMark: 0 });
  }

  #bodyReader(answer: HttpResponse): ReadableStreamDefaultReader<Uint8Array> {
    const body = answer.response.body ?? emptyStream();
    return body.getReader();
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    const { signal } = this.#options;
    while (true) {
      let failure: string;
      let cause: unknown;
      try {
        const result = await this.#read();
        if (result.done) {
          if (this.#size === undefined || this.#position >= this.#size) {
            controller.close();
            return;
          }
          failure = `body cut short: got ${this.#position} of ${this.#size} bytes`;
        } else {
          let chunk = result.value;
          if (this.#skip > 0) {
            const dropped = Math.min(this.#skip, chunk.length);
            this.#skip -= dropped;
            chunk = chunk.subarray(dropped);
          }
          if (chunk.length === 0) continue;
          this.#position += chunk.length;
          this.#failures = 0;
          controller.enqueue(chunk);
          return;
        }
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        cause = error;
        failure = `read failed after ${this.#position}${this.#ofSize()} bytes: ${messageOf(error)}`;
      }
      await this.#resume(failure, cause);
    }
  }

  #ofSize(): string {
    return this.#size === undefined ? "" : ` of ${this.#size}`;
  }

  /** Reads the next chunk, giving up when none comes within the idle timeout. */
  async #read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    const idleMs = this.#options.http?.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const pending = this.#reader.read();
    const idle = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`no data for ${idleMs / 1000} s`);
        this.#answer.abort(error);
        reject(error);
      }, idleMs);
    });
    pending.catch(() => {});
    try {
      return await Promise.race([pending, idle]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drops the broken response and requests the rest, or fails when retries are used up. */
  async #resume(failure: string, cause: unknown): Promise<void> {
    const { signal } = this.#options;
    this.#failures++;
    await this.#reader.cancel().catch(() => {});
    this.#answer.abort(new Error("resuming"));
    if (this.#failures > this.#policy.maxRetries) {
      throw new DatasetError(`${this.#url}: ${failure}${attemptsNote(this.#attempts)}`, {
        path: this.#url,
        offset: this.#position,
        cause,
      });
    }
    const delayMs = backoffDelayMs(this.#failures, this.#policy, this.#clock.random);
    this.#options.http?.onRetry?.({
      url: this.#url,
      retry: this.#failures,
      delayMs,
      reason: failure,
      offset: this.#position,
    });
    await this.#clock.sleep(delayMs, signal);
    this.#attempts++;
    let next: Positioned;
    try {
      next = await requestFrom(
        this.#url,
        "GET",
        this.#position,
        this.#options,
        ifRangeOf(this.#validators),
      );
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new DatasetError(
        `${this.#url}: ${failure}, and resuming from byte ${this.#position} failed: ${
          messageOf(error)
        }`,
        { path: this.#url, offset: this.#position, cause: error },
      );
    }
    if (next.kind === "missing") {
      throw new DatasetError(
        `${this.#url}: ${failure}, and the file is gone on resuming (${next.reason})`,
        { path: this.#url, offset: this.#position },
      );
    }
    const change = this.#changeIn(next);
    if (change !== undefined) {
      if (this.#position > this.#start) {
        await next.answer.response.body?.cancel().catch(() => {});
        throw new DatasetError(
          `${this.#url}: changed while being read (${change}) after ${
            this.#position - this.#start
          } bytes had been read; not splicing two versions of the file`,
          { path: this.#url, offset: this.#position },
        );
      }
      // Nothing delivered yet: read the new version from the start.
      this.#size = undefined;
    }
    this.#validators = validatorsOf(next.answer.response);
    this.#answer = next.answer;
    this.#skip = next.skip;
    this.#size = next.size ?? this.#size;
    this.#reader = this.#bodyReader(next.answer);
  }

  /** How the resumed answer shows another version of the file, or `undefined` if it does not. */
  #changeIn(next: Extract<Positioned, { kind: "found" }>): string | undefined {
    const { response } = next.answer;
    const now = validatorsOf(response);
    const before = this.#validators;
    if (before.etag !== undefined && now.etag !== undefined && now.etag !== before.etag) {
      return `ETag ${before.etag} became ${now.etag}`;
    }
    if (
      before.etag === undefined && before.lastModified !== undefined &&
      now.lastModified !== undefined && now.lastModified !== before.lastModified
    ) {
      return `Last-Modified ${before.lastModified} became ${now.lastModified}`;
    }
    if (this.#size !== undefined && next.size !== undefined && next.size !== this.#size) {
      return `size ${this.#size} became ${next.size}`;
    }
    if (
      response.status === 200 && this.#position > 0 && ifRangeOf(before) !== undefined &&
      (now.etag ?? now.lastModified) === undefined
    ) {
      // The whole file again, in answer to If-Range, with nothing to tell it is the same one.
      return "the server answered If-Range with the whole file";
    }
    return undefined;
  }
}
