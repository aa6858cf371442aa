/**
 * Reading dataset files from a local path or an `http(s)://` URL: streamed bytes, small text
 * files and existence tests, with every failure turned into a {@linkcode DatasetError} that
 * names the location (and, for a body that stops early, the byte offset reached).
 *
 * All HTTP goes through this module ({@linkcode httpRequest}), which makes it reliable in one
 * place:
 *
 * - **Retries** of lost connections, timeouts, HTTP 408, 429 and 5xx, with exponential backoff
 *   and jitter, honouring `Retry-After` (see src/io/http/retry.ts for the policy).
 * - **Timeouts** on every request (until the response headers arrive) and on every body read
 *   (no byte for too long drops the connection).
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
 * - **Redirects** are followed by hand, so that credentials ({@linkcode HttpOptions.headers}) go
 *   only to the origin they were given for, never to a CDN host a hub redirects to.
 * - `Accept-Encoding: identity`, so that sizes and byte offsets are those of the file itself.
 *
 * A location is an `http://` or `https://` URL, a `file://` URL, or a local path. Other URL
 * schemes (`s3://`, `pipe:`…) are rejected.
 *
 * **Boundary** ({@linkcode ByteSourceOptions.boundary}, set by `serve` for the datasets of a
 * request): every local file opened must lie, symbolic links resolved, inside the boundary folder
 * (itself resolved), and every URL requested — after normalisation (`..`, `%2e%2e`, encoded
 * slashes), redirects included — must start with the boundary prefix, path segment by path
 * segment (`/data/` does not admit `/data2`). Anything else is refused with a
 * {@linkcode DatasetError} that names the location as requested and nothing it resolves to. A {@linkcode DatasetLocation} generalises a dataset
 * root: files addressed by relative paths, which a hub can map onto its own URL shapes.
 *
 * @module
 */

import { resolve, sep as SEP } from "node:path";
import { fileURLToPath } from "node:url";
import { DatasetError } from "../errors.ts";
import {
  backoffDelayMs,
  isRetryableStatus,
  parseRetryAfter,
  type RetryClock,
  type RetryPolicy,
  retryPolicy,
  SYSTEM_CLOCK,
} from "./http/retry.ts";
import { concatBytes } from "./bytes.ts";

/** How HTTP requests are made: credentials, retries, timeouts. */
export interface HttpOptions {
  /**
   * Extra request headers, e.g. `Authorization`. They are sent only to
   * {@linkcode HttpOptions.credentialOrigin} (by default the origin — scheme, host and port —
   * of the URL requested), and dropped when a redirect leads to another origin.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The only origin `headers` go to, e.g. a hub's `https://huggingface.co`, so that a request
   * made straight to a CDN URL the hub handed out carries no credentials.
   */
  readonly credentialOrigin?: string;
  /** Retry policy (missing fields take the defaults); `false` makes a single attempt. */
  readonly retry?: Partial<RetryPolicy> | false;
  /** Milliseconds allowed for each attempt until the response headers arrive (default 30 s). */
  readonly requestTimeoutMs?: number;
  /**
   * Milliseconds a body may go without delivering a byte before the connection is dropped and
   * the transfer resumed (default 60 s).
   */
  readonly idleTimeoutMs?: number;
  /** Sleep, randomness and time for the backoff (tests inject a fast clock). */
  readonly clock?: RetryClock;
  /** Called before each retry, e.g. to log it. */
  readonly onRetry?: (event: RetryEvent) => void;
}

/** What {@linkcode HttpOptions.onRetry} is told. */
export interface RetryEvent {
  /** The URL requested. */
  readonly url: string;
  /** The retry about to be made (1 for the first). */
  readonly retry: number;
  /** Milliseconds waited before it. */
  readonly delayMs: number;
  /** What failed: `HTTP 503 Service Unavailable`, `connection failed: …`, `body cut short …`. */
  readonly reason: string;
  /** For a resumed body, the byte offset it resumes from. */
  readonly offset?: number;
}

/** Options common to the functions of this module. */
export interface ByteSourceOptions {
  /** Cancels the request or read; the abort reason is thrown as is. */
  readonly signal?: AbortSignal;
  /** HTTP settings (ignored for local files). */
  readonly http?: HttpOptions;
  /**
   * A folder, or an `http(s)://` URL prefix, that every location read must stay within (see the
   * module documentation); unset, anything may be read and redirects go anywhere.
   */
  readonly boundary?: string;
}

/** Options of {@linkcode openFile} and {@linkcode openByteStream}. */
export interface OpenStreamOptions extends ByteSourceOptions {
  /** Start at this byte (an HTTP `Range` request; a seek for local files). Default 0. */
  readonly offset?: number;
}

/** Options of {@linkcode readText}. */
export interface ReadTextOptions extends ByteSourceOptions {
  /** Largest accepted file, in bytes (default {@linkcode DEFAULT_MAX_TEXT_BYTES}). */
  readonly maxBytes?: number;
}

/** Default {@linkcode ReadTextOptions.maxBytes}: 16 MiB. */
export const DEFAULT_MAX_TEXT_BYTES = 16 * 1024 * 1024;

/** Default {@linkcode HttpOptions.requestTimeoutMs}: 30 s. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Default {@linkcode HttpOptions.idleTimeoutMs}: 60 s. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** Redirects followed before a request fails. */
const MAX_REDIRECTS = 10;

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

/**
 * A dataset root: files addressed by `/`-separated paths relative to it. {@linkcode locationAt}
 * makes one from a folder or URL; hub datasets map paths onto their hub's URL shapes or cache.
 */
export interface DatasetLocation {
  /** The root, for messages and results: a folder, a URL, or a hub URL prefix. */
  readonly root: string;
  /** The full location (path or URL) of a file, as used in messages and sample sources. */
  locate(relativePath: string): string;
  /**
   * Opens a file. Resolves to `missing` when it does not exist (a missing local file, HTTP 404
   * or 410).
   *
   * @throws {DatasetError} for any other failure.
   */
  open(relativePath: string, options?: OpenStreamOptions): Promise<OpenedFile>;
}

/** Whether `location` is an `http://` or `https://` URL. */
export function isHttpUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/**
 * Joins a dataset root and a relative `/`-separated path (`"test/0.tar"`). A trailing slash
 * on the root is optional. For URLs, characters that cannot appear in a URL path are
 * percent-encoded in `relativePath` (already valid text, `%XX` escapes included, is kept as
 * is) and a query or fragment on the root stays at the end.
 */
export function joinLocation(root: string, relativePath: string): string {
  if (URL_SCHEME.test(root)) {
    const authorityStart = root.indexOf("//") + 2;
    const queryStart = root.slice(authorityStart).search(/[?#]/);
    const cut = queryStart < 0 ? root.length : authorityStart + queryStart;
    const base = root.slice(0, cut);
    const separator = base.endsWith("/") ? "" : "/";
    return `${base}${separator}${encodeUrlPath(relativePath)}${root.slice(cut)}`;
  }
  if (root === "") return relativePath;
  const separator = root.endsWith("/") || root.endsWith("\\") ? "" : "/";
  return `${root}${separator}${relativePath}`;
}

/**
 * The {@linkcode DatasetLocation} of a folder or URL root: files are
 * {@linkcode joinLocation}`(root, path)`, read with `options.http` for URLs.
 */
export function locationAt(
  root: string,
  options: { http?: HttpOptions; boundary?: string } = {},
): DatasetLocation {
  return {
    root,
    locate: (relativePath) => joinLocation(root, relativePath),
    open: (relativePath, openOptions = {}) =>
      openFile(joinLocation(root, relativePath), {
        http: options.http,
        boundary: options.boundary,
        ...openOptions,
      }),
  };
}

/**
 * Opens `location` as a stream of its bytes (from `options.offset`), read chunk by chunk, never
 * whole; `missing` when it does not exist (a missing local file, HTTP 404 or 410). Errors while
 * reading error the stream with a {@linkcode DatasetError} whose `offset` is the byte position
 * reached; over HTTP, cut transfers are first resumed (see the module documentation).
 *
 * @throws {DatasetError} when the location cannot be opened for another reason.
 */
export async function openFile(
  location: string,
  options: OpenStreamOptions = {},
): Promise<OpenedFile> {
  return await openAt(location, "GET", options);
}

/**
 * Like {@linkcode openFile}, but a missing file is an error.
 *
 * @throws {DatasetError} when the location does not exist or cannot be opened.
 */
export async function openByteStream(
  location: string,
  options: OpenStreamOptions = {},
): Promise<ReadableStream<Uint8Array>> {
  const opened = await openAt(location, "GET", options);
  if (opened.kind === "missing") {
    throw new DatasetError(`${location}: not found (${opened.reason})`, { path: location });
  }
  return opened.stream;
}

/**
 * Reads a small UTF-8 text file whole. A byte-order mark is kept, as Python's `open()` with the
 * UTF-8 codec keeps it.
 *
 * @throws {DatasetError} when the file is missing, unreadable, too large or not UTF-8.
 */
export async function readText(location: string, options: ReadTextOptions = {}): Promise<string> {
  const opened = await openAt(location, "GET", options);
  if (opened.kind === "missing") {
    throw new DatasetError(`${location}: not found (${opened.reason})`, { path: location });
  }
  return await readStreamText(location, opened.stream, options.maxBytes);
}

/**
 * Like {@linkcode readText}, but `undefined` when the file does not exist (a missing local
 * file, HTTP 404 or 410). Any other failure, HTTP 500 included, still throws.
 */
export async function readTextIfExists(
  location: string,
  options: ReadTextOptions = {},
): Promise<string | undefined> {
  const opened = await openAt(location, "GET", options);
  if (opened.kind === "missing") return undefined;
  return await readStreamText(location, opened.stream, options.maxBytes);
}

/**
 * Reads a whole stream of at most `maxBytes` bytes and decodes it as UTF-8, keeping a BOM.
 * `location` names the file in errors.
 *
 * @throws {DatasetError} when the stream is larger than `maxBytes` or not UTF-8.
 */
export async function readStreamText(
  location: string,
  stream: ReadableStream<Uint8Array>,
  maxBytes: number = DEFAULT_MAX_TEXT_BYTES,
): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > maxBytes) {
      throw new DatasetError(`${location}: larger than ${maxBytes} bytes, not a small text file`, {
        path: location,
        offset: maxBytes,
      });
    }
    chunks.push(chunk);
  }
  const bytes = concatBytes(chunks, total);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (error) {
    throw new DatasetError(`${location}: not valid UTF-8 text`, { path: location, cause: error });
  }
}

/**
 * Whether a file exists at `location`: a regular local file, or an URL that answers a `HEAD`
 * request with a 2xx status (404 and 410 mean no).
 *
 * @throws {DatasetError} when the answer is neither (HTTP 500, connection refused…).
 */
export async function locationExists(
  location: string,
  options: ByteSourceOptions = {},
): Promise<boolean> {
  const opened = await openAt(location, "HEAD", options);
  if (opened.kind === "missing") return false;
  await opened.stream.cancel();
  return true;
}

/** An HTTP request for {@linkcode httpRequest}. */
export interface HttpRequest {
  /** The URL. */
  readonly url: string;
  /** `GET` (default) or `HEAD`. */
  readonly method?: "GET" | "HEAD";
  /** Headers of this request (sent to every host, unlike {@linkcode HttpOptions.headers}). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * `follow` (default): follow redirects, dropping the credential headers when leaving the
   * origin. `manual`: return a 3xx response as it is (after following same-origin relative
   * redirects, as Hugging Face's clients do, so a renamed repository still resolves).
   */
  readonly redirect?: "follow" | "manual";
}

/** The answer to an {@linkcode httpRequest}. */
export interface HttpResponse {
  /** The response; its body is unread (cancel it if it is not needed). */
  readonly response: Response;
  /** The URL that answered (after redirects). */
  readonly url: string;
  /** Attempts made (1 when the first one was answered). */
  readonly attempts: number;
  /** Aborts the connection (e.g. when the body stops coming). */
  readonly abort: (reason?: unknown) => void;
}

/**
 * Sends an HTTP request with retries (see the module documentation). A response with a status
 * that is not retried (2xx, 3xx with `redirect: "manual"`, 4xx but 408 and 429) is returned at
 * once; a retried status that persists is returned after the last retry.
 *
 * @throws {DatasetError} naming the URL when it cannot be reached (after the last retry), when a
 *   server asks to wait longer than the policy allows, or when redirects loop.
 */
export async function httpRequest(
  request: HttpRequest,
  options: ByteSourceOptions = {},
): Promise<HttpResponse> {
  const { signal } = options;
  const http = options.http ?? {};
  const policy = retryPolicy(http.retry);
  const clock = http.clock ?? SYSTEM_CLOCK;
  for (let attempt = 1;; attempt++) {
    signal?.throwIfAborted();
    const retriesLeft = attempt <= policy.maxRetries;
    let failure: string;
    let retryAfterMs: number | undefined;
    const attemptControl = new AbortController();
    const attemptSignal = signal === undefined
      ? attemptControl.signal
      : AbortSignal.any([signal, attemptControl.signal]);
    const timeoutMs = http.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const timer = setTimeout(
      () => attemptControl.abort(new RequestTimeout(`no response within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    try {
      const answered = await followRedirects(request, http, attemptSignal, options.boundary);
      const { response } = answered;
      if (!isRetryableStatus(response.status) || !retriesLeft) {
        return {
          ...answered,
          attempts: attempt,
          abort: (reason) => attemptControl.abort(reason),
        };
      }
      await response.body?.cancel().catch(() => {});
      failure = statusText(response);
      retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), clock.now());
      if (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMs) {
        throw new DatasetError(
          `${request.url}: ${failure}; the server asks to retry after ${
            Math.ceil(retryAfterMs / 1000)
          } s, longer than the ${policy.maxRetryAfterMs / 1000} s clipbench waits`,
          { path: request.url },
        );
      }
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof DatasetError) throw error;
      failure = attemptControl.signal.aborted
        ? `timed out (${messageOf(attemptControl.signal.reason)})`
        : `request failed: ${messageOf(error)}`;
      if (!retriesLeft) {
        throw new DatasetError(`${request.url}: ${failure}${attemptsNote(attempt)}`, {
          path: request.url,
          cause: error,
        });
      }
    } finally {
      clearTimeout(timer);
    }
    const delayMs = retryAfterMs ?? backoffDelayMs(attempt, policy, clock.random);
    http.onRetry?.({ url: request.url, retry: attempt, delayMs, reason: failure });
    await clock.sleep(delayMs, signal);
  }
}

/** A request that got no response in time. */
class RequestTimeout extends Error {}

/** One attempt: the request and its redirects, credentials kept to their own origin. */
async function followRedirects(
  request: HttpRequest,
  http: HttpOptions,
  signal: AbortSignal,
  boundary: string | undefined,
): Promise<{ response: Response; url: string }> {
  const credentialOrigin = http.credentialOrigin === undefined
    ? new URL(request.url).origin
    : new URL(http.credentialOrigin).origin;
  let url = request.url;
  const method = request.method ?? "GET";
  for (let hop = 0;; hop++) {
    if (boundary !== undefined) {
      if (!isUrlWithin(url, boundary)) {
        throw new DatasetError(
          hop === 0
            ? `${request.url}: refused: outside the dataset's allowed URL prefix`
            : `${request.url}: refused: redirected outside the dataset's allowed URL prefix`,
          { path: request.url },
        );
      }
      url = new URL(url).href;
    }
    const headers = new Headers({ "accept-encoding": "identity" });
    if (new URL(url).origin === credentialOrigin) {
      for (const [name, value] of Object.entries(http.headers ?? {})) headers.set(name, value);
    }
    for (const [name, value] of Object.entries(request.headers ?? {})) headers.set(name, value);
    const response = await fetch(url, { method, headers, signal, redirect: "manual" });
    const location = response.headers.get("location");
    if (response.status < 300 || response.status > 399 || location === null) {
      return { response, url };
    }
    const next = new URL(location, url);
    const relative = !/^[a-z][a-z0-9+.-]*:/i.test(location) && !location.startsWith("//");
    if (request.redirect === "manual" && !(relative && next.origin === new URL(url).origin)) {
      return { response, url };
    }
    await response.body?.cancel().catch(() => {});
    if (hop >= MAX_REDIRECTS) {
      throw new DatasetError(`${request.url}: more than ${MAX_REDIRECTS} redirects`, {
        path: request.url,
      });
    }
    if (next.protocol !== "http:" && next.protocol !== "https:") {
      throw new DatasetError(`${request.url}: redirected to unsupported URL ${next.href}`, {
        path: request.url,
      });
    }
    url = next.href;
  }
}

/** `HTTP 503 Service Unavailable`. */
function statusText(response: Response): string {
  return `HTTP ${response.status}${response.statusText === "" ? "" : ` ${response.statusText}`}`;
}

function attemptsNote(attempts: number): string {
  return attempts > 1 ? ` (${attempts} attempts)` : "";
}

async function openAt(
  location: string,
  method: "GET" | "HEAD",
  options: OpenStreamOptions,
): Promise<OpenedFile> {
  options.signal?.throwIfAborted();
  const offset = options.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`offset must be a non-negative integer, got ${options.offset}`);
  }
  const scheme = URL_SCHEME.exec(location)?.[1].toLowerCase();
  if (scheme === "http" || scheme === "https") {
    // The URL (and every redirect) is checked against the boundary where it is requested.
    return await openHttp(location, method, offset, options);
  }
  if (scheme !== undefined && scheme !== "file") {
    throw new DatasetError(
      `${location}: unsupported URL scheme "${scheme}:" (use a local path or http(s)://)`,
      { path: location },
    );
  }
  const path = scheme === "file" ? fileURLToPath(location) : location;
  let real: string | undefined;
  if (options.boundary !== undefined) {
    real = await realPathWithin(location, path, options.boundary);
    if (real === undefined) return { kind: "missing", reason: "no such file" };
  }
  return await openLocalFile(location, path, real, method, offset, options.signal);
}

/** Opens an URL: the first response, then a stream that resumes the body where it breaks. */
async function openHttp(
  url: string,
  method: "GET" | "HEAD",
  offset: number,
  options: ByteSourceOptions,
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
  options: ByteSourceOptions,
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
  readonly #options: ByteSourceOptions;
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
    options: ByteSourceOptions,
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

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
}

/**
 * Opens a local file. With `real` (its real path, checked against a boundary), the file opened
 * must be that very file (same device and inode), so that a link swapped in meanwhile is refused.
 */
async function openLocalFile(
  location: string,
  path: string,
  real: string | undefined,
  method: "GET" | "HEAD",
  offset: number,
  signal: AbortSignal | undefined,
): Promise<OpenedFile> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { kind: "missing", reason: "no such file" };
    throw new DatasetError(`${location}: cannot open: ${messageOf(error)}`, {
      path: location,
      cause: error,
    });
  }
  let info: Deno.FileInfo;
  try {
    info = await file.stat();
    if (real !== undefined) {
      const checked = await Deno.stat(real);
      if (checked.ino !== info.ino || checked.dev !== info.dev) {
        file.close();
        throw new DatasetError(`${location}: refused: outside the dataset's allowed folder`, {
          path: location,
        });
      }
    }
    if (info.isFile && offset > 0) await file.seek(offset, Deno.SeekMode.Start);
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    file.close();
    throw new DatasetError(`${location}: cannot stat: ${messageOf(error)}`, {
      path: location,
      cause: error,
    });
  }
  if (!info.isFile) {
    file.close();
    if (method === "HEAD") return { kind: "missing", reason: "not a regular file" };
    throw new DatasetError(`${location}: not a regular file`, { path: location });
  }
  if (method === "HEAD") {
    file.close();
    return { kind: "found", stream: emptyStream(), size: info.size };
  }
  return {
    kind: "found",
    stream: guardStream(location, file.readable, offset, info.size, signal),
    size: info.size,
  };
}

/**
 * Wraps a local file's byte stream so that read errors and a short read become
 * {@linkcode DatasetError}s naming `location` and the offset reached, and an abort of `signal`
 * stops it. Pulls only on demand (no read-ahead of its own).
 */
function guardStream(
  location: string,
  source: ReadableStream<Uint8Array>,
  start: number,
  size: number,
  signal: AbortSignal | undefined,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let position = start;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (signal?.aborted) {
        await reader.cancel(signal.reason).catch(() => {});
        throw signal.reason;
      }
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw new DatasetError(
          `${location}: read failed after ${position} of ${size} bytes: ${messageOf(error)}`,
          { path: location, offset: position, cause: error },
        );
      }
      if (result.done) {
        if (position !== size) {
          throw new DatasetError(
            `${location}: body cut short: got ${position} of ${size} bytes`,
            { path: location, offset: position },
          );
        }
        controller.close();
        return;
      }
      position += result.value.length;
      controller.enqueue(result.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * Whether `url`, normalised as a browser would (`..`, `%2e%2e`, `\\`, default ports), lies
 * within the URL prefix `boundary`: same scheme, host and port, and a path that is the
 * boundary's path or continues it after a `/`, with no segment that a server could decode into
 * `.`, `..` or a path separator (`%2f`, `%5c`). Queries and fragments are not compared.
 */
export function isUrlWithin(url: string, boundary: string): boolean {
  let target: URL;
  let base: URL;
  try {
    target = new URL(url);
    base = new URL(boundary);
  } catch {
    return false;
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") return false;
  if (target.origin !== base.origin) return false;
  if (target.username !== base.username || target.password !== base.password) return false;
  const prefix = base.pathname.endsWith("/") ? base.pathname : `${base.pathname}/`;
  const path = target.pathname;
  if (path === prefix.slice(0, -1)) return true;
  if (!path.startsWith(prefix)) return false;
  for (const segment of path.slice(prefix.length).split("/")) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return false;
    }
    if (decoded === "." || decoded === ".." || /[/\\\0]/.test(decoded)) return false;
  }
  return true;
}

/** Whether `path` is `folder` or inside it (both absolute and normalised). */
function isPathWithin(path: string, folder: string): boolean {
  if (path === folder) return true;
  return path.startsWith(folder.endsWith(SEP) ? folder : `${folder}${SEP}`);
}

/**
 * Checks a local file against a boundary folder: its path must lie inside the boundary, and so
 * must its real path (symbolic links resolved) inside the boundary's real path. Returns the
 * real path, or `undefined` when the file does not exist (it is then simply missing).
 *
 * @throws {DatasetError} naming only `location` when the file lies outside.
 */
async function realPathWithin(
  location: string,
  path: string,
  boundary: string,
): Promise<string | undefined> {
  const refused = () =>
    new DatasetError(`${location}: refused: outside the dataset's allowed folder`, {
      path: location,
    });
  if (URL_SCHEME.test(boundary) && !boundary.toLowerCase().startsWith("file:")) throw refused();
  const folder = resolve(
    boundary.toLowerCase().startsWith("file:") ? fileURLToPath(boundary) : boundary,
  );
  let realFolder: string;
  try {
    realFolder = await Deno.realPath(folder);
  } catch {
    throw refused();
  }
  const lexical = resolve(path);
  if (!isPathWithin(lexical, folder) && !isPathWithin(lexical, realFolder)) throw refused();
  let real: string;
  try {
    real = await Deno.realPath(lexical);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new DatasetError(
      `${location}: cannot open (${error instanceof Error ? error.name : "error"})`,
      {
        path: location,
      },
    );
  }
  if (!isPathWithin(real, realFolder)) throw refused();
  return real;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Characters kept as they are in a URL path: RFC 3986 `pchar` and `/`. */
const URL_PATH_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;

/** Percent-encodes what may not appear in a URL path, keeping existing `%XX` escapes. */
function encodeUrlPath(path: string): string {
  let result = "";
  for (let i = 0; i < path.length;) {
    const codePoint = path.codePointAt(i)!;
    const char = String.fromCodePoint(codePoint);
    if (URL_PATH_SAFE.test(char)) {
      result += char;
    } else if (char === "%" && /^%[0-9A-Fa-f]{2}/.test(path.slice(i, i + 3))) {
      result += char;
    } else {
      result += encodeURIComponent(char);
    }
    i += char.length;
  }
  return result;
}
