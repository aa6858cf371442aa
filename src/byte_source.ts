/**
 * Reading dataset files from a local path or an `http(s)://` URL: streamed bytes, small text
 * files and existence tests, with every failure turned into a {@linkcode DatasetError} that
 * names the location (and, for a body that stops early, the byte offset reached).
 *
 * All HTTP goes through one function, `openHttp`, so that retries, `Range` resume and caching
 * can later be added in one place behind the same exported functions.
 *
 * A location is an `http://` or `https://` URL, a `file://` URL, or a local path. Other URL
 * schemes (`s3://`, `pipe:`…) are rejected.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { DatasetError } from "./errors.ts";

/** Options common to the functions of this module. */
export interface ByteSourceOptions {
  /** Cancels the request or read; the abort reason is thrown as is. */
  readonly signal?: AbortSignal;
}

/** Options of {@linkcode readText}. */
export interface ReadTextOptions extends ByteSourceOptions {
  /** Largest accepted file, in bytes (default {@linkcode DEFAULT_MAX_TEXT_BYTES}). */
  readonly maxBytes?: number;
}

/** Default {@linkcode ReadTextOptions.maxBytes}: 16 MiB. */
export const DEFAULT_MAX_TEXT_BYTES = 16 * 1024 * 1024;

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
 * Opens `location` as a stream of its bytes, read chunk by chunk (never whole). Errors while
 * reading (a dropped connection, a body shorter than its `Content-Length`, a local read
 * failure) error the stream with a {@linkcode DatasetError} whose `offset` is the number of
 * bytes delivered before. Cancelling the stream closes the file or the connection.
 *
 * @throws {DatasetError} when the location does not exist or cannot be opened.
 */
export async function openByteStream(
  location: string,
  options: ByteSourceOptions = {},
): Promise<ReadableStream<Uint8Array>> {
  const opened = await openLocation(location, "GET", options.signal);
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
  const opened = await openLocation(location, "GET", options.signal);
  if (opened.kind === "missing") {
    throw new DatasetError(`${location}: not found (${opened.reason})`, { path: location });
  }
  return await decodeSmallText(location, opened.stream, options.maxBytes);
}

/**
 * Like {@linkcode readText}, but `undefined` when the file does not exist (a missing local
 * file, HTTP 404 or 410). Any other failure, HTTP 500 included, still throws.
 */
export async function readTextIfExists(
  location: string,
  options: ReadTextOptions = {},
): Promise<string | undefined> {
  const opened = await openLocation(location, "GET", options.signal);
  if (opened.kind === "missing") return undefined;
  return await decodeSmallText(location, opened.stream, options.maxBytes);
}

/**
 * Reads a whole stream of at most `maxBytes` bytes and decodes it as UTF-8, keeping a BOM.
 */
async function decodeSmallText(
  location: string,
  stream: ReadableStream<Uint8Array>,
  maxBytes = DEFAULT_MAX_TEXT_BYTES,
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
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
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
  const opened = await openLocation(location, "HEAD", options.signal);
  if (opened.kind === "missing") return false;
  await opened.stream.cancel();
  return true;
}

/** The outcome of opening a location that did not fail. */
type Opened =
  | { readonly kind: "found"; readonly stream: ReadableStream<Uint8Array> }
  | { readonly kind: "missing"; readonly reason: string };

async function openLocation(
  location: string,
  method: "GET" | "HEAD",
  signal: AbortSignal | undefined,
): Promise<Opened> {
  signal?.throwIfAborted();
  const scheme = URL_SCHEME.exec(location)?.[1].toLowerCase();
  if (scheme === "http" || scheme === "https") return await openHttp(location, method, signal);
  if (scheme !== undefined && scheme !== "file") {
    throw new DatasetError(
      `${location}: unsupported URL scheme "${scheme}:" (use a local path or http(s)://)`,
      { path: location },
    );
  }
  return await openLocalFile(location, method, signal);
}

/** The single place where HTTP requests are made. */
async function openHttp(
  url: string,
  method: "GET" | "HEAD",
  signal: AbortSignal | undefined,
): Promise<Opened> {
  let response: Response;
  try {
    response = await fetch(url, { method, signal });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw new DatasetError(`${url}: request failed: ${messageOf(error)}`, {
      path: url,
      cause: error,
    });
  }
  if (!response.ok) {
    await response.body?.cancel();
    const status = `HTTP ${response.status}${
      response.statusText === "" ? "" : ` ${response.statusText}`
    }`;
    if (response.status === 404 || response.status === 410) {
      return { kind: "missing", reason: status };
    }
    throw new DatasetError(`${url}: ${status}`, { path: url });
  }
  const body = response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  // With a Content-Encoding, fetch decodes the body and Content-Length counts encoded bytes.
  const encoding = response.headers.get("content-encoding");
  const lengthHeader = response.headers.get("content-length");
  const expectedLength =
    method === "GET" && (encoding === null || encoding === "identity") && lengthHeader !== null &&
      /^[0-9]+$/.test(lengthHeader)
      ? Number(lengthHeader)
      : undefined;
  return { kind: "found", stream: guardStream(url, body, expectedLength, signal) };
}

async function openLocalFile(
  location: string,
  method: "GET" | "HEAD",
  signal: AbortSignal | undefined,
): Promise<Opened> {
  const path = location.startsWith("file:") ? fileURLToPath(location) : location;
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
  } catch (error) {
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
  return { kind: "found", stream: guardStream(location, file.readable, info.size, signal) };
}

/**
 * Wraps a byte stream so that read errors and a short body become {@linkcode DatasetError}s
 * naming `location` and the offset reached, and an abort of `signal` stops it. Pulls only on
 * demand (no read-ahead of its own).
 */
function guardStream(
  location: string,
  source: ReadableStream<Uint8Array>,
  expectedLength: number | undefined,
  signal: AbortSignal | undefined,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let received = 0;
  const expected = expectedLength === undefined ? "" : ` of ${expectedLength}`;
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
          `${location}: read failed after ${received}${expected} bytes: ${messageOf(error)}`,
          { path: location, offset: received, cause: error },
        );
      }
      if (result.done) {
        if (expectedLength !== undefined && received !== expectedLength) {
          throw new DatasetError(
            `${location}: body cut short: got ${received}${expected} bytes`,
            { path: location, offset: received },
          );
        }
        controller.close();
        return;
      }
      received += result.value.length;
      controller.enqueue(result.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
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
