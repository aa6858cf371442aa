/**
 * The partial-result file one shard of a sharded evaluation writes
 * (`<output_dir>/<model>/<dataset>_<task>.shard-<i>-of-<n>.partial`), and its reader.
 *
 * Layout (format version 1; every integer little-endian):
 *
 * ```
 * offset 0    8 bytes   magic "CLIPBPRT"
 * offset 8    uint32    format version (1)
 * offset 12   uint32    header length H in bytes
 * offset 16   H bytes   header: UTF-8 JSON (below)
 *             0-7 zero bytes, so that the payload starts at a multiple of 8
 * payload     the arrays the header lists, each at an offset (from the payload's start) that is a
 *             multiple of 8: float32, float64, int32 or uint8 values, little-endian
 * last 32     SHA-256 of every byte before it
 * ```
 *
 * The header holds `format` ("clipbench-partial"), `version`, `created_by`, `fingerprint` (see
 * src/results/partial/fingerprint.ts) and its `fingerprint_sha256`, `shard` (`{index, count}`),
 * `reading` (`{mode, tar_shards, nshards}`), `dataset_root`, `result_fields` (the final result's
 * descriptive fields), `counts` (`{read, scored, skipped}`), `skipped` (the first skipped samples:
 * `{key, source, reason, shard, index}`), `state` (the task's scalars: `kind` and, by kind,
 * `num_classes`, `samples`, `correct_top1`, `correct_top5`, `torch_vector_lanes`, `dim`),
 * `arrays` (`[{name, dtype, length, offset}]`) and `payload_bytes`. The arrays, by kind:
 *
 * - `classification`: `per_class_total`, `per_class_correct` (float64, one per class);
 * - `multilabel`: `scores` (float32) and `targets` (uint8), `scored × num_classes` each;
 *   `position_shards`, `position_indices` (int32, one per scored sample);
 * - `retrieval`: `images` (float32, `scored × dim`), `captions` (float32, `Σ caption_counts × dim`),
 *   `caption_counts`, `position_shards`, `position_indices` (int32, one per image).
 *
 * A file that is truncated, altered (the checksum), of another format version, or whose header
 * does not describe a consistent payload is refused with a {@linkcode PartialError} naming it.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { ClipbenchError } from "../../errors.ts";
import type { TaskName } from "../result.ts";
import type { PositionedSkip } from "../../dataset/sharding/shard_reading.ts";
import { checkShardSpec } from "../../dataset/sharding/shard_spec.ts";
import { fingerprintSha256, type PartialFingerprint } from "./fingerprint.ts";
import type { ShardMetricState, ShardOutcome, ShardPositions } from "./shard_outcome.ts";

/** The first 8 bytes of a partial file. */
export const PARTIAL_MAGIC = "CLIPBPRT";
/** The format version this module writes and reads. */
export const PARTIAL_FORMAT_VERSION = 1;
/** The file name extension of partial files. */
export const PARTIAL_EXTENSION = ".partial";

const HEADER_START = 16;
const CHECKSUM_BYTES = 32;

/** A partial file that cannot be read, or a set of partials that cannot be merged. */
export class PartialError extends ClipbenchError {
  /** The file involved, where there is one. */
  readonly path?: string;

  /**
   * Creates an instance.
   *
   * @param message What is wrong, naming the file(s).
   * @param options `path` and `cause`.
   */
  constructor(message: string, options: { path?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.path = options.path;
  }
}

/** A partial result: the fingerprint and what the shard collected. */
export interface PartialResult {
  /** What the numbers depend on. */
  readonly fingerprint: PartialFingerprint;
  /** What the shard collected. */
  readonly outcome: ShardOutcome;
}

/**
 * The file name of shard `index` of `count` of a model/dataset/task:
 * `<dataset>_<task>.shard-<index>-of-<count>.partial`.
 */
export function partialFileName(
  dataset: string,
  task: TaskName,
  shard: { index: number; count: number },
): string {
  return `${dataset}_${task}.shard-${shard.index}-of-${shard.count}${PARTIAL_EXTENSION}`;
}

/** Path of a partial under `outputDir`, beside where the final result goes. */
export function partialPath(
  outputDir: string,
  model: string,
  dataset: string,
  task: TaskName,
  shard: { index: number; count: number },
): string {
  return join(outputDir, model, partialFileName(dataset, task, shard));
}

type ArrayType = "float32" | "float64" | "int32" | "uint8";
type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

const ARRAY_CONSTRUCTORS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint8: Uint8Array,
} as const;

function arrayType(array: TypedArray): ArrayType {
  if (array instanceof Float32Array) return "float32";
  if (array instanceof Float64Array) return "float64";
  if (array instanceof Int32Array) return "int32";
  return "uint8";
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bytesOf(array: TypedArray): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** The arrays and scalars of a metric state. */
function stateParts(state: ShardMetricState): {
  scalars: Record<string, unknown>;
  arrays: Record<string, TypedArray>;
} {
  const positions = (p: ShardPositions) => ({
    position_shards: p.shards,
    position_indices: p.indices,
  });
  switch (state.kind) {
    case "classification": {
      const c = state.counts;
      return {
        scalars: {
          kind: state.kind,
          num_classes: c.numClasses,
          samples: c.samples,
          correct_top1: c.correctTop1,
          correct_top5: c.correctTop5,
        },
        arrays: { per_class_total: c.perClassTotal, per_class_correct: c.perClassCorrect },
      };
    }
    case "multilabel":
      return {
        scalars: {
          kind: state.kind,
          num_classes: state.numClasses,
          torch_vector_lanes: state.torchVectorLanes,
        },
        arrays: { scores: state.scores, targets: state.targets, ...positions(state.positions) },
      };
    case "retrieval":
      return {
        scalars: { kind: state.kind, dim: state.dim },
        arrays: {
          images: state.images,
          captions: state.captions,
          caption_counts: state.captionCounts,
          ...positions(state.positions),
        },
      };
  }
}

/** Serialises a partial result (see the module documentation for the layout). */
export function encodePartial(partial: PartialResult): Uint8Array<ArrayBuffer> {
  if (!LITTLE_ENDIAN) throw new Error("partial files are written on little-endian machines only");
  const { fingerprint, outcome } = partial;
  const { scalars, arrays } = stateParts(outcome.state);
  const entries: { name: string; dtype: ArrayType; length: number; offset: number }[] = [];
  let payloadBytes = 0;
  for (const [name, array] of Object.entries(arrays)) {
    entries.push({ name, dtype: arrayType(array), length: array.length, offset: payloadBytes });
    payloadBytes += Math.ceil(array.byteLength / 8) * 8;
  }
  const header = new TextEncoder().encode(JSON.stringify({
    format: "clipbench-partial",
    version: PARTIAL_FORMAT_VERSION,
    created_by: "clipbench",
    fingerprint,
    fingerprint_sha256: fingerprintSha256(fingerprint),
    shard: outcome.shard,
    reading: {
      mode: outcome.reading.mode,
      tar_shards: outcome.reading.tarShards,
      nshards: outcome.reading.nshards,
    },
    dataset_root: outcome.datasetRoot,
    result_fields: outcome.resultFields,
    counts: { read: outcome.read, scored: outcome.scored, skipped: outcome.skippedCount },
    skipped: outcome.skipped,
    state: scalars,
    arrays: entries,
    payload_bytes: payloadBytes,
  }));
  const payloadStart = Math.ceil((HEADER_START + header.length) / 8) * 8;
  const bytes = new Uint8Array(payloadStart + payloadBytes + CHECKSUM_BYTES);
  bytes.set(new TextEncoder().encode(PARTIAL_MAGIC), 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(8, PARTIAL_FORMAT_VERSION, true);
  view.setUint32(12, header.length, true);
  bytes.set(header, HEADER_START);
  for (const entry of entries) bytes.set(bytesOf(arrays[entry.name]), payloadStart + entry.offset);
  const checksumAt = bytes.length - CHECKSUM_BYTES;
  bytes.set(createHash("sha256").update(bytes.subarray(0, checksumAt)).digest(), checksumAt);
  return bytes;
}

/** Reads fields of a parsed header, each failure naming the file and the field. */
class HeaderReader {
  constructor(readonly source: string) {}

  fail(message: string): PartialError {
    return new PartialError(`${this.source}: ${message}`, { path: this.source });
  }

  object(value: unknown, where: string): Record<string, unknown> {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw this.fail(`header field ${where} must be an object`);
    }
    return value as Record<string, unknown>;
  }

  count(value: unknown, where: string): number {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw this.fail(`header field ${where} must be a non-negative integer, got ${value}`);
    }
    return value;
  }

  string(value: unknown, where: string): string {
    if (typeof value !== "string") throw this.fail(`header field ${where} must be a string`);
    return value;
  }
}

/**
 * Parses a partial file.
 *
 * @param source Names the file in messages.
 * @throws {PartialError} naming `source` when the bytes are not an intact partial of this format
 * version (bad magic, truncated, checksum mismatch, inconsistent header).
 */
export function decodePartial(bytes: Uint8Array, source: string): PartialResult {
  const read = new HeaderReader(source);
  const magic = new TextDecoder().decode(bytes.subarray(0, PARTIAL_MAGIC.length));
  if (bytes.length < PARTIAL_MAGIC.length || magic !== PARTIAL_MAGIC) {
    throw read.fail(`not a clipbench partial result (it does not start with ${PARTIAL_MAGIC})`);
  }
  if (bytes.length < HEADER_START + CHECKSUM_BYTES) {
    throw read.fail(`truncated: ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== PARTIAL_FORMAT_VERSION) {
    throw read.fail(
      `partial format version ${version}; this clipbench reads version ${PARTIAL_FORMAT_VERSION}` +
        ` (merge with the clipbench that wrote it)`,
    );
  }
  const checksumAt = bytes.length - CHECKSUM_BYTES;
  const actual = createHash("sha256").update(bytes.subarray(0, checksumAt)).digest("hex");
  const stored = Array.from(bytes.subarray(checksumAt), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  if (actual !== stored) {
    throw read.fail(
      `corrupted: its SHA-256 checksum does not match its content (the file was truncated, ` +
        `changed or damaged after it was written)`,
    );
  }
  const headerLength = view.getUint32(12, true);
  const headerEnd = HEADER_START + headerLength;
  if (headerEnd > checksumAt) throw read.fail(`header length ${headerLength} exceeds the file`);
  let header: Record<string, unknown>;
  try {
    header = read.object(
      JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(
        bytes.subarray(HEADER_START, headerEnd),
      )),
      "header",
    );
  } catch (error) {
    if (error instanceof PartialError) throw error;
    throw read.fail(`the header is not valid JSON: ${(error as Error).message}`);
  }
  if (header.format !== "clipbench-partial" || header.version !== PARTIAL_FORMAT_VERSION) {
    throw read.fail(`the header is not a clipbench partial header of version ${version}`);
  }
  const payloadStart = Math.ceil(headerEnd / 8) * 8;
  const payloadBytes = read.count(header.payload_bytes, "payload_bytes");
  if (payloadStart + payloadBytes !== checksumAt) {
    throw read.fail(
      `the payload should hold ${payloadBytes} bytes, the file has ${checksumAt - payloadStart}`,
    );
  }
  const arrays = readArrays(read, header.arrays, bytes, payloadStart, payloadBytes);
  const fingerprint = read.object(header.fingerprint, "fingerprint");
  for (const group of ["model", "dataset", "task", "options"]) {
    read.object(fingerprint[group], `fingerprint.${group}`);
  }
  if (
    header.fingerprint_sha256 !== fingerprintSha256(fingerprint as unknown as PartialFingerprint)
  ) {
    throw read.fail("the fingerprint does not match its recorded SHA-256");
  }
  const shardField = read.object(header.shard, "shard");
  let shard;
  try {
    shard = checkShardSpec(shardField.index, shardField.count, `${source}: shard`);
  } catch (error) {
    throw read.fail((error as Error).message);
  }
  const reading = read.object(header.reading, "reading");
  const counts = read.object(header.counts, "counts");
  const outcome: ShardOutcome = {
    shard,
    reading: {
      mode: reading.mode === "samples" ? "samples" : "tar_shards",
      tarShards: Array.isArray(reading.tar_shards) ? reading.tar_shards as number[] : [],
      nshards: read.count(reading.nshards, "reading.nshards"),
    },
    datasetRoot: read.string(header.dataset_root, "dataset_root"),
    resultFields: read.object(header.result_fields, "result_fields"),
    taskFingerprint: fingerprint.task as Record<string, unknown>,
    state: readState(read, read.object(header.state, "state"), arrays),
    read: read.count(counts.read, "counts.read"),
    scored: read.count(counts.scored, "counts.scored"),
    skippedCount: read.count(counts.skipped, "counts.skipped"),
    skipped: readSkipped(read, header.skipped),
  };
  checkCounts(read, outcome);
  return { fingerprint: fingerprint as unknown as PartialFingerprint, outcome };
}

function readArrays(
  read: HeaderReader,
  list: unknown,
  bytes: Uint8Array,
  payloadStart: number,
  payloadBytes: number,
): Map<string, TypedArray> {
  if (!Array.isArray(list)) throw read.fail("header field arrays must be a list");
  const arrays = new Map<string, TypedArray>();
  for (const [i, item] of list.entries()) {
    const entry = read.object(item, `arrays[${i}]`);
    const name = read.string(entry.name, `arrays[${i}].name`);
    const dtype = entry.dtype as ArrayType;
    const Constructor = ARRAY_CONSTRUCTORS[dtype];
    if (Constructor === undefined) throw read.fail(`array ${name} has unknown dtype ${dtype}`);
    const length = read.count(entry.length, `arrays[${i}].length`);
    const offset = read.count(entry.offset, `arrays[${i}].offset`);
    const byteLength = length * Constructor.BYTES_PER_ELEMENT;
    if (offset % 8 !== 0 || offset + byteLength > payloadBytes) {
      throw read.fail(`array ${name} (${byteLength} bytes at ${offset}) lies outside the payload`);
    }
    // Copied out, so the arrays are aligned and independent of the file's buffer.
    const start = payloadStart + offset;
    arrays.set(name, new Constructor(bytes.slice(start, start + byteLength).buffer));
  }
  return arrays;
}

function readState(
  read: HeaderReader,
  state: Record<string, unknown>,
  arrays: Map<string, TypedArray>,
): ShardMetricState {
  const array = <T extends TypedArray>(name: string, type: { new (n: number): T }): T => {
    const found = arrays.get(name);
    if (!(found instanceof type)) throw read.fail(`the ${state.kind} payload lacks array ${name}`);
    return found;
  };
  const positions = (count: number, per: string): ShardPositions => {
    const shards = array("position_shards", Int32Array);
    const indices = array("position_indices", Int32Array);
    if (shards.length !== count || indices.length !== count) {
      throw read.fail(`${count} ${per} but ${shards.length} sample positions`);
    }
    return { shards, indices };
  };
  switch (state.kind) {
    case "classification": {
      const numClasses = read.count(state.num_classes, "state.num_classes");
      const perClassTotal = array("per_class_total", Float64Array);
      const perClassCorrect = array("per_class_correct", Float64Array);
      if (perClassTotal.length !== numClasses || perClassCorrect.length !== numClasses) {
        throw read.fail(`per-class counts do not hold ${numClasses} classes`);
      }
      return {
        kind: "classification",
        counts: {
          numClasses,
          samples: read.count(state.samples, "state.samples"),
          correctTop1: read.count(state.correct_top1, "state.correct_top1"),
          correctTop5: read.count(state.correct_top5, "state.correct_top5"),
          perClassTotal,
          perClassCorrect,
        },
      };
    }
    case "multilabel": {
      const numClasses = read.count(state.num_classes, "state.num_classes");
      const lanes = state.torch_vector_lanes;
      if (lanes !== 8 && lanes !== 16) throw read.fail(`torch_vector_lanes ${lanes}: 8 or 16`);
      const scores = array("scores", Float32Array);
      const targets = array("targets", Uint8Array);
      if (numClasses < 1 || scores.length % numClasses !== 0 || targets.length !== scores.length) {
        throw read.fail(`scores and targets are not rows of ${numClasses} classes`);
      }
      return {
        kind: "multilabel",
        numClasses,
        torchVectorLanes: lanes,
        scores,
        targets,
        positions: positions(scores.length / numClasses, "rows"),
      };
    }
    case "retrieval": {
      const dim = read.count(state.dim, "state.dim");
      const images = array("images", Float32Array);
      const captions = array("captions", Float32Array);
      const captionCounts = array("caption_counts", Int32Array);
      const imageCount = dim === 0 ? 0 : images.length / dim;
      let captionTotal = 0;
      for (const count of captionCounts) captionTotal += count;
      if (
        !Number.isInteger(imageCount) || captionCounts.length !== imageCount ||
        captions.length !== captionTotal * dim || (dim === 0 && images.length !== 0)
      ) {
        throw read.fail(
          `the embeddings (${images.length} and ${captions.length} values of dimension ${dim}) ` +
            `do not match ${captionCounts.length} images with ${captionTotal} captions`,
        );
      }
      return {
        kind: "retrieval",
        dim,
        images,
        captions,
        captionCounts,
        positions: positions(imageCount, "images"),
      };
    }
    default:
      throw read.fail(`unknown state kind ${JSON.stringify(state.kind)}`);
  }
}

function readSkipped(read: HeaderReader, list: unknown): PositionedSkip[] {
  if (!Array.isArray(list)) throw read.fail("header field skipped must be a list");
  return list.map((item, i) => {
    const entry = read.object(item, `skipped[${i}]`);
    return {
      key: read.string(entry.key, `skipped[${i}].key`),
      source: read.string(entry.source, `skipped[${i}].source`),
      reason: read.string(entry.reason, `skipped[${i}].reason`),
      shard: read.count(entry.shard, `skipped[${i}].shard`),
      index: read.count(entry.index, `skipped[${i}].index`),
    };
  });
}

function checkCounts(read: HeaderReader, outcome: ShardOutcome): void {
  const { state, scored } = outcome;
  const rows = state.kind === "classification"
    ? state.counts.samples
    : state.positions.shards.length;
  if (rows !== scored) throw read.fail(`counts.scored is ${scored} but the state holds ${rows}`);
  if (outcome.read !== scored + outcome.skippedCount) {
    throw read.fail(
      `counts.read (${outcome.read}) is not scored (${scored}) + skipped (${outcome.skippedCount})`,
    );
  }
  if (outcome.skipped.length > outcome.skippedCount) {
    throw read.fail(`lists ${outcome.skipped.length} skipped samples of ${outcome.skippedCount}`);
  }
}

/**
 * Writes a partial file atomically (a temporary name, then a rename), creating its folder.
 *
 * @returns the path written.
 */
export async function writePartial(path: string, partial: PartialResult): Promise<string> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${Deno.pid}.tmp`;
  await Deno.writeFile(temporary, encodePartial(partial));
  await Deno.rename(temporary, path);
  return path;
}

/**
 * Reads and checks a partial file.
 *
 * @throws {PartialError} naming the file when it cannot be read or is not an intact partial.
 */
export async function readPartial(path: string): Promise<PartialResult> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new PartialError(`cannot read partial ${path}: ${(error as Error).message}`, {
      path,
      cause: error,
    });
  }
  return decodePartial(bytes, path);
}
