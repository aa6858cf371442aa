/**
 * Zero-shot classification, single-label and multi-label, as CLIP_benchmark and evalscope compute
 * it.
 *
 * 1. Class names and prompts: the dataset's `classnames.txt` and
 *    `zeroshot_classification_templates.txt`, unless the options override them (see
 *    src/dataset/prompts.ts for the override files). The result records which were used
 *    (`classnames_source`, `templates_source`: the path, or `"dataset"`), and with `dumpClassnames`
 *    / `dumpTemplates` the lists themselves (`classnames`, `templates`), as CLIP_benchmark's
 *    `--dump_classnames` / `--dump_templates` do.
 * 2. Classifier: for each class, in order, its prompts — every template with `{c}` replaced by the
 *    class name (Python `str.format(c=…)` semantics), or the class's own prompts when the templates
 *    map class names to prompts (CuPL-style) — are encoded (each distinct prompt once); the
 *    L2-normalised prompt embeddings are averaged and the mean re-normalised. The classifier is
 *    cached on disk (tasks/zeroshot_classification/classifier_cache.ts), so a second run on the same prompts skips the text
 *    tower.
 * 3. Each image embedding (L2-normalised) is scored against every class: logits = 100 · cosine.
 * 4. The label kind follows `dataset_type.txt`:
 *    - classification: the `cls` field is the class index; acc@1, acc@5 and mean per-class recall
 *      are accumulated batch by batch ({@linkcode ClassificationAccumulator}, O(classes) memory);
 *    - multilabel: the `npy` field is a multi-hot vector with one 0/1 entry per class (bool, integer
 *      or float dtype, shape `(classes,)`); the mean average precision ranks every sample, so all
 *      logits and targets are kept ({@linkcode MultilabelAccumulator}, O(samples × classes)).
 *    A sample whose label cannot be used is skipped with the reason, like an undecodable image.
 *
 * Similarities and class means are computed in float64 from the float32 embeddings (the reference
 * computes them in float32; this only matters for logits equal to within ~1e-7).
 *
 * {@linkcode evaluateZeroShotClassificationShard} runs one shard of a sharded evaluation
 * (src/dataset/sharding/shard_reading.ts) and returns the counts — or, multi-label, the rows with their samples'
 * positions — that src/results/partial/merge.ts merges into exactly this module's result
 * ({@linkcode zeroShotClassificationResult} builds both).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { DatasetError, UsageError } from "../../src/errors.ts";
import { type EvaluationProgress, SampleTally } from "../../src/run/sample_tally.ts";
import {
  ClassificationAccumulator,
  type ClassificationMetrics,
} from "../../src/metrics/classification.ts";
import {
  MultilabelAccumulator,
  type MultilabelMetrics,
  type TorchVectorLanes,
} from "../../src/metrics/multilabel.ts";
import {
  type CachedClassifier,
  cachedClassifier,
  type ClassifierCacheOptions,
} from "./classifier_cache.ts";
import type { ClipModel } from "../../src/model/model.ts";
import {
  imageEmbeddingBatches,
  type PipelineOptions,
} from "../../src/pipeline/image_embeddings.ts";
import { type NpyArray, parseNpy } from "../../src/io/npy.ts";
import type { PromptOverrides, ZeroShotTemplates } from "../../src/dataset/prompts.ts";
import type { SkippedSample, TaskResult } from "../../src/results/result.ts";
import type { ShardMetricState, ShardOutcome } from "../../src/results/partial/shard_outcome.ts";
import {
  evaluationSamples,
  type PositionedSkip,
  PositionList,
  ShardReader,
} from "../../src/dataset/sharding/shard_reading.ts";
import type { ShardSpec } from "../../src/dataset/sharding/shard_spec.ts";
import { labelField, type Sample } from "../../src/dataset/webdataset.ts";
import type { WebDataset } from "../../src/dataset/wds.ts";
import { joinLocation } from "../../src/io/byte_source.ts";

const CLASSNAMES_FILE = "classnames.txt";
const TEMPLATES_FILE = "zeroshot_classification_templates.txt";

/** The `*_source` value of class names and templates read from the dataset's own files. */
export const DATASET_SOURCE = "dataset";

export type { EvaluationProgress } from "../../src/run/sample_tally.ts";

/**
 * Options for {@linkcode evaluateZeroShotClassification}. The {@linkcode PromptOverrides} fields
 * (`classnames`, `templates` and their `…Source`) replace the dataset's own lists; without a
 * source, an override is recorded as `"option"`.
 */
export interface ZeroShotClassificationOptions
  extends PromptOverrides, PipelineOptions, ClassifierCacheOptions {
  /** Dataset name written into the result. */
  readonly datasetName: string;
  /** Images (and prompts) per batch; default 128. */
  readonly batchSize?: number;
  /** Score only the first `limit` samples in shard order. */
  readonly limit?: number;
  /** Fail when more than this fraction of the samples is skipped; default 0.01. */
  readonly maxSkippedFraction?: number;
  /** Add the class names used to the result (`classnames`), as `--dump_classnames` does. */
  readonly dumpClassnames?: boolean;
  /** Add the templates or prompts used to the result (`templates`), as `--dump_templates` does. */
  readonly dumpTemplates?: boolean;
  /**
   * Multi-label only: the SIMD width of the torch whose float32 sums are reproduced (8, the
   * default: AVX2 and default kernels; 16: AVX-512 kernels). See src/metrics/multilabel.ts.
   */
  readonly torchVectorLanes?: TorchVectorLanes;
  /** Called as samples are read. */
  readonly onProgress?: (progress: EvaluationProgress) => void;
  /** Stops the evaluation. */
  readonly signal?: AbortSignal;
}

/** The result of {@linkcode evaluateZeroShotClassification}: evalscope's fields and provenance. */
export interface ZeroShotClassificationResult extends TaskResult {
  /** `acc1`/`acc5`/`mean_per_class_recall`, or `mean_average_precision` for multi-label data. */
  readonly metrics: ClassificationMetrics | MultilabelMetrics;
  /** Where the class names came from: `"dataset"` (its `classnames.txt`) or the override's source. */
  readonly classnames_source: string;
  /** Where the templates came from: `"dataset"` or the override's source. */
  readonly templates_source: string;
  /** The class names used, with `dumpClassnames`. */
  readonly classnames?: readonly string[];
  /** The templates (or class → prompts object) used, with `dumpTemplates`. */
  readonly templates?: readonly string[] | Readonly<Record<string, readonly string[]>>;
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
 * The prompts of each class, in class order: every template filled with the class name, or — when
 * `templates` maps class names to prompts — the class's own prompts, verbatim (CLIP_benchmark's
 * `zero_shot_classifier` with a dict).
 *
 * @param templatesSource Names the templates in error messages.
 * @throws {DatasetError} when there are no templates, or a class has no prompts.
 */
export function classPrompts(
  classnames: readonly string[],
  templates: ZeroShotTemplates,
  templatesSource = "templates",
): string[][] {
  if (Array.isArray(templates)) {
    const list = templates as readonly string[];
    if (list.length === 0) throw new DatasetError(`${templatesSource}: no templates`);
    return classnames.map((c) => list.map((t) => fillTemplate(t, c)));
  }
  const byClass = templates as ReadonlyMap<string, readonly string[]>;
  return classnames.map((c, index) => {
    const prompts = byClass.get(c);
    if (prompts === undefined || prompts.length === 0) {
      throw new DatasetError(
        `${templatesSource}: no prompts for class ${JSON.stringify(c)} ` +
          `(class ${index} of ${classnames.length})`,
      );
    }
    return [...prompts];
  });
}

/** Each class's prompts as indices into a list of distinct prompts, first occurrence first. */
export function deduplicatePrompts(
  prompts: readonly (readonly string[])[],
): { unique: string[]; indices: Int32Array[] } {
  const positions = new Map<string, number>();
  const unique: string[] = [];
  const indices = prompts.map((list) =>
    Int32Array.from(list, (prompt) => {
      let index = positions.get(prompt);
      if (index === undefined) {
        index = unique.length;
        positions.set(prompt, index);
        unique.push(prompt);
      }
      return index;
    })
  );
  return { unique, indices };
}

/**
 * Builds the zero-shot classifier: one L2-normalised mean prompt embedding per class, from the
 * prompts {@linkcode classPrompts} gives. A prompt that occurs more than once (in one class or
 * several) is encoded once: the distinct prompts go through the text tower in batches of
 * `batchSize`, in order of first occurrence.
 *
 * @returns `classnames.length × dim` weights (float64, row-major), `dim`, and the number of
 * prompts encoded (`encodedPrompts`).
 * @throws {DatasetError} when there are no class names, no templates, or a class has no prompts.
 */
export async function buildZeroShotClassifier(
  model: ClipModel,
  classnames: readonly string[],
  templates: ZeroShotTemplates,
  batchSize = 128,
  templatesSource?: string,
): Promise<{ weights: Float64Array; dim: number; encodedPrompts: number }> {
  if (classnames.length === 0) throw new DatasetError("the dataset has no class names");
  return await classifierFromPrompts(
    model,
    classPrompts(classnames, templates, templatesSource),
    batchSize,
  );
}

/** The classifier of each class's prompts (see {@linkcode buildZeroShotClassifier}). */
async function classifierFromPrompts(
  model: ClipModel,
  prompts: readonly (readonly string[])[],
  batchSize: number,
  signal?: AbortSignal,
): Promise<{ weights: Float64Array; dim: number; encodedPrompts: number }> {
  const { unique, indices } = deduplicatePrompts(prompts);
  const { embeddings, dim } = await model.encodeTexts(unique, batchSize, { signal });
  const weights = new Float64Array(prompts.length * dim);
  for (let c = 0; c < prompts.length; c++) {
    const row = weights.subarray(c * dim, (c + 1) * dim);
    const count = indices[c].length;
    for (const index of indices[c]) {
      const offset = index * dim;
      for (let i = 0; i < dim; i++) row[i] += embeddings[offset + i];
    }
    let norm = 0;
    for (let i = 0; i < dim; i++) {
      row[i] /= count;
      norm += row[i] * row[i];
    }
    const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
    for (let i = 0; i < dim; i++) row[i] *= scale;
  }
  return { weights, dim, encodedPrompts: unique.length };
}

/** Options of {@linkcode zeroShotClassifier}. */
export interface ZeroShotClassifierOptions extends ClassifierCacheOptions {
  /** Prompts per text batch; default 128. */
  readonly batchSize?: number;
  /** Names the templates in error messages. */
  readonly templatesSource?: string;
  /** Stops the text tower between batches. */
  readonly signal?: AbortSignal;
}

/**
 * {@linkcode buildZeroShotClassifier} through the classifier cache (tasks/zeroshot_classification/classifier_cache.ts): a
 * classifier built before from the same text model, tokenizer, settings and prompts is read
 * from disk and the text tower does not run (`fromCache`); `noCache` always builds it.
 *
 * @throws {DatasetError} as {@linkcode buildZeroShotClassifier}.
 */
export async function zeroShotClassifier(
  model: ClipModel,
  classnames: readonly string[],
  templates: ZeroShotTemplates,
  options: ZeroShotClassifierOptions = {},
): Promise<CachedClassifier> {
  if (classnames.length === 0) throw new DatasetError("the dataset has no class names");
  const batchSize = options.batchSize ?? 128;
  const prompts = classPrompts(classnames, templates, options.templatesSource);
  return await cachedClassifier(
    model,
    prompts,
    batchSize,
    () => classifierFromPrompts(model, prompts, batchSize, options.signal),
    options,
  );
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
 * A sample's `npy` field as a multi-hot target: a 1-D array of `classCount` entries, each 0 or 1
 * (booleans, integers or floats; `-0` counts as 0).
 *
 * @throws {Error} saying what is wrong (the sample is then skipped).
 */
export function multiHotTarget(sample: Sample, classCount: number): Uint8Array {
  const bytes = sample.fields.get("npy");
  if (bytes === undefined) throw new Error("no multi-label target (npy field)");
  let array: NpyArray;
  try {
    array = parseNpy(bytes);
  } catch (error) {
    throw new Error(`npy field is not a readable .npy array: ${(error as Error).message}`);
  }
  if (array.shape.length !== 1 || array.shape[0] !== classCount) {
    throw new Error(
      `npy target has shape (${array.shape.join(", ")}${array.shape.length === 1 ? "," : ""}), ` +
        `expected (${classCount},): one 0/1 entry per class`,
    );
  }
  const target = new Uint8Array(classCount);
  for (let c = 0; c < classCount; c++) {
    const value = Number(array.data[c]);
    if (value === 1) target[c] = 1;
    else if (value !== 0) {
      throw new Error(
        `npy target has ${array.data[c]} for class ${c} (${array.descr}); 0 or 1 expected`,
      );
    }
  }
  return target;
}

/**
 * How one kind of dataset labels its samples and how those labels are scored: one class index
 * per sample, or a multi-hot vector.
 */
interface LabelScoring<T> {
  /** The sample's label; throws (any error) to skip the sample. */
  extract(sample: Sample): T;
  /** Adds a batch: `labels.length × classes` logits and the labels. */
  add(logits: Float64Array, labels: readonly T[]): void;
  /** Samples scored so far. */
  count(): number;
  /** The metrics of everything added. */
  result(): ClassificationMetrics | MultilabelMetrics;
  /** What a shard records, given the positions of the samples added (in order). */
  shardState(positions: PositionList): ShardMetricState;
}

function singleLabelScoring(classCount: number): LabelScoring<number> {
  const accumulator = new ClassificationAccumulator(classCount);
  return {
    extract(sample) {
      const label = labelField(sample);
      if (label === undefined) throw new Error("no label (cls field)");
      if (label < 0 || label >= classCount) {
        throw new Error(
          `label ${label} is outside the ${classCount} classes of ${CLASSNAMES_FILE}`,
        );
      }
      return label;
    },
    add: (logits, labels) => accumulator.update(logits, labels),
    count: () => accumulator.count,
    result: () => accumulator.result(),
    // Counts do not depend on the order of the samples: no positions needed.
    shardState: () => ({ kind: "classification", counts: accumulator.state() }),
  };
}

function multiLabelScoring(
  classCount: number,
  torchVectorLanes: TorchVectorLanes | undefined,
): LabelScoring<Uint8Array> {
  const accumulator = new MultilabelAccumulator(classCount, { torchVectorLanes });
  return {
    extract: (sample) => multiHotTarget(sample, classCount),
    add: (logits, targets) => accumulator.update(logits, targets),
    count: () => accumulator.count,
    result: () => accumulator.result(),
    shardState: (positions) => {
      const { scores, targets } = accumulator.rows();
      return {
        kind: "multilabel",
        numClasses: classCount,
        torchVectorLanes: accumulator.torchVectorLanes,
        scores,
        targets,
        positions: { shards: positions.shards(), indices: positions.indices() },
      };
    },
  };
}

/** The class names and templates to use, with their sources, after validating overrides. */
function choosePrompts(dataset: WebDataset, options: ZeroShotClassificationOptions): {
  classnames: readonly string[];
  classnamesSource: string;
  templates: ZeroShotTemplates;
  templatesSource: string;
} {
  const missing = (file: string) => {
    const path = joinLocation(dataset.root, file);
    return new DatasetError(
      `${path} not found: zero-shot classification needs it (or an override of it)`,
      { path },
    );
  };
  let classnames = dataset.classnames;
  let classnamesSource = DATASET_SOURCE;
  if (options.classnames !== undefined) {
    classnamesSource = options.classnamesSource ?? "option";
    const own = dataset.classnames;
    if (own !== undefined && options.classnames.length !== own.length) {
      throw new DatasetError(
        `the class names of ${classnamesSource} are ${options.classnames.length}, but ` +
          `${joinLocation(dataset.root, CLASSNAMES_FILE)} has ${own.length}: ` +
          `the dataset's labels index into the class names, so the counts must match`,
        { path: classnamesSource },
      );
    }
    classnames = options.classnames;
  }
  if (classnames === undefined) throw missing(CLASSNAMES_FILE);
  let templates: ZeroShotTemplates | undefined = dataset.templates;
  let templatesSource = DATASET_SOURCE;
  if (options.templates !== undefined) {
    templates = options.templates;
    templatesSource = options.templatesSource ?? "option";
  }
  if (templates === undefined) throw missing(TEMPLATES_FILE);
  return { classnames, classnamesSource, templates, templatesSource };
}

/** The fields of a classification result other than its metrics and counts. */
export interface ClassificationResultFields {
  /** Dataset name. */
  readonly dataset: string;
  /** Model name. */
  readonly model: string;
  /** Where the class names came from. */
  readonly classnames_source: string;
  /** Where the templates came from. */
  readonly templates_source: string;
  /** The class names used, with `dumpClassnames`. */
  readonly classnames?: readonly string[];
  /** The templates used, with `dumpTemplates`. */
  readonly templates?: readonly string[] | Readonly<Record<string, readonly string[]>>;
}

/**
 * A classification result, its fields in the order evalscope's file has them. Used by the
 * unsharded run and by the merge of a sharded one, so both write the same file.
 */
export function zeroShotClassificationResult(
  fields: ClassificationResultFields,
  metrics: ClassificationMetrics | MultilabelMetrics,
  counts: { scored: number; skippedCount: number; skipped: readonly SkippedSample[] },
): ZeroShotClassificationResult {
  return {
    dataset: fields.dataset,
    model: fields.model,
    task: "zeroshot_classification",
    metrics,
    n_samples: counts.scored,
    n_skipped: counts.skippedCount,
    classnames_source: fields.classnames_source,
    templates_source: fields.templates_source,
    ...(fields.classnames !== undefined && { classnames: fields.classnames }),
    ...(fields.templates !== undefined && { templates: fields.templates }),
    skipped: counts.skipped,
  };
}

/** What {@linkcode scoreDataset} collected. */
interface ScoredDataset {
  readonly fields: ClassificationResultFields;
  readonly scoring: LabelScoring<unknown>;
  readonly tally: SampleTally;
  /** The skipped samples with their positions (shard runs). */
  readonly positionedSkipped?: readonly PositionedSkip[];
  readonly classifier: Float64Array;
  readonly classnames: readonly string[];
  readonly templates: ZeroShotTemplates;
}

/**
 * Builds the classifier and scores the samples — all of them (up to `limit`), or those of one
 * shard when `shard` is given, whose positions it records.
 */
async function scoreDataset(
  model: ClipModel,
  dataset: WebDataset,
  options: ZeroShotClassificationOptions,
  shard?: { reader: ShardReader; positions: PositionList },
): Promise<ScoredDataset> {
  const batchSize = options.batchSize ?? 128;
  const tally = new SampleTally(dataset, options);
  const { classnames, classnamesSource, templates, templatesSource } = choosePrompts(
    dataset,
    options,
  );
  const { weights, dim } = await zeroShotClassifier(model, classnames, templates, {
    batchSize,
    templatesSource: templatesSource === DATASET_SOURCE
      ? joinLocation(dataset.root, TEMPLATES_FILE)
      : templatesSource,
    cacheDir: options.cacheDir,
    noCache: options.noCache,
    signal: options.signal,
  });
  const scoring: LabelScoring<unknown> = dataset.type === "multilabel"
    ? multiLabelScoring(classnames.length, options.torchVectorLanes)
    : singleLabelScoring(classnames.length);
  const { samples, skips, positionedSkipped } = evaluationSamples(
    dataset,
    tally,
    options,
    shard?.reader,
  );
  const batches = imageEmbeddingBatches(samples, model, {
    batchSize,
    extract: (sample) => ({
      label: scoring.extract(sample),
      position: shard?.reader.positionOf(sample),
    }),
    onSkip: skips.onSkip,
    onSample: skips.onSample,
    numWorkers: options.numWorkers,
    inferenceWorker: options.inferenceWorker,
    signal: options.signal,
  });
  // Batches come in stream order (see src/pipeline/image_embeddings.ts for the overlap of
  // decoding and inference).
  for await (const batch of batches) {
    const logits = classificationLogits(batch.embeddings, batch.count, weights, dim);
    scoring.add(logits, batch.items.map((item) => item.label));
    if (shard) { for (const item of batch.items) shard.positions.push(item.position!); }
  }
  return {
    fields: {
      dataset: options.datasetName,
      model: model.name,
      classnames_source: classnamesSource,
      templates_source: templatesSource,
      ...(options.dumpClassnames && { classnames: [...classnames] }),
      ...(options.dumpTemplates && { templates: templatesAsJson(templates) }),
    },
    scoring,
    tally,
    positionedSkipped,
    classifier: weights,
    classnames,
    templates,
  };
}

/**
 * Runs zero-shot classification of `model` on a classification or multi-label WebDataset.
 *
 * @throws {DatasetError} when the dataset has no class names or templates (and no override), when
 * an override's class names differ in number from the dataset's, when class-specific prompts miss
 * a class, when no sample could be scored, or when more than `maxSkippedFraction` of the samples
 * had to be skipped.
 */
export async function evaluateZeroShotClassification(
  model: ClipModel,
  dataset: WebDataset,
  options: ZeroShotClassificationOptions,
): Promise<ZeroShotClassificationResult> {
  const { fields, scoring, tally } = await scoreDataset(model, dataset, options);
  const scored = scoring.count();
  tally.check(scored);
  return zeroShotClassificationResult(fields, scoring.result(), {
    scored,
    skippedCount: tally.skippedCount,
    skipped: tally.skipped,
  });
}

/**
 * Runs one shard of a zero-shot classification (src/dataset/sharding/shard_reading.ts says which samples) and
 * returns what it collected, for src/results/partial/merge.ts to merge with the other shards. `limit`
 * is not allowed (a shard cannot know which samples come first globally). The skipped-sample
 * threshold is checked by the merge, over all shards; a shard may score no sample at all.
 *
 * @throws {UsageError} when `limit` is given.
 * @throws {DatasetError} as {@linkcode evaluateZeroShotClassification}, except for the checks
 * the merge makes.
 */
export async function evaluateZeroShotClassificationShard(
  model: ClipModel,
  dataset: WebDataset,
  options: ZeroShotClassificationOptions,
  shard: ShardSpec,
): Promise<ShardOutcome> {
  if (options.limit !== undefined) {
    throw new UsageError("a limit cannot be combined with a shard (see --shard in the README)");
  }
  const reader = new ShardReader(dataset, shard);
  const positions = new PositionList();
  const scoredDataset = await scoreDataset(model, dataset, options, { reader, positions });
  const { fields, scoring, tally, classifier, classnames, templates } = scoredDataset;
  const state = scoring.shardState(positions);
  return {
    shard,
    reading: { mode: reader.plan.mode, tarShards: reader.plan.tarShards, nshards: dataset.nshards },
    datasetRoot: dataset.root,
    resultFields: { ...fields, task: "zeroshot_classification" },
    taskFingerprint: {
      kind: state.kind,
      classnames: [...classnames],
      templates: templatesAsJson(templates),
      classifier_sha256: createHash("sha256")
        .update(new Uint8Array(classifier.buffer, classifier.byteOffset, classifier.byteLength))
        .digest("hex"),
      ...(state.kind === "multilabel" && { torch_vector_lanes: state.torchVectorLanes }),
    },
    state,
    read: tally.read,
    scored: scoring.count(),
    skippedCount: tally.skippedCount,
    skipped: scoredDataset.positionedSkipped ?? [],
  };
}

/** Templates as they go into the result file: a list, or an object of class name → prompts. */
function templatesAsJson(
  templates: ZeroShotTemplates,
): readonly string[] | Readonly<Record<string, readonly string[]>> {
  return Array.isArray(templates)
    ? [...templates]
    : Object.fromEntries(templates as ReadonlyMap<string, readonly string[]>);
}
