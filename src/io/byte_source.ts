/**
 * Reading dataset files from a local path or an `http(s)://` URL: streamed bytes, small text
 * files and existence tests, with every failure turned into a {@linkcode DatasetError} that
 * names the location (and, for a body that stops early, the byte offset reached).
 *
 * A location is an `http://` or `https://` URL, a `file://` URL, or a local path (see
 * src/io/locations.ts). Other URL schemes (`s3://`, `pipe:`…) are rejected. This module opens a
 * location and leaves the rest to two readers: local files to src/io/local_file.ts, URLs to
 * src/io/http/resumable_body.ts, which resumes cut transfers, over the HTTP client
 * src/io/http/client.ts (retries, timeouts, redirects that keep credentials on their origin).
 *
 * **Boundary** ({@linkcode ByteSourceOptions.boundary}, set by `serve` for the datasets of a
 * request): every local file opened must lie, symbolic links resolved, inside the boundary folder
 * (itself resolved), and every URL requested — after normalisation (`..`, `%2e%2e`, encoded
 * slashes), redirects included — must start with the boundary prefix, path segment by path
 * segment (`/data/` does not admit `/data2`). Anything else is refused with a
 * {@linkcode DatasetError} that names the location as requested and nothing it resolves to.
 *
 * A {@linkcode DatasetLocation} generalises a dataset root: files addressed by relative paths,
 * which a hub can map onto its own URL shapes.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { DatasetError } from "../errors.ts";
import { concatBytes } from "./bytes.ts";
import type { HttpOptions } from "./http/client.ts";
import { openHttpFile } from "./http/resumable_body.ts";
import { openLocalFile, realPathWithin } from "./local_file.ts";
import { joinLocation, URL_SCHEME } from "./locations.ts";
import type { OpenedFile } from "./opened_file.ts";

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
const DEFAULT_MAX_TEXT_BYTES = 16 * 1024 * 1024;

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
 * reached; over HTTP, cut transfers are first resumed (see src/io/http/resumable_body.ts).
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

/**
 * Opens `location` (its bytes, or for `HEAD` only its size) from `options.offset`: an
 * `http(s)://` URL over HTTP, a `file://` URL or a local path as a local file, checked against
 * `options.boundary` first; any other URL scheme is refused.
 */
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
    return await openHttpFile(location, method, offset, options);
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
