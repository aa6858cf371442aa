/**
 * Zero-shot classification, as CLIP_benchmark and evalscope compute it.
 *
 * 1. Classifier: for each class of `classnames.txt`, in order, every template with `{c}` replaced
 *    by the class name (Python `str.format(c=…)` semantics) is encoded; the L2-normalised prompt
 *    embeddings are averaged and the mean re-normalised.
 * 2. Each image embedding (L2-normalised) is scored against every class: logits = 100 · cosine.
 * 3. acc@1, acc@5 and mean per-class recall are accumulated batch by batch
 *    ({@linkcode ClassificationAccumulator}), so memory does not grow with the dataset.
 *
 * Similarities and class means are computed in float64 from the float32 embeddings (the reference
 * computes them in float32; this only matters for logits equal to within ~1e-7).
 *
 * @module
 */

import { DatasetError, UsageError } from "../src/errors.ts";
import { imageBatches } from "../src/image_batches.ts";
import {
  ClassificationAccumulator,
  type ClassificationMetrics,
} from "../src/metrics/classification.ts";
import type { ClipModel } from "../src/model.ts";
import { MAX_LISTED_SKIPS, type SkippedSample, type TaskResult } from "../src/result.ts";
import { labelField, type Sample } from "../src/webdataset.ts";
import type { WebDataset } from "../src/dataset.ts";
import { joinLocation } from "../src/byte_source.ts";

const TEMPLATES_FILE = "zeroshot_classification_templates.txt";

/** Progress of a running evaluation. */
export interface EvaluationProgress {
  /** Samples read so far (scored or skipped). */
  readonly samples: number;
  /** Samples skipped so far. */
  readonly skipped: number;
  /** The total, when known in advance (with a limit). */
  readonly total?: number;
  /** Index of the shard being read. */
  readonly shard: number;
  /** Number of shards. */
  readonly nshards: number;
}

/** Options for {@linkcode evaluateZeroShotClassification}. */
export interface ZeroShotClassificationOptions {
  /** Dataset name written into the result. */
  readonly datasetName: string;
  /** Images (and prompts) per batch; default 128. */
  readonly batchSize?: number;
  /** Score only the first `limit` samples in shard order. */
  readonly limit?: number;
  /** Fail when more than this fraction of the samples is skipped; default 0.01. */
  readonly maxSkippedFraction?: number;
  /** Called as samples are read. */
  readonly onProgress?: (progress: EvaluationProgress) => void;
  /** Stops the evaluation. */
  readonly signal?: AbortSignal;
}

/**
 * Fills a CLIP_benchmark template: `template.format(c=classname)`. `{c}` is replaced, `{{` and
 * `}}` become `{` and `}`; any other replacement field is an error, as it is in Python.
 */
export function fillTemplate(template: string, classname: string): string {
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}|[{}]/g, (match, field: string | undefined) => {
    if (match === "{{") return "{";
    if (match === "}}") return "}";
    if (field === "c") return classname;
    throw new DatasetError(
      `template ${JSON.stringify(template)} has ${JSON.stringify(match)}; only {c} can be filled`,
    );
  });
}

/**
 * Builds the zero-shot classifier: one L2-normalised mean prompt embedding per class.
 *
 * @returns `classnames.length × dim` weights (float64, row-major) and `dim`.
 */
export async function buildZeroShotClassifier(
  model: ClipModel,
  classnames: readonly string[],
  templates: readonly string[],
  batchSize = 128,
): Promise<{ weights: Float64Array; dim: number }> {
  if (classnames.length === 0) throw new DatasetError("the dataset has no class names");
  if (templates.length === 0) throw new DatasetError("the dataset has no templates");
  const prompts = classnames.flatMap((c) => templates.map((t) => fillTemplate(t, c)));
  const { embeddings, dim } = await model.encodeTexts(prompts, batchSize);
  const weights = new Float64Array(classnames.length * dim);
  for (let c = 0; c < classnames.length; c++) {
    const row = weights.subarray(c * dim, (c + 1) * dim);
    for (let t = 0; t < templates.length; t++) {
      const offset = (c * templates.length + t) * dim;
      for (let i = 0; i < dim; i++) row[i] += embeddings[offset + i];
    }
    let norm = 0;
    for (let i = 0; i < dim; i++) {
      row[i] /= templates.length;
      norm += row[i] * row[i];
    }
    const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
    for (let i = 0; i < dim; i++) row[i] *= scale;
  }
  return { weights, dim };
}

/** logits[i][c] = 100 · ⟨image_i, class_c⟩, for `count` image rows. */
export function classificationLogits(
  images: Float32Array,
  count: number,
  weights: Float64Array,
  dim: number,
): Float64Array {
  const classes = weights.length / dim;
  const logits = new Float64Array(count * classes);
  for (let i = 0; i < count; i++) {
    const image = images.subarray(i * dim, (i + 1) * dim);
    for (let c = 0; c < classes; c++) {
      let dot = 0;
      const offset = c * dim;
      for (let k = 0; k < dim; k++) dot += image[k] * weights[offset + k];
      logits[i * classes + c] = 100 * dot;
    }
  }
  return logits;
}

/**
 * Runs zero-shot classification of `model` on a classification WebDataset.
 *
 * @throws {DatasetError} when the dataset has no class names or templates, when no sample could
 * be scored, or when more than `maxSkippedFraction` of the samples had to be skipped.
 */
export async function evaluateZeroShotClassification(
  model: ClipModel,
  dataset: WebDataset,
  options: ZeroShotClassificationOptions,
): Promise<TaskResult & { metrics: ClassificationMetrics }> {
  const batchSize = options.batchSize ?? 128;
  const maxSkippedFraction = options.maxSkippedFraction ?? 0.01;
  if (!(maxSkippedFraction >= 0 && maxSkippedFraction <= 1)) {
    throw new UsageError(
      `the skipped-sample threshold must be in [0, 1], got ${maxSkippedFraction}`,
    );
  }
  const { classnames, templates } = dataset;
  for (
    const [value, file] of [[classnames, "classnames.txt"], [templates, TEMPLATES_FILE]] as const
  ) {
    if (!value) {
      const path = joinLocation(dataset.root, file);
      throw new DatasetError(`${path} not found: zero-shot classification needs it`, { path });
    }
  }
  const { weights, dim } = await buildZeroShotClassifier(model, classnames!, templates!, batchSize);
  const classCount = classnames!.length;
  const accumulator = new ClassificationAccumulator(classCount);
  const skipped: SkippedSample[] = [];
  let skippedCount = 0;
  let read = 0;
  const shardIndex = new Map(dataset.shardUrls.map((url, index) => [url, index]));

  const extractLabel = (sample: Sample): number => {
    const label = labelField(sample);
    if (label === undefined) throw new Error("no label (cls field)");
    if (label < 0 || label >= classCount) {
      throw new Error(`label ${label} is outside the ${classCount} classes of classnames.txt`);
    }
    return label;
  };

  const batches = imageBatches(
    dataset.samples({ limit: options.limit, signal: options.signal }),
    model.preprocessor,
    {
      batchSize,
      extract: extractLabel,
      onSkip: (s) => {
        skippedCount++;
        if (skipped.length < MAX_LISTED_SKIPS) skipped.push(s);
      },
      onSample: (sample) => {
        read++;
        options.onProgress?.({
          samples: read,
          skipped: skippedCount,
          total: options.limit,
          shard: shardIndex.get(sample.source) ?? 0,
          nshards: dataset.nshards,
        });
      },
    },
  );

  // Batch k's encoding is awaited only after batch k+1 has been requested, so decoding and
  // inference can overlap wherever one of them runs off the main thread (today onnxruntime-node
  // runs the session on it, between the decoder's awaits). Batches are scored in order.
  let pending: Promise<void> | undefined;
  for await (const batch of batches) {
    const labels = batch.items.slice();
    const scoring = model.encodeImages(batch.pixels, batch.count).then(({ embeddings }) => {
      accumulator.update(classificationLogits(embeddings, batch.count, weights, dim), labels);
    });
    // Mark as handled now; the error, if any, is rethrown when it is awaited below.
    scoring.catch(() => {});
    await pending;
    pending = scoring;
  }
  await pending;

  if (accumulator.count === 0) {
    throw new DatasetError(
      `no sample of ${dataset.root} could be scored (${skippedCount} skipped${
        skipped[0] ? `; first: ${skipped[0].key}: ${skipped[0].reason}` : ""
      })`,
      { path: dataset.root },
    );
  }
  const total = accumulator.count + skippedCount;
  if (skippedCount / total > maxSkippedFraction) {
    throw new DatasetError(
      `${skippedCount} of ${total} samples of ${dataset.root} were skipped, more than the allowed ` +
        `${(maxSkippedFraction * 100).toFixed(2)} %; first: ${
          skipped.slice(0, 5).map((s) => `${s.key} (${s.reason})`).join("; ")
        }`,
      { path: dataset.root },
    );
  }
  return {
    dataset: options.datasetName,
    model: model.name,
    task: "zeroshot_classification",
    metrics: accumulator.result(),
    n_samples: accumulator.count,
    n_skipped: skippedCount,
    skipped,
  };
}
