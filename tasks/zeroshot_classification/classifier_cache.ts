/**
 * A disk cache of zero-shot classifiers, so that a second run (or a second call) on the same
 * label set skips the text tower: for imagenet1k's 1,000 classes × 80 templates that is 80,000
 * prompts through the text tower, against a 4 MB file read.
 *
 * An entry is found by a key that is the SHA-256 of everything the classifier's bits depend on:
 *
 * - the text graph's content (its `.onnx` file and the external-data files beside it whose names
 *   start with the graph's file name, e.g. `text_model.onnx_data`), hashed once and remembered by
 *   path, size and modification time in `file_hashes.json`, so a 250 MB graph is not re-read on
 *   every run;
 * - the tokenizer files (`tokenizer.json`, `tokenizer_config.json`) and the tokenizer's
 *   effective settings (context length, pad id, text cleaning, padding);
 * - the output used and the model family;
 * - the session settings that can change the arithmetic (execution provider, graph optimisation
 *   level; thread counts only split rows between threads and are left out);
 * - the text batch size (a row's float32 sums may depend on the batch shape);
 * - the exact prompts of every class, in class order (which covers class names, templates and
 *   CuPL-style class-specific prompts alike).
 *
 * Entries are files `<cacheDir>/classifiers/<key>.classifier`: an 8-byte magic, a JSON header
 * (key, classes, dim, SHA-256 of the data) and the float64 weights. They are written under a
 * temporary name and renamed, so a reader never sees half a file; an entry that is truncated,
 * corrupt or for another key is ignored (and rewritten by the next build).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { defaultCacheDir } from "../../src/io/cache_dir.ts";
import { writeFileAtomically } from "../../src/io/atomic_write.ts";
import { fileContentHashes, graphFiles } from "../../src/model/file_hashes.ts";
import type { ClipModel } from "../../src/model/model.ts";

/** Where classifiers are cached, and whether. */
export interface ClassifierCacheOptions {
  /**
   * The cache folder; classifiers go to its `classifiers/` folder. Default
   * {@linkcode defaultCacheDir}.
   */
  readonly cacheDir?: string;
  /** Neither read nor write the cache (`--no-cache`). */
  readonly noCache?: boolean;
}

/** A classifier: `classes × dim` float64 weights, row-major. */
export interface ClassifierWeights {
  /** The weights, one L2-normalised row per class. */
  readonly weights: Float64Array;
  /** Embedding size. */
  readonly dim: number;
}

/** What {@linkcode cachedClassifier} returns: the classifier and where it came from. */
export interface CachedClassifier extends ClassifierWeights {
  /** Whether it was read from the cache (the text tower did not run). */
  readonly fromCache: boolean;
  /** The cache key (the entry's file name without extension). */
  readonly key: string;
}

/** The first bytes of an entry file. */
const MAGIC = "CLIPBCL1";
/** Version of the key's recipe; changing what goes into the key bumps it. */
const KEY_VERSION = 1;

/** SHA-256 of a small file's content, or `"absent"`. */
async function smallFileHash(path: string): Promise<string> {
  try {
    return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "absent";
    throw error;
  }
}

/**
 * The cache key of the classifier built from `prompts` (each class's prompts, in class order)
 * with `model`'s text side at text batch size `batchSize` (see the module documentation).
 */
export async function classifierCacheKey(
  model: ClipModel,
  prompts: readonly (readonly string[])[],
  batchSize: number,
  cacheDir: string,
): Promise<string> {
  const files = await graphFiles(model.text.path);
  const graphHashes = await fileContentHashes(files, cacheDir);
  const tokenizer = model.tokenizer;
  const settings = model.sessionSettings;
  const recipe = {
    version: KEY_VERSION,
    textGraph: files.map((path, i) => [basename(path), graphHashes[i]]),
    tokenizerJson: await smallFileHash(join(model.dir, "tokenizer.json")),
    tokenizerConfig: await smallFileHash(join(model.dir, "tokenizer_config.json")),
    tokenizer: {
      contextLength: tokenizer.contextLength,
      padId: tokenizer.padId,
      textCleaning: tokenizer.textCleaning,
      padding: tokenizer.padding,
    },
    family: model.family.name,
    output: model.text.outputName,
    executionProvider: settings.executionProvider ?? "cpu",
    graphOptimizationLevel: settings.graphOptimizationLevel ?? "all",
    batchSize,
    prompts,
  };
  return createHash("sha256").update(JSON.stringify(recipe)).digest("hex");
}

/** The entry file of `key`. */
function entryPath(cacheDir: string, key: string): string {
  return join(cacheDir, "classifiers", `${key}.classifier`);
}

/** Serialises a classifier entry: magic, header length, JSON header, padding, float64 data. */
function encodeEntry(key: string, classifier: ClassifierWeights): Uint8Array {
  const data = new Uint8Array(
    classifier.weights.buffer,
    classifier.weights.byteOffset,
    classifier.weights.byteLength,
  );
  const header = new TextEncoder().encode(JSON.stringify({
    key,
    classes: classifier.weights.length / classifier.dim,
    dim: classifier.dim,
    dtype: "float64",
    sha256: createHash("sha256").update(data).digest("hex"),
  }));
  const dataStart = Math.ceil((MAGIC.length + 4 + header.length) / 8) * 8;
  const bytes = new Uint8Array(dataStart + data.length);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(bytes.buffer).setUint32(MAGIC.length, header.length, true);
  bytes.set(header, MAGIC.length + 4);
  bytes.set(data, dataStart);
  return bytes;
}

/** Parses an entry; undefined when it is not a complete, intact entry for `key`. */
function decodeEntry(bytes: Uint8Array, key: string): ClassifierWeights | undefined {
  if (bytes.length < MAGIC.length + 4) return undefined;
  if (new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) return undefined;
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(MAGIC.length, true);
  const headerEnd = MAGIC.length + 4 + headerLength;
  if (headerEnd > bytes.length) return undefined;
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(MAGIC.length + 4, headerEnd)));
  } catch {
    return undefined;
  }
  const { classes, dim } = header;
  if (
    header.key !== key || header.dtype !== "float64" || typeof header.sha256 !== "string" ||
    !Number.isInteger(classes) || !Number.isInteger(dim) || (classes as number) < 1 ||
    (dim as number) < 1
  ) {
    return undefined;
  }
  const dataStart = Math.ceil(headerEnd / 8) * 8;
  const length = (classes as number) * (dim as number) * Float64Array.BYTES_PER_ELEMENT;
  if (bytes.length !== dataStart + length) return undefined;
  const data = bytes.slice(dataStart);
  if (createHash("sha256").update(data).digest("hex") !== header.sha256) return undefined;
  return { weights: new Float64Array(data.buffer), dim: dim as number };
}

/**
 * The classifier for `prompts`: read from the cache when an intact entry for its key exists,
 * else built by `build` and stored (a failure to store is not an error: the classifier is
 * returned all the same).
 *
 * @param prompts Each class's prompts, in class order (part of the key).
 * @param batchSize The text batch size `build` uses (part of the key).
 * @param build Builds the classifier (runs the text tower).
 */
export async function cachedClassifier(
  model: ClipModel,
  prompts: readonly (readonly string[])[],
  batchSize: number,
  build: () => Promise<ClassifierWeights>,
  options: ClassifierCacheOptions = {},
): Promise<CachedClassifier> {
  if (options.noCache) return { ...await build(), fromCache: false, key: "" };
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const key = await classifierCacheKey(model, prompts, batchSize, cacheDir);
  const path = entryPath(cacheDir, key);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    bytes = undefined;
  }
  const cached = bytes && decodeEntry(bytes, key);
  if (cached && cached.weights.length === prompts.length * cached.dim) {
    return { ...cached, fromCache: true, key };
  }
  const built = await build();
  try {
    await writeFileAtomically(path, encodeEntry(key, built));
  } catch {
    // A read-only or full disk only costs the next run the text tower.
  }
  return { ...built, fromCache: false, key };
}
