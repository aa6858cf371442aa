/**
 * Opening a dataset in CLIP_benchmark's WebDataset layout (its `build_wds_dataset`), from a
 * local folder or an `http(s)://` root, and streaming its samples shard by shard.
 *
 * ```
 * <root>/<split>/nshards.txt                      shard count n
 * <root>/<split>/0.tar … (n-1).tar                the shards
 * <root>/dataset_type.txt                         optional: "retrieval" or "multilabel"
 * <root>/classnames.txt                           classification: class i on line i
 * <root>/zeroshot_classification_templates.txt    classification: one "{c}" template a line
 * ```
 *
 * Text files are read as CLIP_benchmark does: `int(text)` for `nshards.txt`,
 * `text.strip().lower()` for `dataset_type.txt`, and `[line.strip() for line in
 * text.splitlines()]` for class names and templates, which keeps blank lines (also trailing
 * ones after the final newline) as empty entries. Where this module differs on purpose: an
 * unknown dataset type is an error (CLIP_benchmark treats it as classification), a missing
 * `classnames.txt` or templates file is an error (CLIP_benchmark warns and goes on without), and
 * only HTTP 404 / 410 mean "no `dataset_type.txt`" (CLIP_benchmark's `curl --fail` takes any
 * HTTP error for a missing file).
 *
 * The root is a folder or URL, or any {@linkcode DatasetLocation}: a hub dataset maps the same
 * relative paths onto its own URL shapes or its cache (src/hub/resolve_dataset.ts).
 *
 * @module
 */

import { type DatasetLocation, locationAt, readStreamText } from "../io/byte_source.ts";
import type { HttpOptions } from "../io/http/client.ts";
import { DatasetError } from "../errors.ts";
import { TarEntryStream, type TarEntryStreamOptions } from "./tar_stream.ts";
import { type Sample, SampleStream } from "./webdataset.ts";

/**
 * Largest shard count accepted in `nshards.txt`: 1,000,000 (CLIP_benchmark's datasets have a few
 * dozen; LAION-5B has about 230,000). Shards are enumerated lazily, one at a time, never listed up
 * front; a larger count is a {@linkcode DatasetError}.
 */
export const MAX_SHARDS = 1_000_000;

/** Characters of a malformed `nshards.txt` quoted in its error message. */
const QUOTED_PREFIX = 20;

/** What a dataset is for, from its `dataset_type.txt`. */
export type WebDatasetType = "classification" | "retrieval" | "multilabel";

/** Options of {@linkcode openWebDataset}. */
export interface OpenWebDatasetOptions {
  /** The split folder under the root (default `"test"`). */
  readonly split?: string;
  /** Cancels the reads of the metadata files. */
  readonly signal?: AbortSignal;
  /** Largest tar member read into memory, in bytes (default: the tar reader's default). */
  readonly maxMemberSize?: number;
  /** HTTP settings (credentials, retries, timeouts) for a URL root given as a string. */
  readonly http?: HttpOptions;
  /**
   * A folder or URL prefix that every file read (metadata and shards) must stay within, for a
   * root given as a string (see `ByteSourceOptions.boundary` in src/io/byte_source.ts).
   */
  readonly boundary?: string;
  /**
   * Accept a shard that ends without its end-of-archive block, as Python's `tarfile` does (see
   * {@linkcode TarEntryStreamOptions.allowMissingEnd}); `onWarning` is told of each. Default
   * `false`: such a shard is truncated, a {@linkcode DatasetError}.
   */
  readonly allowMissingEnd?: boolean;
  /** Told of each shard read without its end-of-archive block (with `allowMissingEnd`). */
  readonly onWarning?: (message: string) => void;
}

/** Options of {@linkcode WebDataset.samples}. */
export interface SampleReadOptions {
  /** Yield at most this many samples (a non-negative integer); all when absent. */
  readonly limit?: number;
  /** Cancels the reading; the abort reason is thrown from the iteration. */
  readonly signal?: AbortSignal;
  /**
   * Read only these shards (indices into the shard list), in ascending order; all when absent.
   * Shards not listed are never opened (a sharded run reads only its own tar files).
   */
  readonly shards?: readonly number[];
}

/** An opened dataset: its metadata, read eagerly, and its samples, streamed on demand. */
export interface WebDataset {
  /** The root as given (a location's {@linkcode DatasetLocation.root}). */
  readonly root: string;
  /** The split folder name. */
  readonly split: string;
  /** From `dataset_type.txt`; `"classification"` when that file is absent. */
  readonly type: WebDatasetType;
  /** Whether `dataset_type.txt` exists (when not, the task may be chosen by the dataset's name). */
  readonly typeDeclared: boolean;
  /** From `<split>/nshards.txt` (at most {@linkcode MAX_SHARDS}). */
  readonly nshards: number;
  /**
   * `<root>/<split>/0.tar` … `(nshards-1).tar`, in reading order (as the location names them).
   * Built on first use, in time and memory proportional to `nshards`; readers use
   * {@linkcode WebDataset.shardUrl} and {@linkcode WebDataset.shardIndexOf} instead.
   */
  readonly shardUrls: readonly string[];
  /**
   * The location of shard `index` (`<root>/<split>/<index>.tar`).
   *
   * @throws {RangeError} when `index` is not an integer in [0, nshards).
   */
  shardUrl(index: number): string;
  /**
   * The index of the shard a sample's `source` names, for a shard this dataset has opened;
   * `undefined` for any other location.
   */
  shardIndexOf(source: string): number | undefined;
  /**
   * Class names, label order (classification and multilabel datasets). Required when
   * `dataset_type.txt` declares the type; without that file, absent when the file is missing.
   */
  readonly classnames?: readonly string[];
  /** Zero-shot prompt templates with a `{c}` placeholder (classification and multilabel). */
  readonly templates?: readonly string[];
  /**
   * Streams the samples of shard 0, then shard 1, and so on, holding one sample and a bounded
   * read-ahead. With `limit`, exactly the first `limit` samples are yielded and the current
   * shard's stream is cancelled (an HTTP connection is closed; later shards are never opened).
   * Breaking out of the iteration cancels it the same way.
   *
   * @throws {DatasetError} for a missing, unreachable, truncated or corrupt shard.
   */
  samples(options?: SampleReadOptions): AsyncIterable<Sample>;
}

/**
 * Reads a dataset's metadata files and returns a {@linkcode WebDataset}. `root` is a local
 * folder or an `http(s)://` URL, with or without a trailing slash, or a
 * {@linkcode DatasetLocation} (e.g. a hub dataset).
 *
 * @throws {DatasetError} naming the file when a required file is missing or malformed.
 *
 * @example Open the demo dataset and read its first samples
 * ```ts
 * import assert from "node:assert/strict";
 * import { labelField, openWebDataset } from "@clipbench/clipbench";
 *
 * const dataset = await openWebDataset("examples/demo/data/fashion_mnist_1k");
 * assert.equal(dataset.type, "classification");
 * assert.equal(dataset.classnames?.[1], "Trouser");
 *
 * const labels: (number | undefined)[] = [];
 * for await (const sample of dataset.samples({ limit: 8 })) labels.push(labelField(sample));
 * assert.equal(labels.length, 8);
 * ```
 */
export async function openWebDataset(
  root: string | DatasetLocation,
  options: OpenWebDatasetOptions = {},
): Promise<WebDataset> {
  const location = typeof root === "string"
    ? locationAt(root, { http: options.http, boundary: options.boundary })
    : root;
  const split = options.split ?? "test";
  const signal = options.signal;
  const nshardsPath = `${split}/nshards.txt`;
  const nshardsText = await readMetadata(location, nshardsPath, true, signal);
  const nshards = parseShardCount(nshardsText, location.locate(nshardsPath));
  const typeText = await readMetadata(location, "dataset_type.txt", false, signal);
  const type = typeText === undefined
    ? "classification"
    : parseDatasetType(typeText, location.locate("dataset_type.txt"));
  let classnames: string[] | undefined;
  let templates: string[] | undefined;
  if (type !== "retrieval") {
    // Without dataset_type.txt the task may still be retrieval (decided by the dataset's name),
    // so the class files are optional then; a declared (multi-label) classification needs them.
    const required = typeText !== undefined;
    const classText = await readMetadata(location, "classnames.txt", required, signal);
    const templateText = await readMetadata(
      location,
      "zeroshot_classification_templates.txt",
      required,
      signal,
    );
    classnames = classText === undefined ? undefined : splitTextLines(classText);
    templates = templateText === undefined ? undefined : splitTextLines(templateText);
  }
  return new ShardedWebDataset(
    location,
    split,
    type,
    typeText !== undefined,
    nshards,
    classnames,
    templates,
    {
      maxMemberSize: options.maxMemberSize,
      allowMissingEnd: options.allowMissingEnd,
      onMissingEnd: options.onWarning,
    },
  );
}

/** Reads a small metadata file; `undefined` when it is missing and not `required`. */
async function readMetadata(
  location: DatasetLocation,
  relativePath: string,
  required: true,
  signal: AbortSignal | undefined,
): Promise<string>;
async function readMetadata(
  location: DatasetLocation,
  relativePath: string,
  required: boolean,
  signal: AbortSignal | undefined,
): Promise<string | undefined>;
async function readMetadata(
  location: DatasetLocation,
  relativePath: string,
  required: boolean,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const where = location.locate(relativePath);
  const opened = await location.open(relativePath, { signal });
  if (opened.kind === "missing") {
    if (!required) return undefined;
    throw new DatasetError(`${where}: not found (${opened.reason})`, { path: where });
  }
  return await readStreamText(where, opened.stream);
}

/**
 * CLIP_benchmark's `[line.strip() for line in text.splitlines()]`: Python's line boundaries
 * (`\n`, `\r\n`, `\r`, `\v`, `\f`, `\x1c`–`\x1e`, `\x85`, U+2028, U+2029; a final boundary
 * adds no empty line) and Python's `str.strip()` whitespace. Blank lines stay as `""`.
 */
export function splitTextLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  let index = 0;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (isPythonLineBoundary(code)) {
      lines.push(pythonStrip(text.slice(start, index)));
      index += code === 0x0d && text.charCodeAt(index + 1) === 0x0a ? 2 : 1;
      start = index;
    } else {
      index++;
    }
  }
  if (start < text.length) lines.push(pythonStrip(text.slice(start)));
  return lines;
}

/** `ShardedWebDataset`: the {@linkcode WebDataset} that {@linkcode openWebDataset} returns. */
class ShardedWebDataset implements WebDataset {
  readonly root: string;
  /** Shards opened so far, by location (how a sample's `source` maps back to its shard). */
  readonly #opened = new Map<string, number>();
  #shardUrls: readonly string[] | undefined;

  constructor(
    private readonly location: DatasetLocation,
    readonly split: string,
    readonly type: WebDatasetType,
    readonly typeDeclared: boolean,
    readonly nshards: number,
    readonly classnames: readonly string[] | undefined,
    readonly templates: readonly string[] | undefined,
    private readonly tarOptions: Omit<TarEntryStreamOptions, "source">,
  ) {
    this.root = location.root;
  }

  get shardUrls(): readonly string[] {
    this.#shardUrls ??= Array.from({ length: this.nshards }, (_, index) => this.shardUrl(index));
    return this.#shardUrls;
  }

  shardUrl(index: number): string {
    return this.location.locate(this.#shardPath(index));
  }

  shardIndexOf(source: string): number | undefined {
    return this.#opened.get(source);
  }

  #shardPath(index: number): string {
    if (!Number.isInteger(index) || index < 0 || index >= this.nshards) {
      throw new RangeError(`shard index ${index} is outside the ${this.nshards} shard(s)`);
    }
    return `${this.split}/${index}.tar`;
  }

  async *samples(options: SampleReadOptions = {}): AsyncGenerator<Sample> {
    const { signal } = options;
    const limit = options.limit ?? Infinity;
    if (!(limit >= 0) || (limit !== Infinity && !Number.isInteger(limit))) {
      throw new RangeError(`limit must be a non-negative integer, got ${options.limit}`);
    }
    const selected = selectedShards(options.shards, this.nshards);
    const order = selected === undefined ? undefined : [...selected].sort((a, b) => a - b);
    let remaining = limit;
    for (let position = 0; position < (order?.length ?? this.nshards); position++) {
      if (remaining === 0) return;
      const index = order === undefined ? position : order[position];
      const url = this.shardUrl(index);
      this.#opened.set(url, index);
      signal?.throwIfAborted();
      const opened = await this.location.open(this.#shardPath(index), { signal });
      if (opened.kind === "missing") {
        throw new DatasetError(`${url}: not found (${opened.reason})`, { path: url });
      }
      const bytes = opened.stream;
      const entries = new TarEntryStream({ source: url, ...this.tarOptions });
      const grouped = new SampleStream({ source: url });
      const pipes = [
        bytes.pipeTo(entries.writable, { signal }),
        entries.readable.pipeTo(grouped.writable, { signal }),
      ];
      // The readable side reports the same failures; these promises only tell when the pipes
      // have wound down (the source cancelled, the file or connection closed).
      for (const pipe of pipes) pipe.catch(() => {});
      const reader = grouped.readable.getReader();
      let cancelOnRelease = true;
      let released = false;
      const release = async () => {
        if (released) return;
        released = true;
        if (cancelOnRelease) await reader.cancel().catch(() => {});
        reader.releaseLock();
        await Promise.allSettled(pipes);
      };
      try {
        while (true) {
          signal?.throwIfAborted();
          let result: ReadableStreamReadResult<Sample>;
          try {
            result = await reader.read();
          } catch (error) {
            cancelOnRelease = false;
            throw signal?.aborted ? signal.reason : error;
          }
          if (result.done) {
            cancelOnRelease = false;
            break;
          }
          remaining--;
          if (remaining === 0) {
            // Stop reading before handing out the last wanted sample.
            await release();
            yield result.value;
            return;
          }
          yield result.value;
        }
      } finally {
        await release();
      }
    }
  }
}

/**
 * The shard indices of a {@linkcode SampleReadOptions.shards} list as a set, or undefined for all.
 *
 * @throws {RangeError} when an index is not an integer in [0, nshards).
 */
export function selectedShards(
  shards: readonly number[] | undefined,
  nshards: number,
): ReadonlySet<number> | undefined {
  if (shards === undefined) return undefined;
  for (const index of shards) {
    if (!Number.isInteger(index) || index < 0 || index >= nshards) {
      throw new RangeError(`shard index ${index} is outside the ${nshards} shard(s)`);
    }
  }
  return new Set(shards);
}

/**
 * `int(text)` of `nshards.txt`, at least 1 and at most {@linkcode MAX_SHARDS}.
 *
 * @throws {DatasetError} naming the file; the message quotes at most a short, escaped prefix of
 *   the text (the file might be anything).
 */
export function parseShardCount(text: string, location: string): number {
  const trimmed = pythonStrip(text);
  const digits = /^\+?[0-9](?:_?[0-9])*$/.test(trimmed)
    ? trimmed.replace(/^\+/, "").replaceAll("_", "").replace(/^0+(?=[0-9])/, "")
    : undefined;
  if (digits !== undefined && (digits.length > 7 || Number(digits) > MAX_SHARDS)) {
    throw new DatasetError(
      `${location}: the shard count ${
        digits.length > 12 ? `(${digits.length} digits)` : digits
      } is more than the ${MAX_SHARDS} shards clipbench reads`,
      { path: location },
    );
  }
  const count = digits === undefined ? NaN : Number(digits);
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new DatasetError(
      `${location}: expected a positive shard count, found ${quotedPrefix(text)}`,
      { path: location },
    );
  }
  return count;
}

/** At most {@linkcode QUOTED_PREFIX} characters of `text`, JSON-escaped, and its length. */
function quotedPrefix(text: string): string {
  const characters = [...text];
  if (characters.length <= QUOTED_PREFIX) return JSON.stringify(text);
  return `${
    JSON.stringify(characters.slice(0, QUOTED_PREFIX).join(""))
  }… (${characters.length} characters)`;
}

function parseDatasetType(text: string, location: string): WebDatasetType {
  const type = pythonStrip(text).toLowerCase();
  if (type === "classification" || type === "retrieval" || type === "multilabel") return type;
  throw new DatasetError(
    `${location}: unknown dataset type ${JSON.stringify(type)} ` +
      `(expected "classification", "retrieval" or "multilabel")`,
    { path: location },
  );
}

function isPythonLineBoundary(code: number): boolean {
  return code === 0x0a || code === 0x0d || code === 0x0b || code === 0x0c ||
    (code >= 0x1c && code <= 0x1e) || code === 0x85 || code === 0x2028 || code === 0x2029;
}

/** Python's `str.isspace()` characters, which `str.strip()` removes. */
function isPythonWhitespace(code: number): boolean {
  return (code >= 0x09 && code <= 0x0d) || (code >= 0x1c && code <= 0x20) || code === 0x85 ||
    code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000;
}

/** Python's `str.strip()` with no argument (unlike `String.prototype.trim`, keeps U+FEFF). */
function pythonStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isPythonWhitespace(text.charCodeAt(start))) start++;
  while (end > start && isPythonWhitespace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}
