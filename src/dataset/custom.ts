/**
 * evalscope's `custom` retrieval dataset (its `build_custom_dataset`): a local folder holding
 * `image_queries.jsonl`, one JSON object a line,
 *
 * ```
 * {"image_path": "images/cat.jpg", "query": ["a cat on a mat", "a sleeping cat"]}
 * {"image_path": "/data/dog.png", "query": "a dog"}
 * ```
 *
 * read as a stream of samples with the shape of a WebDataset's (an image field and a `txt`
 * field), so the retrieval task reads it like any retrieval WebDataset.
 *
 * Semantics, with evalscope's for comparison (it loads the file with Hugging Face `datasets`,
 * features `image_path: Image()` and `query: Sequence(Value("string"))`):
 *
 * - The file is UTF-8 (a leading byte-order mark is ignored). Each non-blank line is one image
 *   and its captions, in file order. Blank (whitespace-only) lines are ignored, as Arrow's JSON
 *   reader ignores them; line numbers count them. A JSON object spread over several lines, which
 *   Arrow also reads, is not accepted: one object a line.
 * - `query` is a list of strings, each one caption as written (not split, not stripped; an empty
 *   string is an empty caption), or one string, which is one caption. An empty list means an
 *   image without captions, which the retrieval task skips.
 * - `image_path` is resolved against the folder of `image_queries.jsonl` first, then against the
 *   working directory (evalscope uses the working directory only); an absolute path is used as
 *   it is. An image found in neither place is a skipped sample whose reason names the path.
 * - The folder may also be an `http(s)://` URL (read through src/io/byte_source.ts, with its retries
 *   and resumes): `image_path` is then a relative path resolved against that URL only (an
 *   absolute path or a URL is a skipped sample).
 * - With a boundary ({@linkcode OpenCustomDatasetOptions.boundary}, set by `serve`), every file
 *   read — the queries file and each image, symbolic links resolved — must lie within it, and the
 *   working directory is not tried; an image outside is a skipped sample.
 * - Anything else is a {@linkcode DatasetError} naming the file and the line, raised when the
 *   dataset is opened: a line that is not a JSON object, a missing or mistyped `image_path` or
 *   `query`, a non-string caption, and a key other than those two (evalscope's schema cast
 *   rejects extra columns too). A caption containing a line break (one of Python's
 *   `str.splitlines` boundaries) is an error as well: samples carry captions as lines, as
 *   CLIP_benchmark's WebDatasets do, and such a caption would be split (evalscope keeps it whole).
 *
 * Samples: key `line N` (N the 1-based line number), `source` the path of `image_queries.jsonl`,
 * the image bytes under the field of the file's extension (`webp`, `png`, `jpg`, `jpeg`; any
 * other extension is stored as `jpg` — formats are recognised from the bytes, never the name),
 * and `txt` = the captions, each followed by `\n`, in UTF-8.
 *
 * @module
 */

import { dirname, extname, isAbsolute, join, resolve } from "node:path";
import { openFile, readStreamText } from "../io/byte_source.ts";
import type { HttpOptions } from "../io/http/client.ts";
import { isHttpUrl, joinLocation } from "../io/locations.ts";
import { concatBytes } from "../io/bytes.ts";
import { type SampleReadOptions, selectedShards } from "./wds.ts";
import { DatasetError } from "../errors.ts";
import { DEFAULT_MAX_MEMBER_SIZE } from "./tar_stream.ts";
import type { SkippedSample } from "../results/result.ts";
import { IMAGE_EXTENSIONS, type Sample } from "./webdataset.ts";

/** The file a custom dataset folder must hold. */
export const CUSTOM_QUERIES_FILE = "image_queries.jsonl";

/** One line of `image_queries.jsonl`. */
export interface CustomRecord {
  /** 1-based line number. */
  readonly line: number;
  /** `image_path` as written. */
  readonly imagePath: string;
  /** The captions, as written. */
  readonly captions: readonly string[];
}

/** Options of {@linkcode openCustomDataset}. */
export interface OpenCustomDatasetOptions {
  /** The folder relative paths fall back to (default: the process's working directory). */
  readonly workingDirectory?: string;
  /** HTTP settings for a URL root. */
  readonly http?: HttpOptions;
  /**
   * A folder or URL prefix every file read must stay within (see `ByteSourceOptions.boundary`
   * in src/io/byte_source.ts); the working directory is then not tried.
   */
  readonly boundary?: string;
  /** Cancels the reading of the queries file. */
  readonly signal?: AbortSignal;
}

/** Largest `image_queries.jsonl` read: 256 MiB. */
const MAX_QUERIES_FILE_BYTES = 256 * 1024 * 1024;

/** Largest image read: the tar reader's member size limit (256 MiB). */
const MAX_IMAGE_BYTES = DEFAULT_MAX_MEMBER_SIZE;

// Python's str.splitlines boundaries (as tasks/zeroshot_retrieval/mod.ts's splitCaptions splits).
// deno-lint-ignore no-control-regex
const LINE_BREAK = /[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/;
const encoder = new TextEncoder();

/**
 * A custom retrieval dataset: the parsed `image_queries.jsonl`; images are read as samples are
 * streamed.
 */
export class CustomDataset {
  /** The folder as given. */
  readonly root: string;
  /** Path of `image_queries.jsonl`. */
  readonly queriesPath: string;
  /** Always `"retrieval"`. */
  readonly type = "retrieval" as const;
  /** One "shard": the queries file. */
  readonly nshards = 1;
  /** `[queriesPath]`: every sample's `source`. */
  readonly shardUrls: readonly string[];
  /** The lines, in file order. */
  readonly records: readonly CustomRecord[];
  readonly #workingDirectory: string;
  readonly #options: OpenCustomDatasetOptions;

  private constructor(
    root: string,
    queriesPath: string,
    records: readonly CustomRecord[],
    options: OpenCustomDatasetOptions,
  ) {
    this.root = root;
    this.queriesPath = queriesPath;
    this.shardUrls = [queriesPath];
    this.records = records;
    this.#workingDirectory = options.workingDirectory ?? Deno.cwd();
    this.#options = options;
  }

  /** 0 for the queries file (every sample's `source`), else `undefined`. */
  shardIndexOf(source: string): number | undefined {
    return source === this.queriesPath ? 0 : undefined;
  }

  /**
   * Reads and checks `<root>/image_queries.jsonl` (images are not read yet).
   *
   * @throws {DatasetError} when the file is missing, not UTF-8, or has a malformed line (the
   * message names the file and the line).
   */
  static async open(root: string, options: OpenCustomDatasetOptions = {}): Promise<CustomDataset> {
    const queriesPath = isHttpUrl(root)
      ? joinLocation(root, CUSTOM_QUERIES_FILE)
      : resolve(root, CUSTOM_QUERIES_FILE);
    const opened = await openFile(queriesPath, {
      http: options.http,
      boundary: options.boundary,
      signal: options.signal,
    });
    if (opened.kind === "missing") {
      throw new DatasetError(
        `${queriesPath}: cannot read the custom dataset's queries file: not found (${opened.reason})`,
        { path: queriesPath },
      );
    }
    let text = await readStreamText(queriesPath, opened.stream, MAX_QUERIES_FILE_BYTES);
    // A leading byte-order mark is dropped.
    if (text.startsWith("\uFEFF")) text = text.slice(1);
    return new CustomDataset(root, queriesPath, parseQueries(text, queriesPath), options);
  }

  /**
   * Streams the samples in file order, reading each image when its sample is requested. An
   * image that cannot be read comes as a {@linkcode SkippedSample} naming the path(s) tried.
   */
  async *samples(options: SampleReadOptions = {}): AsyncGenerator<Sample | SkippedSample> {
    const limit = options.limit ?? Infinity;
    if (!(limit >= 0) || (limit !== Infinity && !Number.isInteger(limit))) {
      throw new RangeError(`limit must be a non-negative integer, got ${options.limit}`);
    }
    // One "shard", the queries file: a shard list without it reads nothing.
    if (selectedShards(options.shards, this.nshards)?.has(0) === false) return;
    const count = Math.min(limit, this.records.length);
    for (let index = 0; index < count; index++) {
      options.signal?.throwIfAborted();
      const record = this.records[index];
      const key = `line ${record.line}`;
      const read = await this.#readImage(record.imagePath, options.signal);
      if (typeof read === "string") {
        yield { key, source: this.queriesPath, reason: read };
        continue;
      }
      const extension = extname(record.imagePath).slice(1).toLowerCase();
      const field = IMAGE_EXTENSIONS.includes(extension) ? extension : "jpg";
      const txt = encoder.encode(record.captions.map((caption) => `${caption}\n`).join(""));
      yield {
        key,
        source: this.queriesPath,
        fields: new Map([[field, read], ["txt", txt]]),
      };
    }
  }

  /** Where an image may be, in the order tried, or why it cannot be anywhere. */
  #candidates(imagePath: string): string[] | string {
    const { boundary } = this.#options;
    if (isHttpUrl(this.root)) {
      if (isAbsolute(imagePath) || /^[a-z][a-z0-9+.-]*:/i.test(imagePath)) {
        return `image ${
          JSON.stringify(imagePath)
        } is not a relative path, which a custom dataset read over HTTP needs`;
      }
      return [joinLocation(this.root, imagePath)];
    }
    if (isAbsolute(imagePath)) return [imagePath];
    const beside = join(dirname(this.queriesPath), imagePath);
    // Within a boundary, the working directory (the server's) is never tried.
    return boundary === undefined ? [beside, resolve(this.#workingDirectory, imagePath)] : [beside];
  }

  /** The image's bytes, or why they cannot be read. */
  async #readImage(imagePath: string, signal?: AbortSignal): Promise<Uint8Array | string> {
    const candidates = this.#candidates(imagePath);
    if (typeof candidates === "string") return candidates;
    for (const candidate of candidates) {
      try {
        const opened = await openFile(candidate, {
          http: this.#options.http,
          boundary: this.#options.boundary,
          signal,
        });
        if (opened.kind === "missing") continue;
        return await readAll(candidate, opened.stream);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (!(error instanceof DatasetError)) throw error;
        return `cannot read image ${JSON.stringify(imagePath)}: ${error.message}`;
      }
    }
    return `image ${JSON.stringify(imagePath)} not found (looked for ${
      [...new Set(candidates)].join(" and ")
    })`;
  }
}

/**
 * Reads a whole image stream of at most {@linkcode MAX_IMAGE_BYTES}.
 *
 * @throws {DatasetError} naming `location` when it is larger.
 */
async function readAll(location: string, stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > MAX_IMAGE_BYTES) {
      throw new DatasetError(`${location}: larger than ${MAX_IMAGE_BYTES} bytes`, {
        path: location,
      });
    }
    chunks.push(chunk);
  }
  return concatBytes(chunks, total);
}

/**
 * Opens a custom retrieval dataset folder ({@linkcode CustomDataset.open}).
 *
 * @throws {DatasetError} when `image_queries.jsonl` is missing or malformed.
 */
export function openCustomDataset(
  root: string,
  options: OpenCustomDatasetOptions = {},
): Promise<CustomDataset> {
  return CustomDataset.open(root, options);
}

/**
 * Parses the text of an `image_queries.jsonl` (see the module documentation).
 *
 * @param path The file's path, for messages.
 * @throws {DatasetError} naming the file and the line of the first malformed line.
 */
export function parseQueries(text: string, path: string): CustomRecord[] {
  const records: CustomRecord[] = [];
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    if (line.trim() === "") continue;
    const malformed = (message: string) =>
      new DatasetError(`${path}:${index + 1}: ${message}`, { path });
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw malformed(`not valid JSON (${(error as Error).message})`);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw malformed(
        `expected a JSON object {"image_path": ..., "query": ...}, found ${describe(value)}`,
      );
    }
    const { image_path: imagePath, query, ...rest } = value as Record<string, unknown>;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) {
      throw malformed(
        `unknown key ${JSON.stringify(unknown)} (a line has "image_path" and "query")`,
      );
    }
    if (typeof imagePath !== "string" || imagePath === "") {
      throw malformed(`"image_path" must be a non-empty string, found ${describe(imagePath)}`);
    }
    let captions: string[];
    if (typeof query === "string") {
      captions = [query];
    } else if (Array.isArray(query)) {
      captions = [];
      for (const caption of query) {
        if (typeof caption !== "string") {
          throw malformed(
            `"query"[${captions.length}] must be a string, found ${describe(caption)}`,
          );
        }
        captions.push(caption);
      }
    } else {
      throw malformed(`"query" must be a string or a list of strings, found ${describe(query)}`);
    }
    const broken = captions.findIndex((caption) => LINE_BREAK.test(caption));
    if (broken >= 0) {
      throw malformed(
        `caption ${broken} of "query" contains a line break; captions are single lines ` +
          `(${describe(captions[broken])})`,
      );
    }
    records.push({ line: index + 1, imagePath, captions });
  }
  return records;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
