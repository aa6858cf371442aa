/**
 * Zero-shot classification, single-label and multi-label, as CLIP_benchmark and evalscope compute
 * it — the task as it plugs into the skeleton every task shares (tasks/task.ts).
 *
 * 1. Class names and prompts (tasks/zeroshot_classification/prompts.ts): the dataset's
 *    `classnames.txt` and `zeroshot_classification_templates.txt`, unless the options override
 *    them (see src/dataset/prompts.ts for the override files). The result records which were used
 *    (`classnames_source`, `templates_source`: the path, or `"dataset"`), and with `dumpClassnames`
 *    / `dumpTemplates` the lists themselves (`classnames`, `templates`), as CLIP_benchmark's
 *    `--dump_classnames` / `--dump_templates` do.
 * 2. Classifier (tasks/zeroshot_classification/classifier.ts): for each class, in order, its
 *    prompts — every template with `{c}` replaced by the class name (Python `str.format(c=…)`
 *    semantics), or the class's own prompts when the templates map class names to prompts
 *    (CuPL-style) — are encoded (each distinct prompt once); the L2-normalised prompt embeddings
 *    are averaged and the mean re-normalised. The classifier is cached on disk
 *    (tasks/zeroshot_classification/classifier_cache.ts), so a second run on the same prompts
 *    skips the text tower.
 * 3. Each image embedding (L2-normalised) is scored against every class: logits = 100 · cosine.
 * 4. The label kind follows `dataset_type.txt` (tasks/zeroshot_classification/scoring.ts): a class
 *    index per sample (acc@1, acc@5, mean per-class recall), or a multi-hot `npy` vector (mean
 *    average precision). A sample whose label cannot be used is skipped with the reason, like an
 *    undecodable image.
 *
 * Similarities and class means are computed in float64 from the float32 embeddings (the reference
 * computes them in float32; this only matters for logits equal to within ~1e-7).
 *
 * {@linkcode evaluateZeroShotClassificationShard} runs one shard of a sharded evaluation
 * (src/dataset/sharding/shard_reading.ts) and returns the counts — or, multi-label, the rows with
 * their samples' positions — that tasks/zeroshot_classification/merge.ts merges into exactly this
 * module's result (tasks/zeroshot_classification/result.ts builds both).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { type PromptOverrides, promptOverridesFor } from "../../src/dataset/prompts.ts";
import type { ShardSpec } from "../../src/dataset/sharding/shard_spec.ts";
import type { WebDataset } from "../../src/dataset/wds.ts";
import type { TorchVectorLanes } from "../../src/metrics/multilabel.ts";
import type { ClipModel } from "../../src/model/model.ts";
import type { ShardOutcome } from "../../src/results/partial/shard_outcome.ts";
import type { TaskDefinition } from "../../src/run/task_registry.ts";
import {
  type BatchScorer,
  defineTask,
  evaluateImageTask,
  evaluateImageTaskShard,
  type ImageTask,
  type ImageTaskOptions,
  type TaskContext,
} from "../task.ts";
import type { ClassifierCacheOptions } from "./classifier_cache.ts";
import { classificationLogits, zeroShotClassifier } from "./classifier.ts";
import { mergeClassificationShards } from "./merge.ts";
import { choosePrompts, type ChosenPrompts, templatesAsJson } from "./prompts.ts";
import {
  type ClassificationResultFields,
  promptSettings,
  type ZeroShotClassificationResult,
  zeroShotClassificationResult,
} from "./result.ts";
import { type LabelScoring, labelScoring } from "./scoring.ts";

/**
 * Options for {@linkcode evaluateZeroShotClassification}. The {@linkcode PromptOverrides} fields
 * (`classnames`, `templates` and their `…Source`) replace the dataset's own lists; without a
 * source, an override is recorded as `"option"`.
 */
export interface ZeroShotClassificationOptions
  extends PromptOverrides, ImageTaskOptions, ClassifierCacheOptions {
  /** Add the class names used to the result (`classnames`), as `--dump_classnames` does. */
  readonly dumpClassnames?: boolean;
  /** Add the templates or prompts used to the result (`templates`), as `--dump_templates` does. */
  readonly dumpTemplates?: boolean;
  /**
   * Multi-label only: the SIMD width of the torch whose float32 sums are reproduced (8, the
   * default: AVX2 and default kernels; 16: AVX-512 kernels). See src/metrics/multilabel.ts.
   */
  readonly torchVectorLanes?: TorchVectorLanes;
}

/** The classifier and the label scoring of one run, with the prompts they came from. */
interface ClassificationScorer extends BatchScorer<unknown> {
  /** The labels' scoring (single- or multi-label). */
  readonly scoring: LabelScoring<unknown>;
  /** The class names and templates used. */
  readonly prompts: ChosenPrompts;
  /** The classifier's weights. */
  readonly classifier: Float64Array;
}

type ClassificationContext = TaskContext<WebDataset, ZeroShotClassificationOptions>;

/** The result's fields other than its metrics and counts. */
function resultFields(
  { prompts }: ClassificationScorer,
  { model, options }: ClassificationContext,
): ClassificationResultFields {
  return {
    dataset: options.datasetName,
    model: model.name,
    classnames_source: prompts.classnamesSource,
    templates_source: prompts.templatesSource,
    ...(options.dumpClassnames && { classnames: [...prompts.classnames] }),
    ...(options.dumpTemplates && { templates: templatesAsJson(prompts.templates) }),
  };
}

/** Zero-shot classification as the skeleton (tasks/task.ts) runs it. */
const zeroShotClassification: ImageTask<
  WebDataset,
  ZeroShotClassificationOptions,
  unknown,
  ClassificationScorer,
  ZeroShotClassificationResult
> = {
  name: "zeroshot_classification",
  // The runner chooses this task for WebDatasets only (a custom dataset is a retrieval one).
  datasetOf: (run) => run.dataset as WebDataset,
  optionsOf: ({ common, plan, prompts }) => ({
    ...common,
    ...promptOverridesFor(common.datasetName, prompts),
    dumpClassnames: plan.dumpClassnames,
    dumpTemplates: plan.dumpTemplates,
    cacheDir: plan.cacheDir,
    noCache: plan.noCache,
  }),
  settings: (dataset, options) => {
    const prompts = choosePrompts(dataset, options);
    return promptSettings(prompts.classnames, prompts.templates);
  },
  async prepare({ model, dataset, options, batchSize }) {
    const prompts = choosePrompts(dataset, options);
    const { weights, dim } = await zeroShotClassifier(
      model,
      prompts.classnames,
      prompts.templates,
      {
        batchSize,
        templatesSource: prompts.templatesLocation,
        cacheDir: options.cacheDir,
        noCache: options.noCache,
        signal: options.signal,
      },
    );
    const scoring = labelScoring(dataset.type, prompts.classnames.length, options.torchVectorLanes);
    return {
      scoring,
      prompts,
      classifier: weights,
      payload: (sample) => scoring.extract(sample),
      score: (batch, rows) => {
        const logits = classificationLogits(batch.embeddings, batch.count, weights, dim);
        scoring.add(logits, batch.items);
        return rows && scoring.rows(logits, batch.items);
      },
      scored: () => scoring.count(),
    };
  },
  predictionsHeader: ({ scoring, prompts }) => ({
    kind: scoring.kind,
    classnames: [...prompts.classnames],
  }),
  result: (scorer, context, skips) => {
    const perClassRecall = scorer.scoring.perClassRecall();
    return zeroShotClassificationResult(
      resultFields(scorer, context),
      scorer.scoring.result(),
      { scored: scorer.scored(), ...skips },
      {
        task_settings: promptSettings(scorer.prompts.classnames, scorer.prompts.templates),
        ...(perClassRecall !== undefined && { per_class_recall: perClassRecall }),
      },
    );
  },
  shardState(scorer, context, positions) {
    const { scoring, prompts, classifier } = scorer;
    const state = scoring.shardState(positions);
    return {
      resultFields: { ...resultFields(scorer, context), task: "zeroshot_classification" },
      taskFingerprint: {
        kind: state.kind,
        classnames: [...prompts.classnames],
        templates: templatesAsJson(prompts.templates),
        classifier_sha256: createHash("sha256")
          .update(new Uint8Array(classifier.buffer, classifier.byteOffset, classifier.byteLength))
          .digest("hex"),
        ...(state.kind === "multilabel" && { torch_vector_lanes: state.torchVectorLanes }),
      },
      state,
    };
  },
  merge: mergeClassificationShards,
};

/** Zero-shot classification (single- and multi-label), as the runner and the merge see it. */
export const zeroShotClassificationTask: TaskDefinition = defineTask(zeroShotClassification);

/**
 * Runs zero-shot classification of `model` on a classification or multi-label WebDataset.
 *
 * @throws {DatasetError} when the dataset has no class names or templates (and no override), when
 * an override's class names differ in number from the dataset's, when class-specific prompts miss
 * a class, when no sample could be scored, or when more than `maxSkippedFraction` of the samples
 * had to be skipped.
 *
 * @example Score the demo model on the first 8 samples of the demo dataset
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   ClipModel,
 *   evaluateZeroShotClassification,
 *   openWebDataset,
 * } from "@clipbench/clipbench";
 *
 * const model = await ClipModel.load("examples/demo/tiny-clip-demo");
 * const dataset = await openWebDataset("examples/demo/data/fashion_mnist_1k");
 * const result = await evaluateZeroShotClassification(model, dataset, {
 *   datasetName: "fashion_mnist_1k",
 *   limit: 8,
 *   noCache: true, // leave the classifier cache alone
 * });
 * await model.release();
 * assert.equal(result.n_samples, 8);
 * assert.deepEqual(result.metrics, { acc1: 0.75, acc5: 1, mean_per_class_recall: 0.7 });
 * ```
 */
export function evaluateZeroShotClassification(
  model: ClipModel,
  dataset: WebDataset,
  options: ZeroShotClassificationOptions,
): Promise<ZeroShotClassificationResult> {
  return evaluateImageTask(zeroShotClassification, model, dataset, options);
}

/**
 * Runs one shard of a zero-shot classification (src/dataset/sharding/shard_reading.ts says which
 * samples) and returns what it collected, for src/results/partial/merge.ts to merge with the
 * other shards. `limit` is not allowed (a shard cannot know which samples come first globally).
 * The skipped-sample threshold is checked by the merge, over all shards; a shard may score no
 * sample at all.
 *
 * @throws {UsageError} when `limit` is given.
 * @throws {DatasetError} as {@linkcode evaluateZeroShotClassification}, except for the checks
 * the merge makes.
 */
export function evaluateZeroShotClassificationShard(
  model: ClipModel,
  dataset: WebDataset,
  options: ZeroShotClassificationOptions,
  shard: ShardSpec,
): Promise<ShardOutcome> {
  return evaluateImageTaskShard(zeroShotClassification, model, dataset, options, shard);
}
