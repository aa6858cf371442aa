/**
 * The `clipbench` block of a result file: how the result was made. evalscope's fields (`dataset`,
 * `model`, `task`, `metrics`) stay as they are; everything clipbench knows about the run goes into
 * this one block, in this order:
 *
 * - `version`: the clipbench that wrote the file;
 * - `model`: the model as given (`null` after a merge of shards: each shard may have named it
 *   differently), the name results are filed under, the family, the SHA-256 of the model
 *   fingerprint (src/results/partial/fingerprint.ts: file hashes and effective settings) and the
 *   files' own SHA-256; for a converted PyTorch checkpoint, `converted_from` with the checkpoint's
 *   weight hashes;
 * - `settings`: the run settings that change numbers besides the task's (model fingerprint, dtype,
 *   preprocess mode, crop rounding, text cleaning, split, limit);
 * - `task_settings`: the task's own (classification: the SHA-256 of the class names and of the
 *   templates used; retrieval: `recall_k`);
 * - `shards`: `null` for a whole run; after a merge, the shard count and how the shards read the
 *   dataset;
 * - `samples`: scored and skipped;
 * - `time`: start and end (ISO 8601), duration in seconds and images per second (`null` after a
 *   merge: the shards ran apart);
 * - `runtime`: Deno, onnxruntime-node, execution provider, threads, cores (`null` after a merge);
 * - `per_class_recall`: single-label classification only, one value per class name in class
 *   order (`null` for a class without samples).
 *
 * `--skip-existing` compares `settings` and `task_settings` (src/results/existing_result.ts).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { VERSION } from "../version.ts";
import { canonicalJson } from "./partial/fingerprint.ts";

/** A checkpoint a model folder was converted from (src/convert/convert.ts). */
export interface ConversionProvenance {
  /** The checkpoint folder converted. */
  readonly source: string;
  /** Its architecture (`clip`, `open_clip`, …). */
  readonly architecture: string;
  /** The converter's version. */
  readonly converter_version: number;
  /** Each weight file's SHA-256 (`null` when the file is no longer where it was converted from). */
  readonly weights: Readonly<Record<string, string | null>>;
}

/** The model of a result. */
export interface ModelProvenance {
  /** The model as given (folder or hub id); `null` after a merge of shards. */
  readonly given: string | null;
  /** The name results are filed under. */
  readonly name: string;
  /** Its family (`clip`, `siglip`, …). */
  readonly family: string;
  /** SHA-256 of the model fingerprint (file hashes and effective settings). */
  readonly fingerprint_sha256: string;
  /** SHA-256 of each file the model was loaded from, by path within the model folder. */
  readonly files: Readonly<Record<string, string>>;
  /** The checkpoint it was converted from, for a converted checkpoint. */
  readonly converted_from?: ConversionProvenance;
}

/** The run settings that change numbers, besides the task's own. */
export interface NumberSettings {
  /** SHA-256 of the model fingerprint. */
  readonly model_sha256: string;
  /** Precision variant. */
  readonly dtype: string;
  /** `hf` or `openclip`. */
  readonly preprocess: string;
  /** Effective crop rounding (`floor`, `round`). */
  readonly crop_rounding: string;
  /** Effective text cleaning (`open_clip`, `none`). */
  readonly text_cleaning: string;
  /** Dataset split. */
  readonly split: string;
  /** `--limit`, or `null`. */
  readonly limit: number | null;
}

/** How a merged result was sharded. */
export interface ShardLayout {
  /** Number of shards. */
  readonly count: number;
  /** How the shards read the dataset: whole tar files (`tar_shards`) or slices of them. */
  readonly reading: string;
  /** Tar files in the dataset. */
  readonly tar_files: number;
}

/** When a run ran, and how fast. */
export interface RunTiming {
  /** Start, ISO 8601. */
  readonly start: string;
  /** End, ISO 8601. */
  readonly end: string;
  /** Seconds from start to end. */
  readonly duration_s: number;
  /** Images scored per second. */
  readonly images_per_s: number;
}

/** What ran the evaluation. */
export interface RuntimeInfo {
  /** Deno's version. */
  readonly deno: string;
  /** onnxruntime-node's version. */
  readonly onnxruntime_node: string;
  /** `cpu` or `cuda`. */
  readonly execution_provider: string;
  /** onnxruntime intra-op threads asked for (0: onnxruntime decides). */
  readonly threads: number;
  /** Logical cores of the machine. */
  readonly cores: number;
  /**
   * The libjpeg-turbo that decoded JPEG files: native (with its library) or WebAssembly (with
   * why the native one was not used); see src/image/decode/jpeg_decoder.ts.
   */
  readonly jpeg_decoder: string;
}

/** What a task adds to the block: its settings, and per-class recall where it has one. */
export interface TaskProvenance {
  /** Task settings that change numbers. */
  readonly task_settings: Readonly<Record<string, unknown>>;
  /** Single-label classification: recall of each class (`null`: no sample of the class). */
  readonly per_class_recall?: readonly (number | null)[];
}

/** The `clipbench` block of a result file (see the module documentation). */
export interface ClipbenchBlock extends TaskProvenance {
  /** clipbench's version. */
  readonly version: string;
  /** The model. */
  readonly model: ModelProvenance;
  /** Run settings that change numbers. */
  readonly settings: NumberSettings;
  /** Shards of a merged result; `null` for a whole run. */
  readonly shards: ShardLayout | null;
  /** Samples scored and skipped. */
  readonly samples: { readonly scored: number; readonly skipped: number };
  /** Timing; `null` after a merge. */
  readonly time: RunTiming | null;
  /** Runtime; `null` after a merge. */
  readonly runtime: RuntimeInfo | null;
}

/** SHA-256 (hex) of a value's canonical JSON (object keys sorted). */
export function sha256OfJson(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}

/**
 * Recall of each class: correct / samples of the class, `null` for a class without samples.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { perClassRecall } from "./provenance.ts";
 *
 * assert.deepEqual(perClassRecall([4, 0, 2], [3, 0, 2]), [0.75, null, 1]);
 * ```
 */
export function perClassRecall(
  totals: ArrayLike<number>,
  correct: ArrayLike<number>,
): (number | null)[] {
  return Array.from(totals, (total, c) => (total > 0 ? correct[c] / total : null));
}

/**
 * The number-changing settings of a run, from its model fingerprint (the `model` group of
 * src/results/partial/fingerprint.ts: dtype, effective preprocessing and text cleaning) — the
 * same for a whole run and for a merge of its shards.
 */
export function numberSettings(
  modelFingerprint: Readonly<Record<string, unknown>>,
  split: string,
  limit: number | null,
): NumberSettings {
  const preprocessing = (modelFingerprint.preprocessing ?? {}) as Record<string, unknown>;
  const tokenizer = (modelFingerprint.tokenizer ?? {}) as Record<string, unknown>;
  return {
    model_sha256: sha256OfJson(modelFingerprint),
    dtype: String(modelFingerprint.dtype),
    // `--preprocess openclip` converts to RGB after resizing (src/image/preprocess/config.ts).
    preprocess: preprocessing.conversionOrder === "after_resize" ? "openclip" : "hf",
    crop_rounding: String(preprocessing.cropRounding),
    text_cleaning: String(tokenizer.text_cleaning),
    split,
    limit,
  };
}

/** The `model` part from a model fingerprint (see {@linkcode ModelProvenance}). */
export function modelProvenanceOf(
  modelFingerprint: Readonly<Record<string, unknown>>,
  identity: { given: string | null; name: string; convertedFrom?: ConversionProvenance },
): ModelProvenance {
  return {
    given: identity.given,
    name: identity.name,
    family: String(modelFingerprint.family),
    fingerprint_sha256: sha256OfJson(modelFingerprint),
    files: (modelFingerprint.files ?? {}) as Record<string, string>,
    ...(identity.convertedFrom && { converted_from: identity.convertedFrom }),
  };
}

/** Start, end, duration and throughput of a run that scored `scored` images. */
export function runTiming(start: Date, end: Date, scored: number): RunTiming {
  const duration = Math.max(0, (end.getTime() - start.getTime()) / 1000);
  return {
    start: start.toISOString(),
    end: end.toISOString(),
    duration_s: duration,
    images_per_s: duration > 0 ? scored / duration : 0,
  };
}

/** The parts of a block, before they are put in the file's order. */
export interface BlockParts {
  /** The model. */
  readonly model: ModelProvenance;
  /** Run settings. */
  readonly settings: NumberSettings;
  /** What the task recorded. */
  readonly task: TaskProvenance;
  /** Shards of a merge, or `null`. */
  readonly shards: ShardLayout | null;
  /** Samples scored and skipped. */
  readonly samples: { readonly scored: number; readonly skipped: number };
  /** Timing, or `null`. */
  readonly time: RunTiming | null;
  /** Runtime, or `null`. */
  readonly runtime: RuntimeInfo | null;
}

/** The block, its fields in the file's order. */
export function clipbenchBlock(parts: BlockParts): ClipbenchBlock {
  return {
    version: VERSION,
    model: parts.model,
    settings: parts.settings,
    task_settings: parts.task.task_settings,
    shards: parts.shards,
    samples: { scored: parts.samples.scored, skipped: parts.samples.skipped },
    time: parts.time,
    runtime: parts.runtime,
    ...(parts.task.per_class_recall !== undefined &&
      { per_class_recall: parts.task.per_class_recall }),
  };
}
